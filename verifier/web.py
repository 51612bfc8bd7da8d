"""The verification endpoint, a Flask blueprint usable without the issuer service."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
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
    if flask_request.is_json:
        return _verify_digest()
    upload = flask_request.files.get("file")
    receipt = flask_request.files.get("receipt")
    if upload is None:
        return jsonify(error_verdict("missing multipart field 'file' (the document)").to_dict()), 400
    url = current_app.config.get("SCEAU_RPC_URL") or rpc_url()
    verdict = verify_bytes(upload.read(), receipt.read() if receipt is not None else None, url)
    if receipt is None and verdict.error and verdict.error.startswith("no receipt given"):
        return jsonify(verdict.to_dict()), 400  # the request itself is incomplete
    return jsonify(verdict.to_dict())


def _verify_digest() -> ResponseReturnValue:
    """JSON ``{"sha256": "…", "receipt": {…}}``: verify by fingerprint, the document never leaving
    the verifier's machine (and no upload to parse)."""
    from .receipt import MAX_RECEIPT_BYTES, Receipt
    from .service import verify_digest

    if (flask_request.content_length or 0) > 2 * MAX_RECEIPT_BYTES:
        return jsonify(error_verdict("the request is larger than a receipt can be").to_dict()), 413
    body = flask_request.get_json(silent=True)
    sha = body.get("sha256") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"sha256", "receipt"} or not isinstance(sha, str):
        return jsonify(error_verdict('send {"sha256": "<64 hex digits>", "receipt": {…}}').to_dict()), 400
    try:
        digest = bytes.fromhex(sha)
        if len(digest) != 32:
            raise ValueError
    except ValueError:
        return jsonify(error_verdict("sha256 must be 64 hex digits").to_dict()), 400
    url = current_app.config.get("SCEAU_RPC_URL") or rpc_url()
    return jsonify(verify_digest(digest, lambda: Receipt.from_dict(body["receipt"]), url).to_dict())


@bp.post("/api/v1/verify/bulk")
def verify_bulk() -> ResponseReturnValue:
    """Multipart: documents as ``file`` (repeatable) with their receipts as ``receipt`` (repeatable,
    named NAME.receipt.json), or one ZIP as ``archive``. ``?format=json|csv|html``."""
    from . import bulk
    from .errors import DocumentError

    url = current_app.config.get("SCEAU_RPC_URL") or rpc_url()
    fmt = flask_request.args.get("format", "json")
    if fmt not in ("json", "csv", "html"):
        return jsonify({"error": "format must be json, csv or html"}), 400
    try:
        archive = flask_request.files.get("archive")
        if archive is not None:
            items = bulk.items_from_zip(archive.read())
        else:
            entries = {f.filename or f"file-{i}": f.read() for i, f in enumerate(flask_request.files.getlist("file"))}
            for r in flask_request.files.getlist("receipt"):
                entries[r.filename or ""] = r.read()
            if not entries:
                return jsonify(
                    {"error": "send documents as 'file' (with 'receipt' files) or one ZIP as 'archive'"}
                ), 400
            items = bulk._pair(entries)
    except DocumentError as exc:
        return jsonify({"error": str(exc)}), 400
    lines = bulk.verify_items(items, url)
    if fmt == "csv":
        return Response(bulk.report_csv(lines), mimetype="text/csv")
    if fmt == "html":
        return Response(bulk.report_html(lines), mimetype="text/html")
    return jsonify(bulk.report_json(lines))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})
