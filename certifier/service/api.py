"""The issuer API, /api/v1: documents, batches, revocations, rosters and the audit log.

Every request is authenticated by a bearer token bound to one issuer; a token never sees another
issuer's documents (404, as if they did not exist). Writes are all-or-nothing: one database
transaction per request, files moved into storage only after it commits.

Longer than our modules usually are, on purpose: it is the one blueprint of /api/v1, and every
route leans on the guards defined here (token scope, early size refusal, one error shape,
idempotency). Shapes are checked against the OpenAPI document (contract.py, from schemas.py),
values in validation.py, what the console shares is in resources.py, and the queue is
store/documents.py, so what remains is routes; splitting them by resource would spread one
blueprint over modules that each import all of this one.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from certifier.errors import http_status
from certifier.keys import keystore
from certifier.service.auth import Forbidden, Unauthorized, authenticate, require_scope
from certifier.service.context import ServiceContext
from certifier.service.contract import check_request
from certifier.service.problems import Invalid, Problem, Problems, at
from certifier.service.resources import (
    batch_json,
    credential_maker,
    document_json,
    issuer_record,
    own_batch,
    own_document,
    receipt_of,
    require_credentials,
)
from certifier.service.schemas import MAX_FILENAME
from certifier.service.validation import parse_date, parse_fields, parse_flag, parse_kind, parse_text
from certifier.store.db import Document, IdempotentResponse, Token
from certifier.store.documents import (
    Conflict,
    NewDocument,
    form_batches,
    leaf_of,
    queue_revocations,
    submit,
)
from certifier.store.pages import UnknownPageKey, audit_page, batches_page
from certifier.store.states import DocumentStatus
from certifier.store.uploads import EmptyUpload, commit_file, fingerprint_stream, store_stream
from verifier.chain import Reason
from verifier.core.errors import SceauError
from verifier.core.merkle import leaf_hash
from verifier.core.receipt import MEDIA_TYPE
from verifier.credentials.verify import MEDIA_TYPE as CREDENTIAL_MEDIA_TYPE
from verifier.multipart import split_plain

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def ctx() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sceau"]
    return context


def error(status: int, message: str) -> ResponseReturnValue:
    return jsonify({"error": message}), status


def refused(exc: Invalid, status: int | None = None) -> ResponseReturnValue:
    """Every problem, in English (``where: what``) and as codes for clients that say them otherwise."""
    body = {
        "error": f"{len(exc.found)} problem(s) in the request",
        "problems": exc.problems,
        "details": [p.as_json() for p in exc.found],
    }
    return jsonify(body), status or exc.status


def scoped(scope: str) -> Callable[[F], F]:
    """Authenticate, check `scope`, and give the view a session (g.session) and token (g.token)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            with ctx().sessions() as session:
                try:
                    token = authenticate(session, request.headers.get("Authorization"))
                    require_scope(token, scope)
                except Unauthorized as exc:
                    return error(401, str(exc))
                except Forbidden as exc:
                    return error(403, str(exc))
                g.session, g.token = session, token
                try:
                    return view(*args, **kwargs)
                except Invalid as exc:
                    session.rollback()
                    return refused(exc)
                except Conflict as exc:
                    session.rollback()
                    return error(409, str(exc))

        return wrapper  # type: ignore[return-value]

    return decorate


@bp.before_request
def refuse_oversize_early() -> ResponseReturnValue | None:
    """Refuse by the announced length before reading a byte of the body."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and limit is not None and request.content_length > limit:
        return too_large(RequestEntityTooLarge())
    return None


#: Bodies up to this size are read whole and split by the plain-multipart fast path (held twice
#: while split); larger ones stream through werkzeug's parser, which spools files to disk.
FAST_FORM_BYTES = 8 * 1024 * 1024


@bp.before_request
def read_plain_forms() -> None:
    """Give the views a plain multipart body's fields and files as werkzeug would (the same
    MultiDicts), split at memory speed (verifier/multipart.py, differential-tested against
    werkzeug); anything else is left to werkzeug, which parses the same bytes when asked."""
    length = request.content_length
    if request.method != "POST" or length is None or length > FAST_FORM_BYTES:
        return
    content_type = request.headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return
    parts = split_plain(request.get_data(), content_type)
    if parts is None:
        return
    request.form = ImmutableMultiDict([(p.name, p.data.decode()) for p in parts if p.filename is None])
    request.files = ImmutableMultiDict(
        [
            (p.name, FileStorage(io.BytesIO(p.data), filename=p.filename, name=p.name, content_type=p.content_type))
            for p in parts
            if p.filename is not None
        ]
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return error(413, f"the request is larger than the limit of {limit} bytes ({limit / 2**20:.0f} MiB)")


# ---------------------------------------------------------------- idempotency


def idempotent(session: Session, token: Token, request_hash: str, produce: Callable[[], tuple[int, Any]]) -> Response:
    """Answer once per Idempotency-Key: a replay gets the first answer, a different request under
    the same key gets 422."""
    key = request.headers.get("Idempotency-Key")  # checked by the view (parse_idempotency_key)
    if key:
        seen = session.get(IdempotentResponse, (token.issuer, key))
        if seen is not None:
            if seen.request_hash != request_hash:
                return _json(422, {"error": "this Idempotency-Key was used for a different request"})
            return _json(seen.status_code, json.loads(seen.body))
    status, body = produce()
    if key and status < 300:
        session.add(
            IdempotentResponse(
                issuer=token.issuer, key=key, request_hash=request_hash, status_code=status, body=json.dumps(body)
            )
        )
    return _json(status, body)


def _json(status: int, body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


# ---------------------------------------------------------------- documents


@bp.post("/documents")
@scoped("issue")
def post_documents() -> ResponseReturnValue:
    session: Session = g.session
    token: Token = g.token
    if request.mimetype not in ("application/json", "multipart/form-data"):
        return error(415, "send multipart/form-data (field 'file', repeatable) or application/json")
    shape = Problems()
    body = check_request(request, "submitDocuments", shape)
    if "Idempotency-Key" in shape.paths() or not isinstance(body, dict):
        shape.raise_if_any()
    record = issuer_record(token)
    if request.mimetype == "application/json":
        temps: list[tuple[Path, bytes]] = []
        items, fingerprint = _json_documents(record, body, shape), hashlib.sha256(request.get_data()).hexdigest()
    else:
        items, temps = _multipart_documents(record, body, shape)
        fingerprint = hashlib.sha256(
            json.dumps(
                [
                    [
                        i.sha256.hex(),
                        i.kind,
                        i.valid_from if request.form.get("validFrom") else None,
                        i.valid_until,
                        i.reference,
                        i.credential,
                    ]
                    for i in items
                ]
            ).encode()
        ).hexdigest()
    if any(i.credential for i in items):
        try:
            require_credentials(record)
        except Conflict:
            for tmp, _ in temps:
                tmp.unlink(missing_ok=True)
            raise

    def produce() -> tuple[int, Any]:
        docs = submit(session, token.issuer, items, actor=f"token:{token.id}")
        return 202, {"documents": [document_json(session, d) for d in docs]}

    try:
        response = idempotent(session, token, fingerprint, produce)
        session.commit()
    except IntegrityError:  # the same Idempotency-Key raced in from another request
        session.rollback()
        response = idempotent(session, token, fingerprint, lambda: (409, {"error": "retry"}))
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, digest in temps:
        commit_file(tmp, ctx().storage, digest)
    return response


def _json_documents(record: keystore.IssuerKey, body: dict[str, Any], problems: Problems) -> list[NewDocument]:
    """The documents of a JSON body; `problems` holds its shape's (check_request), whose values
    are left out here, so that the request is refused with every problem at once."""
    entries: list[Any] = body["documents"] if isinstance(body.get("documents"), list) else []
    items = []
    for i, entry in enumerate(entries):
        where = f"documents[{i}]"
        if not isinstance(entry, dict):
            continue
        value = problems.without_refused(entry, under=where)
        item = _new_document(
            record,
            problems,
            where,
            value.get("kind"),
            value.get("validFrom"),
            value.get("validUntil"),
            value.get("reference"),
            bytes.fromhex(value["sha256"]) if "sha256" in value else None,
            fields=value.get("fields"),
            form=False,
            credential=value.get("credential"),
        )
        if item:
            items.append(item)
    problems.raise_if_any()
    return items


def _new_document(
    record: keystore.IssuerKey,
    problems: Problems,
    where: str,
    kind: Any,
    valid_from: Any,
    valid_until: Any,
    reference: Any,
    sha256: bytes | None,
    filename: str | None = None,
    fields: Any = None,
    form: bool = True,
    credential: Any = None,
) -> NewDocument | None:
    """One document's values; in a `form` (multipart), an empty field means "not given"."""
    kind_code = parse_kind(kind, f"{where}.kind", problems, record.kinds, blank=form)
    start = parse_date(valid_from, f"{where}.validFrom", problems, end_of_day=False, blank=form)
    until = parse_date(valid_until, f"{where}.validUntil", problems, end_of_day=True, blank=form)
    start = int(time.time()) if start is None else start
    if until is not None and until <= start:
        problems.reject(f"{where}.validUntil", "after_valid_from")
    parse_text(reference, f"{where}.reference", problems)
    displayed = parse_fields(fields, f"{where}.fields", problems)
    wants = parse_flag(credential, f"{where}.credential" if not form else "credential", problems, form=form)
    if sha256 is None or kind_code is None:
        return None
    return NewDocument(sha256, kind_code, start, until or 0, reference, None, filename, displayed, wants)


def _multipart_documents(
    record: keystore.IssuerKey, sent: dict[str, Any], problems: Problems
) -> tuple[list[NewDocument], list[tuple[Path, bytes]]]:
    """The documents of a form, each file hashed (and kept, if the service keeps originals) as it
    streams in; `problems` holds the form's shape problems (check_request), whose values are left out."""
    form = problems.without_refused(sent)
    uploads = request.files.getlist("file")
    references = form.get("reference") or []
    if references and len(references) != len(uploads):
        problems.reject("reference", "one_per_file", count=len(uploads))
    fields: Any = None
    if "fields" in form:
        if len(uploads) != 1:
            problems.reject("fields", "fields_one_file")
        try:
            fields = json.loads(form["fields"])
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            problems.reject("fields", "fields_not_json")
            fields = None
    temps: list[tuple[Path, bytes]] = []
    items: list[NewDocument] = []
    try:
        for i, upload in enumerate(uploads):
            where = f"file[{i}] {(upload.filename or '')[:80]}".strip()
            filename = parse_text(upload.filename or None, f"file[{i}] filename", problems, limit=MAX_FILENAME)
            try:
                if ctx().settings.keep_documents:
                    digest, tmp = store_stream(upload.stream, ctx().storage)
                    temps.append((tmp, digest))
                else:
                    digest = fingerprint_stream(upload.stream)
            except EmptyUpload:
                problems.reject(where, "upload_empty")
                continue
            item = _new_document(
                record,
                problems,
                where,
                form.get("kind"),
                form.get("validFrom"),
                form.get("validUntil"),
                references[i] if references and i < len(references) else None,
                digest,
                filename,
                fields,
                credential=form.get("credential"),
            )
            if item:
                items.append(item)
        problems.raise_if_any()
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    return items, temps


@bp.get("/documents/<doc_id>")
@scoped("read")
def get_document(doc_id: str) -> ResponseReturnValue:
    doc = own_document(g.session, g.token, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    return jsonify(document_json(g.session, doc, full=True))


@bp.get("/documents/<doc_id>/receipt")
@scoped("read")
def get_receipt(doc_id: str) -> ResponseReturnValue:
    session: Session = g.session
    doc = own_document(session, g.token, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    if doc.status != DocumentStatus.confirmed:
        return error(409, f"document {doc_id} is {doc.status}; its receipt exists once it is confirmed")
    issuer_record(g.token)  # the issuer's configuration is there (else 409)
    return Response(receipt_of(ctx(), session, doc).to_json(), mimetype=MEDIA_TYPE)


#: What GET …/credential may answer, first the default (VC 2.0's media type, CREDENTIAL.md §1).
CREDENTIAL_MEDIA_TYPES = (CREDENTIAL_MEDIA_TYPE, "application/vc+ld+json", "application/json")


@bp.get("/documents/<doc_id>/credential")
@scoped("read")
def get_credential(doc_id: str) -> ResponseReturnValue:
    """The document's Verifiable Credential, signed, its receipt embedded (CREDENTIAL.md)."""
    doc = own_document(g.session, g.token, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    if not doc.wants_credential:
        return error(404, f"document {doc_id} was not issued with a credential")
    if doc.status != DocumentStatus.confirmed:
        return error(409, f"document {doc_id} is {doc.status}; its credential exists once it is confirmed")
    if doc.credential is None:
        return error(
            409,
            f"document {doc_id} is confirmed but its credential is not signed yet (the worker signs it just after "
            "confirming the batch): try again in a minute; if this lasts, see `sceau status`",
        )
    chosen = request.accept_mimetypes.best_match(CREDENTIAL_MEDIA_TYPES, default=CREDENTIAL_MEDIA_TYPE)
    if chosen not in CREDENTIAL_MEDIA_TYPES or request.accept_mimetypes.best in (None, "*/*"):
        chosen = CREDENTIAL_MEDIA_TYPE
    return Response(doc.credential, mimetype=chosen)


@bp.get("/documents/<doc_id>/certified.pdf")
@scoped("read")
def get_certified_pdf(doc_id: str) -> ResponseReturnValue:
    """The certified copy of a confirmed PDF the service keeps: original bytes, receipt attached,
    QR seal stamped on page 1."""
    from certifier.service.certified_copies import certified_copy

    doc = own_document(g.session, g.token, doc_id)
    if doc is None:
        return error(404, f"no document {doc_id}")
    return Response(certified_copy(ctx(), g.session, doc), mimetype="application/pdf")


# ---------------------------------------------------------------- batches


@bp.post("/batches")
@scoped("issue")
def post_batches() -> ResponseReturnValue:
    session: Session = g.session
    settings = ctx().settings
    try:
        made = form_batches(
            session,
            g.token.issuer,
            batch_size=settings.batch_size,
            max_age=0,
            force=True,
            actor=f"token:{g.token.id}",
            credentials=credential_maker(ctx()),
        )
        session.commit()
    except Conflict:  # the worker batched them first
        session.rollback()
        made = []
    return jsonify({"batches": [batch_json(b) for b in made]}), 202 if made else 200


@bp.get("/batches")
@scoped("read")
def list_batches() -> ResponseReturnValue:
    """Newest first, a page at a time: a page costs the same with ten batches or a million."""
    check_request(request, "listBatches")
    before = request.args.get("before")
    try:
        page = batches_page(g.session, g.token.issuer, before=before, limit=int(request.args.get("limit", 100)))
    except UnknownPageKey:
        raise Invalid([Problem(at("before"), "invalid_page_token", {"value": repr(before)}, malformed=False)]) from None
    return jsonify({"batches": [batch_json(b) for b in page.rows], "next": page.next})


@bp.get("/batches/<batch_id>")
@scoped("read")
def get_batch(batch_id: str) -> ResponseReturnValue:
    batch = own_batch(g.session, g.token, batch_id)
    if batch is None:
        return error(404, f"no batch {batch_id}")
    return jsonify(batch_json(batch))


# ---------------------------------------------------------------- revocations


def _revoke(doc_ids: list[str], body: dict[str, Any]) -> ResponseReturnValue:
    """Queue the revocation of `doc_ids` (a body whose shape check_request has checked)."""
    session: Session = g.session
    token: Token = g.token
    problems = Problems()
    reason = Reason.from_slug(body["reason"])
    docs: list[Document] = []
    missing = Problems()
    for i, doc_id in enumerate(dict.fromkeys(doc_ids)):
        doc = own_document(session, token, doc_id)
        if doc is None:
            missing.add(f"documents[{i}]", "no_document", id=str(doc_id)[:40])
        else:
            docs.append(doc)
    if missing:  # another issuer's documents do not exist for this token
        return refused(Invalid(missing.found), 404)
    replaced_by = None
    if body.get("replacedBy") is not None:
        other = own_document(session, token, body["replacedBy"])
        if other is None or other.batch_index is None:
            problems.reject("replacedBy", "replaced_by")
        else:
            replaced_by = "0x" + leaf_hash(leaf_of(other)).hex()
    problems.raise_if_any()
    revs = queue_revocations(session, token.issuer, docs, reason, replaced_by, actor=f"token:{token.id}")
    session.commit()
    return jsonify(
        {
            "revocations": [
                {
                    "id": r.id,
                    "status": r.status,
                    "reason": reason.slug,
                    "documents": [d.id for d in docs if d.revocation_id == r.id],
                }
                for r in revs
            ]
        }
    ), 202


@bp.post("/documents/<doc_id>/revocation")
@scoped("revoke")
def revoke_document(doc_id: str) -> ResponseReturnValue:
    if request.mimetype != "application/json":
        return error(415, 'send a JSON object {"reason": …, "replacedBy"?: …}')
    body = check_request(request, "revokeDocument")
    if own_document(g.session, g.token, doc_id) is None:
        return error(404, f"no document {doc_id}")
    return _revoke([doc_id], body)


@bp.post("/revocations")
@scoped("revoke")
def revoke_many() -> ResponseReturnValue:
    if request.mimetype != "application/json":
        return error(415, 'send a JSON object {"documents": [ids…], "reason": …}')
    body = check_request(request, "revokeDocuments")
    return _revoke(body["documents"], body)


# ---------------------------------------------------------------- audit


@bp.get("/audit")
@scoped("read")
def get_audit() -> ResponseReturnValue:
    check_request(request, "getAudit")
    page = audit_page(
        g.session, g.token.issuer, after=int(request.args.get("after", 0)), limit=int(request.args.get("limit", 100))
    )
    return jsonify(
        {
            "entries": [
                {
                    "id": e.id,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "detail": json.loads(e.detail) if e.detail else None,
                    "transactionHash": e.tx_hash,
                }
                for e in page.rows
            ],
            "next": page.next,
        }
    )


@bp.errorhandler(SceauError)
def sceau_error(exc: SceauError) -> ResponseReturnValue:
    return error(http_status(exc), str(exc))


# ---------------------------------------------------------------- rosters


@bp.post("/rosters")
@scoped("issue")
def post_roster() -> ResponseReturnValue:
    """A CSV roster and a ZIP of PDFs: all rows validated, all problems reported, then one batch."""
    from certifier.service.rosters import issue_roster

    token: Token = g.token
    if request.mimetype != "multipart/form-data":
        return error(415, "send multipart/form-data with 'roster' (CSV) and 'archive' (ZIP)")
    problems = Problems()  # the form's shape, then the roster's content: refused with all of them
    sent = check_request(request, "issueRoster", problems)
    form = problems.without_refused(sent)
    wants = parse_flag(form.get("credential"), "credential", problems)
    record = issuer_record(token)
    if wants:
        require_credentials(record)
    roster, archive = request.files.get("roster"), request.files.get("archive")
    batch, docs = issue_roster(
        g.session,
        token.issuer,
        record.kinds,
        kind=form.get("kind"),
        valid_until=form.get("validUntil"),
        roster=roster.stream if roster is not None else None,
        archive=archive.stream if archive is not None else None,
        storage=ctx().storage,
        actor=f"token:{token.id}",
        problems=problems,
        credentials=credential_maker(ctx()) if wants else None,
    )
    return jsonify({"batch": batch_json(batch), "documents": [document_json(g.session, d) for d in docs]}), 202
