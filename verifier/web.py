"""The verification endpoint, a Flask blueprint usable without the issuer service."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from flask import request as flask_request
from flask.typing import ResponseReturnValue

from .config import rpc_url, trust_anchors
from .errors import SceauError
from .service import Verifier
from .verdict import error_verdict

bp = Blueprint("verify", __name__)


def current_verifier() -> Verifier:
    """The app's one Verifier: its trust anchors (``SCEAU_TRUST_ANCHORS`` in the app's config or the
    environment, else the local deployment's) and endpoint. Made once per app, so readers and pins
    are shared by every request."""
    verifier = current_app.extensions.get("sceau_verifier")
    if verifier is None:
        explicit = current_app.config.get("SCEAU_TRUST_ANCHORS")
        from pathlib import Path

        anchors = trust_anchors(Path(explicit) if explicit else None)
        url = current_app.config.get("SCEAU_RPC_URL") or rpc_url()
        verifier = current_app.extensions["sceau_verifier"] = Verifier(anchors, url)
    return verifier


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
    try:
        verifier = current_verifier()
    except SceauError as exc:
        return jsonify(error_verdict(str(exc)).to_dict()), 503
    verdict = verifier.verify_bytes(upload.read(), receipt.read() if receipt is not None else None)
    if receipt is None and verdict.error and verdict.error.startswith("no receipt given"):
        return jsonify(verdict.to_dict()), 400  # the request itself is incomplete
    return jsonify(verdict.to_dict())


def _verify_digest() -> ResponseReturnValue:
    """JSON ``{"sha256": "…", "receipt": {…}}``: verify by fingerprint, the document never leaving
    the verifier's machine (and no upload to parse)."""
    from .errors import InvalidReceipt
    from .receipt import MAX_RECEIPT_BYTES, Receipt, parse_json

    if (flask_request.content_length or 0) > 2 * MAX_RECEIPT_BYTES:
        return jsonify(error_verdict("the request is larger than a receipt can be").to_dict()), 413
    try:  # the receipt's strict grammar holds in the body too: duplicate members are refused
        body = parse_json(flask_request.get_data(as_text=False).decode("utf-8"), "request body")
    except (InvalidReceipt, UnicodeDecodeError) as exc:
        return jsonify(error_verdict(f"the body is not acceptable JSON: {exc}").to_dict()), 400
    sha = body.get("sha256") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"sha256", "receipt"} or not isinstance(sha, str):
        return jsonify(error_verdict('send {"sha256": "<64 hex digits>", "receipt": {…}}').to_dict()), 400
    try:
        digest = bytes.fromhex(sha)
        if len(digest) != 32:
            raise ValueError
    except ValueError:
        return jsonify(error_verdict("sha256 must be 64 hex digits").to_dict()), 400
    try:
        verifier = current_verifier()
    except SceauError as exc:
        return jsonify(error_verdict(str(exc)).to_dict()), 503
    return jsonify(verifier.verify_digest(digest, lambda: Receipt.from_dict(body["receipt"])).to_dict())


@bp.post("/api/v1/verify/bulk")
def verify_bulk() -> ResponseReturnValue:
    """Multipart: documents as ``file`` (repeatable) with their receipts as ``receipt`` (repeatable,
    named NAME.receipt.json), or one ZIP as ``archive``. ``?format=json|csv|html``."""
    from . import bulk
    from .errors import DocumentError

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
    try:
        verifier = current_verifier()
    except SceauError as exc:
        return jsonify({"error": str(exc)}), 503
    lines = bulk.verify_items(items, verifier)
    if fmt == "csv":
        return Response(bulk.report_csv(lines), mimetype="text/csv")
    if fmt == "html":
        return Response(bulk.report_html(lines), mimetype="text/html")
    return jsonify(bulk.report_json(lines))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness, and which trust anchors the verdicts rest on."""
    try:
        anchors = [a.to_dict() for a in current_verifier().anchors]
    except SceauError as exc:
        return jsonify({"status": "degraded", "trustAnchors": [], "problem": str(exc)}), 503
    return jsonify({"status": "ok", "trustAnchors": anchors})
