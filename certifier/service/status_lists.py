"""``GET /status/ISSUER_ID/LIST``: the issuer's W3C Bitstring Status List credentials, for verifiers
other than Sceau's (CREDENTIAL.md §6). Sceau's own verifier reads revocations from the chain.

The web processes hold no key (custody.py), so they serve the list last signed by the key holder
(status_registry.publish). Before serving it they re-read the chain: a list that misses a
revocation made since is answered 503, never served as if nothing were revoked."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify

from certifier.credentials import status_registry
from verifier.chain import ChainReader
from verifier.core.errors import SceauError
from verifier.credentials.status_list import decode, is_set

bp = Blueprint("status_lists", __name__)
MEDIA_TYPE = "application/vc"


@bp.get("/status/<int:issuer_id>/<int:list_no>")
def status_list(issuer_id: int, list_no: int) -> tuple[Response, int] | Response:
    path = status_registry.published_path(issuer_id, list_no)
    if not path.exists():
        return jsonify({"error": "not_found", "detail": "no such status list"}), 404
    document = json.loads(path.read_text())
    _, bound = status_registry.bindings(issuer_id, list_no)
    try:
        ctx = current_app.extensions["sceau"]
        reader = ChainReader(ctx.rpc_url, ctx.deployment.registry)
        try:
            revoked_now = status_registry.revoked(reader, bound)
        finally:
            reader.close()
    except SceauError as exc:
        current_app.logger.warning("status list %s/%s: cannot read the chain: %s", issuer_id, list_no, exc)
        return _unavailable("the chain cannot be read, so the list cannot be shown to be current")
    bits = decode(document["credentialSubject"]["encodedList"])
    if any(not is_set(bits, i) for i in revoked_now):
        current_app.logger.warning("status list %s/%s is older than a revocation: publish it again", issuer_id, list_no)
        return _unavailable("the list is being rebuilt after a revocation")
    response = Response(json.dumps(document), mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def _unavailable(detail: str) -> tuple[Response, int]:
    response = jsonify({"error": "status_list_stale", "detail": detail})
    response.headers["Retry-After"] = "60"
    return response, 503
