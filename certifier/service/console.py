"""The issuer console: a registrar logs in with an API token and, in the browser, submits a roster
with its PDFs (with a progress bar), follows batches, revokes a document (after a confirmation
step), and downloads receipts and certified PDFs. Forms work without JavaScript.

Defences, each against a named attack:
- CSRF: every state-changing form (login and logout included) carries Flask-WTF's signed,
  session-bound token, checked before any console POST; a maintained library rather than our own
  token, for its signing, expiry and HTTPS Referer check.
- Session theft and logout: the signed cookie holds only a session id; the session lives in the
  database (`ConsoleSession`) and ends on logout, after 12 hours, after 2 idle hours, or when the
  token is revoked, so a copied cookie stops working.
- Clickjacking and injection: a Content-Security-Policy allowing only this origin's scripts and
  styles, ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``.
- Cookies over plain HTTP: ``Secure`` whenever the request came over HTTPS (directly, or through
  proxies trusted with ``SCEAU_PROXIES``), ``HttpOnly`` and ``SameSite=Lax`` always.

French or English as the verifier page chooses (``?lang=``, the ``lang`` cookie, Accept-Language);
every word a person reads comes from certifier.service.console_text, and technical details of a
failure (exception texts) go to the log, never to the page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect

from certifier.service import console_text
from certifier.service.auth import Forbidden, Unauthorized, authenticate, require_scope
from certifier.service.context import ServiceContext
from certifier.service.problems import WORDS, Invalid
from certifier.store.db import ConsoleSession, Token
from certifier.store.documents import Conflict
from certifier.store.pages import batches_page, documents_page
from verifier import i18n
from verifier.chain import Reason
from verifier.core.kinds import LABELS, kind_name
from verifier.core.messages import REASONS as REASON_WORDS
from verifier.core.messages import when

CONSOLE_PREFIX = "/console"
bp = Blueprint(
    "console",
    __name__,
    url_prefix=CONSOLE_PREFIX,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/console",
)
csrf = CSRFProtect()

#: A console session ends this long after login, or after this long without a request.
MAX_AGE = 12 * 3600
IDLE = 2 * 3600
#: seen_at is written at most this often (not on every page view).
TOUCH_EVERY = 60
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
REASONS = [r.slug for r in Reason if r is not Reason.NONE]
#: A refused roster's problems shown one by one, up to this many (then how many more).
MAX_DETAILS = 50


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request is HTTPS, and only for the
    console: the API, the verifier and its page never read one, so they neither pay to unsign a
    cookie on every request nor can be handed one."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(CONSOLE_PREFIX):
            return None  # Flask's null session: nothing read, nothing written
        return super().open_session(app, request)


@bp.record_once
def _setup(state: Any) -> None:
    app: Flask = state.app
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # only the console's forms: the API uses bearer tokens
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", MAX_AGE)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionInterface()
    csrf.init_app(app)


def ctx() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sceau"]
    return context


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST":
        csrf.protect()


def lang() -> str:
    """The console's language for this request (fr or en)."""
    return i18n.pick_language(request.args.get("lang"), request.cookies.get("lang"), request.accept_languages)


def say(key: str, **params: Any) -> str:
    return console_text.t(key, lang(), **params)


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError) -> ResponseReturnValue:
    current_app.logger.info("console form refused: %s", exc.description)
    return render_template("console/expired.html"), 400


@bp.errorhandler(404)
def _not_found(exc: Exception) -> ResponseReturnValue:
    return render_template("console/problem.html", problem=say("not_found")), 404


@bp.errorhandler(409)
def _not_ready(exc: Exception) -> ResponseReturnValue:
    return render_template("console/problem.html", problem=say("not_ready")), 409


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html" or "Content-Disposition" in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        response.headers["Content-Language"] = lang()
    if request.args.get("lang") in i18n.LANGS:  # the switch: remembered, as on the verifier page
        response.set_cookie("lang", lang(), max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


@bp.context_processor
def _inject() -> dict[str, Any]:
    language = lang()
    return {
        "lang": language,
        "t": lambda key, **params: console_text.t(key, language, **params),
        "status": lambda value: console_text.status(value, language),
        "kind_name": lambda code: _kind(code, language),
        "reason_name": lambda slug: REASON_WORDS.get(slug, {}).get(language, slug),
        "when": lambda ts: when(int(ts), language) if ts else "",
        "switch_url": _switch_url,
    }


def _kind(code: int, language: str) -> str:
    name = kind_name(code)
    return LABELS.get(name, {}).get(language, name)


def _switch_url(language: str) -> str:
    """This page in `language`: the same view and arguments, with ``lang`` set."""
    if request.method == "GET" and request.endpoint and request.url_rule is not None:
        args: dict[str, Any] = {**request.args.to_dict(), **(request.view_args or {}), "lang": language}
        return url_for(request.endpoint, **args)
    return url_for("console.login" if request.endpoint == "console.login" else "console.home", lang=language)


def logged_in(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Give the view the session's token (g.token) and a database session (g.session), or send
    the browser to the login page when its console session has ended."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        sid = session.get("sid")
        with ctx().sessions() as s:
            row = s.get(ConsoleSession, sid) if isinstance(sid, str) else None
            token = s.get(Token, row.token_id) if row is not None else None
            clock = time.time()
            if (
                row is None
                or token is None
                or row.ended_at is not None
                or token.revoked_at is not None
                or clock > row.created_at + MAX_AGE
                or clock > row.seen_at + IDLE
            ):
                if row is not None and row.ended_at is None:
                    row.ended_at = clock
                    s.commit()
                session.clear()
                return redirect(url_for("console.login"))
            if clock > row.seen_at + TOUCH_EVERY:
                row.seen_at = clock
                s.commit()
            g.session, g.token = s, token
            return view(*args, **kwargs)

    return wrapper


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    if request.method == "POST":
        with ctx().sessions() as s:
            try:
                token = authenticate(s, "Bearer " + request.form.get("token", "").strip())
                require_scope(token, "read")
            except Unauthorized as exc:
                current_app.logger.info("console login refused: %s", exc)
                error = say("login_refused")
            except Forbidden as exc:
                current_app.logger.info("console login refused: %s", exc)
                error = say("login_no_read")
            else:
                row = ConsoleSession(id=secrets.token_urlsafe(32), token_id=token.id)
                s.add(row)
                s.commit()
                session.clear()  # a new session, never one an attacker planted
                session["sid"] = row.id
                return redirect(url_for("console.home"))
    return render_template("console/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sid = session.get("sid")
    if isinstance(sid, str):
        with ctx().sessions() as s:
            row = s.get(ConsoleSession, sid)
            if row is not None and row.ended_at is None:
                row.ended_at = time.time()
                s.commit()
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/")
@logged_in
def home() -> ResponseReturnValue:
    """The newest batches and documents (a page of each: the same cost at any size of history)."""
    return render_template(
        "console/home.html",
        issuer=g.token.issuer,
        batches=batches_page(g.session, g.token.issuer, limit=50).rows,
        docs=documents_page(g.session, g.token.issuer, limit=200).rows,
        reasons=REASONS,
        scopes=g.token.scopes.split(","),
    )


@bp.post("/rosters")
@logged_in
def roster() -> ResponseReturnValue:
    """Issue a cohort through the same operation as the API's /rosters, as the session's token."""
    from certifier.service.resources import (
        batch_json,
        credential_maker,
        document_json,
        issuer_record,
        require_credentials,
    )
    from certifier.service.rosters import issue_roster
    from certifier.service.validation import Problems, parse_flag

    wants_json = request.accept_mimetypes.best == "application/json"
    if "issue" not in g.token.scopes.split(","):
        if wants_json:
            return jsonify({"error": say("no_issue")}), 403
        flash(say("no_issue"), "error")
        return redirect(url_for("console.home"))
    try:
        problems = Problems()
        wants = parse_flag(request.form.get("credential"), "credential", problems)
        problems.raise_if_any()
        record = issuer_record(g.token)
        if wants:
            require_credentials(record)
        batch, docs = issue_roster(
            g.session,
            g.token.issuer,
            record.kinds,
            kind=request.form.get("kind"),
            valid_until=request.form.get("validUntil"),
            roster=request.files["roster"].stream if "roster" in request.files else None,
            archive=request.files["archive"].stream if "archive" in request.files else None,
            storage=ctx().storage,
            actor=f"console:{g.token.id}",
            credentials=credential_maker(ctx()) if wants else None,
        )
    except Invalid as exc:  # every problem, each where it is (line, entry), in the registrar's language
        summary = say("roster_problems", count=len(exc.found))
        details = exc.say(lang())
        if wants_json:
            return jsonify({"error": summary, "problems": details}), exc.status
        flash(summary, "error")
        for detail in details[:MAX_DETAILS]:
            flash(detail, "detail")
        if len(details) > MAX_DETAILS:
            flash(WORDS.text("more_problems", lang(), count=len(details) - MAX_DETAILS), "detail")
        return redirect(url_for("console.home"))
    except Conflict as exc:
        current_app.logger.info("console roster refused: %s", exc)
        if wants_json:
            return jsonify({"error": say("roster_conflict")}), 409
        flash(say("roster_conflict"), "error")
        return redirect(url_for("console.home"))
    accepted = say("accepted", count=len(docs))
    if wants_json:
        body = {"batch": batch_json(batch), "documents": [document_json(g.session, d) for d in docs]}
        return jsonify({**body, "message": accepted}), 202
    flash(accepted, "ok")
    return redirect(url_for("console.home"))


from certifier.service import console_documents  # noqa: E402, F401  (its pages register on `bp`)
