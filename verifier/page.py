"""The verifier's web page (GET /): French and English, works without JavaScript, nothing loaded
from elsewhere. A PDF, a document with its receipt, or a seal (pasted, photographed or scanned)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, make_response, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import RequestEntityTooLarge

from verifier import i18n
from verifier.core.errors import LimitExceeded, SceauError
from verifier.core.fields import label
from verifier.core.messages import message, when
from verifier.core.verdict import error_from
from verifier.web import bounded, current_verifier, install

bp = Blueprint(
    "page", __name__, template_folder="templates", static_folder="static", static_url_path="/static/verifier"
)


def _lang() -> str:
    return i18n.pick_language(request.values.get("lang"), request.cookies.get("lang"), request.accept_languages)


def _render(
    lang: str, verdict: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    anchored_at = None
    if verdict and verdict.get("anchor") and verdict["anchor"].get("anchoredAt"):
        anchored_at = when(verdict["anchor"]["anchoredAt"], lang)
    html = render_template(
        "verify_page.html",
        lang=lang,
        t=lambda key: i18n.t(key, lang),
        verdict=verdict,
        problem=problem,
        headline=i18n.headline(verdict, lang) if verdict else None,
        check_names=i18n.CHECKS,
        anchored_at=anchored_at,
        field_label=lambda key: label(key, lang),
        check_text=lambda c: message(c.get("code", ""), c.get("params") or {}, lang),
    )
    response = make_response(html, status)
    response.headers["Content-Language"] = lang
    response.headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:"
    if request.args.get("lang") in i18n.LANGS or request.form.get("lang") in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax")
    return response


@bp.get("/")
def index() -> ResponseReturnValue:
    return _render(_lang())


@bp.post("/verify")
def verify_form() -> ResponseReturnValue:
    lang = _lang()
    upload, receipt = request.files.get("file"), request.files.get("receipt")
    seal_text = (request.form.get("seal") or "").strip()
    seal_image = request.files.get("seal_image")
    try:
        with bounded():
            if seal_text.startswith("{"):  # a pasted Verifiable Credential (JSON), which carries its receipt
                verdict = current_verifier().verify_bytes(seal_text.encode(), None).to_dict()
            elif seal_text or (seal_image is not None and seal_image.filename):
                verdict = _verify_seal(seal_text, seal_image)
            elif upload is not None and upload.filename:
                receipt_data = receipt.read() if receipt is not None and receipt.filename else None
                verdict = current_verifier().verify_bytes(upload.read(), receipt_data).to_dict()
            else:
                return _render(lang, problem=i18n.t("missing", lang), status=400)
    except LimitExceeded as exc:
        problem = i18n.t("too_much", lang).format(setting=exc.setting, limit=i18n.number(exc.limit, lang))
        return _render(lang, problem=problem, status=413)
    except SceauError as exc:  # the technical detail goes to the log; the person reads its code's words
        current_app.logger.info("verification failed: %s: %s", type(exc).__name__, exc)
        verdict = error_from(exc).to_dict()
    return _render(lang, verdict)


def _verify_seal(text: str, image: Any) -> dict[str, Any]:
    from verifier.core.seal import Seal
    from verifier.qr import decode_qr_image
    from verifier.verify_seal import verify_seal

    if not text:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "seal"
            image.save(path)
            text = decode_qr_image(path)
    return verify_seal(Seal.decode(text), current_verifier()).to_dict()


# ---------------------------------------------------------------- bounds (see verifier/limits.py)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    lang = i18n.pick_language(request.args.get("lang"), request.cookies.get("lang"), request.accept_languages)
    cap = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return _render(lang, problem=i18n.t("too_big", lang).format(limit=i18n.number(cap, lang)), status=413)


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded) -> ResponseReturnValue:
    current_app.logger.info("rate limited: %s", exc.description)
    return _render(_lang(), problem=i18n.t("too_often", _lang()), status=429)


def _setup(state: BlueprintSetupState) -> None:
    install(cast(Flask, state.app), {verify_form: "SCEAU_RATE_LIMIT_VERIFY"})


bp.record_once(_setup)
