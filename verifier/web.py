"""The verification endpoint, a Flask blueprint usable without the issuer service.

Every public endpoint is bounded: each request's work by verifier/limits.py (413 naming the bound
past it), each client's rate by Flask-Limiter (429 with Retry-After), unless the app's
``SCEAU_RATE_LIMIT_EXEMPT`` hook says the caller is exempt (the issuer service exempts its own
authenticated issuers)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, jsonify, stream_with_context
from flask import request as flask_request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge

from verifier import limits
from verifier.config import rpc_url, trust_anchors
from verifier.core.errors import ConfigurationError, LimitExceeded, SceauError
from verifier.core.verdict import error_verdict
from verifier.multipart import split_plain
from verifier.service import Verifier

bp = Blueprint("verify", __name__)

#: Per client (remote address), shared by the endpoints of one kind; "" turns a limit off.
RATE_LIMITS = {"SCEAU_RATE_LIMIT_VERIFY": "120/minute", "SCEAU_RATE_LIMIT_BULK": "10/minute"}


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
        freshness = float(current_app.config.get("SCEAU_FRESHNESS_SECONDS") or 1.0)
        verifier = current_app.extensions["sceau_verifier"] = Verifier(anchors, url, freshness=freshness)
    return verifier


@contextmanager
def bounded() -> Iterator[limits.Limits]:
    """The app's bounds (``SCEAU_MAX_…`` in its config), in force for this request's work."""
    with limits.applied(current_app.extensions["sceau_limits"]) as bounds:
        yield bounds


def verdict_response(body: dict[str, Any]) -> Response:
    """A 200 verdict as compact JSON, straight from the C encoder (jsonify goes through Flask's
    JSON provider: a few tens of microseconds more on the path measured against a hello-world)."""
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


def limit_body(exc: LimitExceeded) -> dict[str, Any]:
    return {"name": exc.setting, "max": exc.limit}


@bp.post("/api/v1/verify")
def verify() -> ResponseReturnValue:
    """Multipart: ``file`` (the document) and ``receipt`` (its receipt JSON; optional for a certified
    PDF, which carries its own). Answers the verdict JSON, with HTTP 200 whatever the verdict, 400
    when the request itself is unusable, 413 past a bound (named in ``limit``)."""
    if flask_request.is_json:
        return _verify_digest()
    plain = _plain_uploads({"file", "receipt"})
    if plain is not None and "file" in plain:
        document, receipt = plain["file"], plain.get("receipt")
    else:
        unknown = _unknown_parts({"file", "receipt"})
        if unknown:
            return jsonify(error_verdict(unknown).to_dict()), 400
        upload, uploaded_receipt = flask_request.files.get("file"), flask_request.files.get("receipt")
        if upload is None:
            return jsonify(error_verdict("missing multipart field 'file' (the document)").to_dict()), 400
        document, receipt = upload.read(), uploaded_receipt.read() if uploaded_receipt is not None else None
    try:
        verifier = current_verifier()
    except SceauError as exc:
        return jsonify(error_verdict(str(exc)).to_dict()), 503
    try:
        with bounded():
            verdict = verifier.verify_bytes(document, receipt)
    except LimitExceeded as exc:
        body = error_verdict(f"field 'file': {exc}", code="error.document").to_dict()
        return jsonify({**body, "limit": limit_body(exc)}), 413
    if receipt is None and verdict.error and verdict.error.startswith("no receipt given"):
        return jsonify(verdict.to_dict()), 400  # the request itself is incomplete
    return verdict_response(verdict.to_dict())


def _plain_uploads(known: set[str]) -> dict[str, bytes] | None:
    """The files of a plain multipart/form-data body (verifier/multipart.py: werkzeug's regular
    expression scan costs half of verifying an upload), by part name, each a file named in `known`
    and named once; None for anything else, which werkzeug's parser then reads from the same bytes
    (kept by get_data), answering exactly as before. Read whole, within MAX_CONTENT_LENGTH."""
    content_type = flask_request.headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    parts = split_plain(flask_request.get_data(), content_type)
    if parts is None:
        return None
    files: dict[str, bytes] = {}
    for part in parts:
        if part.filename is None or part.name not in known or part.name in files:
            return None
        files[part.name] = part.data
    return files


def _verify_digest() -> ResponseReturnValue:
    """JSON ``{"sha256": "…", "receipt": {…}}``: verify by fingerprint, the document never leaving
    the verifier's machine (and no upload to parse); or a Verifiable Credential (CREDENTIAL.md)."""
    from verifier.core.errors import InvalidReceipt
    from verifier.core.receipt import MAX_RECEIPT_BYTES, Receipt, parse_json

    if (flask_request.content_length or 0) > 2 * MAX_RECEIPT_BYTES:
        return jsonify(error_verdict("the request is larger than a receipt can be").to_dict()), 413
    try:  # the receipt's strict grammar holds in the body too: duplicate members are refused
        body = parse_json(flask_request.get_data(as_text=False).decode("utf-8"), "request body")
    except (InvalidReceipt, UnicodeDecodeError) as exc:
        return jsonify(error_verdict(f"the body is not acceptable JSON: {exc}").to_dict()), 400
    if isinstance(body, dict) and "@context" in body:  # a Verifiable Credential: it carries its own receipt
        from verifier.credentials.verify import verify_credential

        try:
            verifier = current_verifier()
        except SceauError as exc:
            return jsonify(error_verdict(str(exc)).to_dict()), 503
        return jsonify(verify_credential(flask_request.get_data(as_text=False), verifier).to_dict())
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
    verdict = verifier.verify_digest(digest, lambda: Receipt.from_dict(body["receipt"]))
    return verdict_response(verdict.to_dict())


@bp.post("/api/v1/verify/bulk")
def verify_bulk() -> ResponseReturnValue:
    """Multipart: documents as ``file`` (repeatable) with their receipts as ``receipt`` (repeatable,
    named NAME.receipt.json), or one ZIP as ``archive``. ``?format=json|csv|html``. One bad document
    is that document's line; 413 (bound named in ``limit``) when the request as a whole is too much."""
    from verifier import bulk
    from verifier.core.errors import DocumentError

    fmt = flask_request.args.get("format", "json")
    if fmt not in ("json", "csv", "html"):
        return jsonify({"error": "format must be json, csv or html"}), 400
    unknown = _unknown_parts({"file", "receipt", "archive"})
    if unknown:
        return jsonify({"error": unknown}), 400
    with bounded():
        try:
            archive = flask_request.files.get("archive")
            if archive is not None:
                items = bulk.items_from_zip(archive.read())
            else:
                files = flask_request.files.getlist("file")
                uploads = [(f.filename or f"file-{i}", f.read()) for i, f in enumerate(files)]
                uploads += [(r.filename or "", r.read()) for r in flask_request.files.getlist("receipt")]
                if not uploads:  # a well-formed request with nothing in it
                    return jsonify(
                        {"error": "send documents as 'file' (with 'receipt' files) or one ZIP as 'archive'"}
                    ), 422
                items = bulk.items_from_entries(uploads)
        except LimitExceeded as exc:
            return jsonify({"error": f"field '{_bulk_field()}': {exc}", "limit": limit_body(exc)}), 413
        except DocumentError as exc:  # well formed as a request, but its archive cannot be used
            return jsonify({"error": f"field '{_bulk_field()}': {exc}"}), 422
        try:
            verifier = current_verifier()
        except SceauError as exc:
            return jsonify({"error": str(exc)}), 503
    lang = bulk.request_language(flask_request) if fmt == "html" else "en"
    bounds = current_app.extensions["sceau_limits"]

    def report() -> Iterator[str]:
        """The report as verdicts come, under the app's bounds (a streamed body runs after the
        view has returned)."""
        with limits.applied(bounds):
            yield from bulk.report_chunks(bulk.verify_stream(items, verifier), fmt, bulk.Tally(), lang)

    mimetype = {"json": "application/json", "csv": "text/csv", "html": "text/html"}[fmt]
    return Response(stream_with_context(report()), mimetype=mimetype)


def _unknown_parts(known: set[str]) -> str | None:
    """A message naming the multipart parts this endpoint does not take, if any: a misspelt field
    must not be ignored silently (the verdict would be on something other than what was meant)."""
    unknown = sorted((set(flask_request.files) - known) | set(flask_request.form))
    if not unknown:
        return None
    return f"unknown multipart field(s) {', '.join(repr(u) for u in unknown)}; this endpoint takes {sorted(known)}"


def _bulk_field() -> str:
    return "archive" if "archive" in flask_request.files else "file"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness, and which trust anchors the verdicts rest on."""
    if (hook := current_app.config.get("SCEAU_HEALTH")) is not None:  # the issuer service's fuller check
        return hook()  # type: ignore[no-any-return]
    try:
        anchors = [a.to_dict() for a in current_verifier().anchors]
    except SceauError as exc:
        return jsonify({"status": "degraded", "trustAnchors": [], "problem": str(exc)}), 503
    return jsonify({"status": "ok", "trustAnchors": anchors})


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    cap = current_app.config.get("MAX_CONTENT_LENGTH")
    message = f"the request is larger than this service accepts ({cap:,} bytes: SCEAU_MAX_UPLOAD_BYTES)"
    return jsonify({"error": message, "limit": {"name": "SCEAU_MAX_UPLOAD_BYTES", "max": cap}}), 413


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded) -> ResponseReturnValue:
    return jsonify({"error": rate_message(exc), "limit": {"rate": exc.description}}), 429


def rate_message(exc: RateLimitExceeded) -> str:
    return f"too many requests from this address ({exc.description}); retry after the seconds in Retry-After"


# ---------------------------------------------------------------- per-app wiring


def install(app: Flask, views: Mapping[Callable[..., Any], str]) -> None:
    """Give `app` its bounds and its rate limiter (once), and limit `views` (already routed: the
    app's view functions are replaced by Flask-Limiter's wrappers), each by the setting named
    (``SCEAU_RATE_LIMIT_VERIFY``…; the endpoints of one setting share one budget per client).

    Limits are off under TESTING unless ``RATELIMIT_ENABLED`` says otherwise; storage is in memory
    (per process) unless ``SCEAU_RATE_LIMIT_STORAGE_URI`` names another (``redis://…``)."""
    if "sceau_limits" not in app.extensions:
        app.extensions["sceau_limits"] = limits.Limits.from_mapping(app.config)
    limited = {}
    for endpoint, view in list(app.view_functions.items()):
        setting = views.get(view)
        value = app.config.get(setting, RATE_LIMITS[setting]) if setting else None
        if setting and value:
            _check_rate(setting, value)
            limited[endpoint] = view, setting, str(value)
    if not limited:  # every limit turned off: no limiter, whose hook costs every request ~0.1 ms
        return
    limiter: Limiter | None = app.extensions.get("sceau_limiter")
    if limiter is None:
        limiter = Limiter(
            get_remote_address,
            storage_uri=app.config.get("SCEAU_RATE_LIMIT_STORAGE_URI") or "memory://",
            headers_enabled=True,
            enabled=bool(app.config.get("RATELIMIT_ENABLED", not app.testing)),
        )
        limiter.init_app(app)
        app.extensions["sceau_limiter"] = limiter
    for endpoint, (view, setting, value) in limited.items():
        wrapped: Any = limiter.shared_limit(value, scope=setting, exempt_when=_exempt)(view)
        app.view_functions[endpoint] = wrapped


def _check_rate(setting: str, value: Any) -> None:
    from limits import parse_many

    try:
        parse_many(str(value))
    except ValueError:
        raise ConfigurationError(f"{setting}={value!r} is not a rate such as '120/minute' or '10 per hour'") from None


def _exempt() -> bool:
    hook = current_app.config.get("SCEAU_RATE_LIMIT_EXEMPT")
    return bool(callable(hook) and hook())


def _setup(state: BlueprintSetupState) -> None:
    install(cast(Flask, state.app), {verify: "SCEAU_RATE_LIMIT_VERIFY", verify_bulk: "SCEAU_RATE_LIMIT_BULK"})


bp.record_once(_setup)
