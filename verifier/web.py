"""The verification endpoint, a Flask blueprint usable without the issuer service."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask import request as flask_request
from flask.typing import ResponseReturnValue

from .config import rpc_url
from .service import verify_bytes
from .verdict import error_verdict

bp = Blueprint("verify", __name__)


@bp.post("/api/v1/verify")
def verify() -> ResponseReturnValue:
    """Multipart: ``file`` (the document) and ``receipt`` (its receipt JSON; optional for a certified
    PDF, which carries its own). Answers the verdict JSON, with HTTP 200 whatever the verdict, 400
    when the request itself is unusable."""
    upload = flask_request.files.get("file")
    receipt = flask_request.files.get("receipt")
    if upload is None:
        return jsonify(error_verdict("missing multipart field 'file' (the document)").to_dict()), 400
    url = current_app.config.get("SCEAU_RPC_URL") or rpc_url()
    verdict = verify_bytes(upload.read(), receipt.read() if receipt is not None else None, url)
    if receipt is None and verdict.error and verdict.error.startswith("no receipt given"):
        return jsonify(verdict.to_dict()), 400  # the request itself is incomplete
    return jsonify(verdict.to_dict())


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})
