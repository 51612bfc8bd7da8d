"""The issuer console: a registrar logs in with an API token and, in the browser, submits a roster
with its PDFs (with a progress bar), follows batches, revokes a document, and downloads receipts
and certified PDFs. Forms work without JavaScript; each carries a CSRF token."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from verifier.chain import Reason
from verifier.kinds import kind_name

from .auth import Forbidden, Unauthorized, authenticate, require_scope
from .context import ServiceContext
from .db import Batch, Document, Token
from .documents import Conflict, queue_revocations, receipts_for_batch

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/console",
)


def ctx() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sceau"]
    return context


def _csrf() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {"csrf_token": _csrf, "kind_name": kind_name, "when": _when}


def _when(ts: float | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else ""


def logged_in(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        token_id = session.get("token_id")
        with ctx().sessions() as s:
            token = s.get(Token, token_id) if token_id else None
            if token is None or token.revoked_at is not None:
                session.pop("token_id", None)
                return redirect(url_for("console.login"))
            expected, given = str(session.get("csrf", "")), request.form.get("csrf", "")
            if request.method == "POST" and not (expected and secrets.compare_digest(expected, given)):
                abort(400, "the form expired: reload the page")
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
            except (Unauthorized, Forbidden) as exc:
                error = str(exc)
            else:
                session.clear()
                session["token_id"] = token.id
                return redirect(url_for("console.home"))
    return render_template("console/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/")
@logged_in
def home() -> ResponseReturnValue:
    s = g.session
    batches = list(
        s.scalars(select(Batch).where(Batch.issuer == g.token.issuer).order_by(Batch.created_at.desc()).limit(50))
    )
    docs = list(
        s.scalars(
            select(Document).where(Document.issuer == g.token.issuer).order_by(Document.created_at.desc()).limit(200)
        )
    )
    return render_template(
        "console/home.html",
        issuer=g.token.issuer,
        batches=batches,
        docs=docs,
        reasons=[r.slug for r in Reason if r is not Reason.NONE],
        scopes=g.token.scopes.split(","),
    )


@bp.post("/rosters")
@logged_in
def roster() -> ResponseReturnValue:
    """Forward the form to the API's roster endpoint, with the session's token, in-process."""
    from .api import post_roster

    if "issue" not in g.token.scopes.split(","):
        flash("this token lacks the 'issue' scope", "error")
        return redirect(url_for("console.home"))
    result = _as_token(post_roster)
    response = result if isinstance(result, Response) else current_app.make_response(result)
    body = response.get_json(silent=True) or {}
    if request.headers.get("Accept") == "application/json":
        return response
    if response.status_code == 202:
        flash(f"{body['batch']['documentCount']} documents accepted as one batch", "ok")
    else:
        flash("; ".join(body.get("problems") or [body.get("error", "the roster was refused")]), "error")
    return redirect(url_for("console.home"))


def _as_token(view: Callable[[], ResponseReturnValue]) -> ResponseReturnValue:
    """Call an API view as the logged-in token (the API's own checks all apply)."""
    from .api import error
    from .validation import Invalid

    token: Token = g.token
    inner = getattr(view, "__wrapped__", view)
    g.session, g.token = ctx().sessions(), token
    try:
        return inner()
    except Invalid as exc:
        g.session.rollback()
        return error(400, f"{len(exc.problems)} problem(s) in the request", exc.problems)
    except Conflict as exc:
        g.session.rollback()
        return error(409, str(exc))
    finally:
        g.session.close()


@bp.post("/documents/<doc_id>/revoke")
@logged_in
def revoke(doc_id: str) -> ResponseReturnValue:
    doc = g.session.get(Document, doc_id)
    if doc is None or doc.issuer != g.token.issuer:
        abort(404)
    if "revoke" not in g.token.scopes.split(","):
        flash("this token lacks the 'revoke' scope", "error")
        return redirect(url_for("console.home"))
    try:
        reason = Reason.from_slug(request.form.get("reason", ""))
        queue_revocations(g.session, g.token.issuer, [doc], reason, None, actor=f"console:{g.token.id}")
        g.session.commit()
        flash(f"revocation of {doc.filename or doc.id} queued ({reason.slug})", "ok")
    except (ValueError, Conflict) as exc:
        g.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("console.home"))


@bp.get("/documents/<doc_id>/receipt")
@logged_in
def receipt(doc_id: str) -> ResponseReturnValue:
    doc = g.session.get(Document, doc_id)
    if doc is None or doc.issuer != g.token.issuer or doc.status != "confirmed":
        abort(404)
    from .keystore import load

    batch = g.session.get(Batch, doc.batch_id)
    text = receipts_for_batch(g.session, batch, ctx().deployment, load(doc.issuer).address)[doc.id].to_json()
    name = (doc.filename or doc.id) + ".receipt.json"
    return Response(
        text, mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/documents/<doc_id>/certified.pdf")
@logged_in
def certified(doc_id: str) -> ResponseReturnValue:
    from .certified_copies import certified_copy

    doc = g.session.get(Document, doc_id)
    if doc is None or doc.issuer != g.token.issuer:
        abort(404)
    try:
        data = certified_copy(ctx(), g.session, doc)
    except Conflict as exc:
        abort(409, str(exc))
    stem = (doc.filename or doc.id).removesuffix(".pdf")
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{stem}.certified.pdf"'},
    )
