"""The issuer API, /api/v1: documents, batches, revocations, rosters and the audit log.

Every request is authenticated by a bearer token bound to one issuer; a token never sees another
issuer's documents (404, as if they did not exist). Writes are all-or-nothing: one database
transaction per request, files moved into storage only after it commits.

Longer than our modules usually are, on purpose: it is the one blueprint of /api/v1, and every
route leans on the guards defined here (token scope, early size refusal, one error shape,
idempotency); the console imports its JSON shapes. Input rules live in validation.py and the
queue in store/documents.py, so what remains is routes; splitting them by resource would
spread one blueprint over modules that each import all of this one.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from certifier.credentials.batching import CredentialMaker, credential_did, public_url
from certifier.errors import http_status
from certifier.keys import keystore
from certifier.service.auth import Forbidden, Unauthorized, authenticate, require_scope
from certifier.service.context import ServiceContext
from certifier.service.validation import (
    MAX_AUDIT_ID,
    Invalid,
    Problems,
    check_keys,
    parse_date,
    parse_flag,
    parse_idempotency_key,
    parse_kind,
    parse_sha256,
    parse_text,
)
from certifier.store.db import AuditEntry, Batch, Document, IdempotentResponse, Revocation, Token
from certifier.store.documents import (
    Conflict,
    NewDocument,
    form_batches,
    leaf_of,
    queue_revocations,
    receipts_for_batch,
    submit,
)
from certifier.store.states import DocumentStatus, TxStatus
from certifier.store.uploads import EmptyUpload, commit_file, fingerprint_stream, store_stream
from verifier.chain import Reason
from verifier.core.errors import ConfigurationError, SceauError
from verifier.core.kinds import kind_name
from verifier.core.merkle import leaf_hash
from verifier.core.receipt import MEDIA_TYPE
from verifier.credentials.verify import MEDIA_TYPE as CREDENTIAL_MEDIA_TYPE

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def ctx() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sceau"]
    return context


def error(status: int, message: str, problems: list[str] | None = None) -> ResponseReturnValue:
    body: dict[str, Any] = {"error": message}
    if problems is not None:
        body["problems"] = problems
    return jsonify(body), status


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
                    return error(exc.status, f"{len(exc.problems)} problem(s) in the request", exc.problems)
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


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return error(413, f"the request is larger than the limit of {limit} bytes ({limit / 2**20:.0f} MiB)")


def issuer_record(token: Token) -> keystore.IssuerKey:
    try:
        return keystore.load(token.issuer)
    except ConfigurationError as exc:
        raise Conflict(str(exc)) from None


def credential_maker() -> CredentialMaker:
    """What builds the unsigned credentials of a batch formed here (no key: see batching.py)."""
    return CredentialMaker(ctx().deployment, public_url(ctx().settings.public_url))


def require_credentials(record: keystore.IssuerKey) -> None:
    """Refuse (409) documents asking for a credential that the issuer cannot give yet."""
    if record.issuer_id is None:
        raise Conflict(f"issuer {record.name!r} is not accredited on chain: it cannot issue credentials")
    credential_did(record.name)


#: Ids are 32 hex digits (db.new_id); anything else names nothing, and never reaches the database.
_ID = re.compile(r"[0-9a-f]{32}")


def own_document(session: Session, token: Token, doc_id: Any) -> Document | None:
    if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
        return None
    doc = session.get(Document, doc_id)
    return doc if doc is not None and doc.issuer == token.issuer else None


# ---------------------------------------------------------------- representations


#: A transaction's hash is shown once it is in a block (before, a replacement may change it).
_IN_A_BLOCK = (TxStatus.mined, TxStatus.confirmed)


def batch_json(b: Batch) -> dict[str, Any]:
    return {
        "id": b.id,
        "root": b.root,
        "kind": kind_name(b.kind),
        "documentCount": b.document_count,
        "status": b.status,
        "transactionHash": b.tx_hash if b.status in _IN_A_BLOCK else None,
        "blockNumber": b.block_number,
        "createdAt": b.created_at,
        "confirmedAt": b.confirmed_at,
        "error": b.last_error if b.status != TxStatus.confirmed else None,  # failed, or why it is held (worker)
    }


def document_json(session: Session, d: Document, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": d.id, "sha256": d.sha256, "status": d.status}
    if not full:
        return out
    batch = session.get(Batch, d.batch_id) if d.batch_id else None
    revocation = session.get(Revocation, d.revocation_id) if d.revocation_id else None
    out.update(
        kind=kind_name(d.kind),
        validFrom=d.valid_from,
        validUntil=d.valid_until or None,
        reference=d.reference,
        fields=d.fields,
        credential=d.wants_credential,
        filename=d.filename,
        createdAt=d.created_at,
        failure=d.failure,
        batch=batch_json(batch) if batch else None,
        revocation=(
            {
                "id": revocation.id,
                "status": revocation.status,
                "reason": Reason(revocation.reason).slug,
                "transactionHash": revocation.tx_hash if revocation.status in _IN_A_BLOCK else None,
            }
            if revocation
            else None
        ),
    )
    return out


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
    key_problems = Problems()
    parse_idempotency_key(request.headers.get("Idempotency-Key"), key_problems)
    key_problems.raise_if_any()
    record = issuer_record(token)
    if request.mimetype == "application/json":
        temps: list[tuple[Path, bytes]] = []
        items, fingerprint = _json_documents(record), hashlib.sha256(request.get_data()).hexdigest()
    elif request.mimetype == "multipart/form-data":
        items, temps = _multipart_documents(record)
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
    else:
        return error(415, "send multipart/form-data (field 'file', repeatable) or application/json")
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


def _json_documents(record: keystore.IssuerKey) -> list[NewDocument]:
    problems = Problems()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(['body: must be a JSON object {"documents": [...]}'])
    check_keys(body, "body", {"documents"}, {"documents"}, problems)
    raw = body.get("documents")
    if not isinstance(raw, list) or not raw:
        problems.add("documents", "must be a non-empty list")
        problems.raise_if_any()
    assert isinstance(raw, list)
    items = []
    for i, entry in enumerate(raw):
        where = f"documents[{i}]"
        if not isinstance(entry, dict):
            problems.add(where, "must be an object")
            continue
        check_keys(
            entry,
            where,
            {"sha256", "kind", "validFrom", "validUntil", "reference", "fields", "credential"},
            {"sha256"},
            problems,
        )
        item = _new_document(
            record,
            problems,
            where,
            entry.get("kind"),
            entry.get("validFrom"),
            entry.get("validUntil"),
            entry.get("reference"),
            parse_sha256(entry.get("sha256"), f"{where}.sha256", problems) if "sha256" in entry else None,
            fields=entry.get("fields"),
            form=False,
            credential=entry.get("credential"),
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
        problems.reject(f"{where}.validUntil", "must be after validFrom")
    parse_text(reference, f"{where}.reference", problems)
    displayed = _parse_fields(fields, f"{where}.fields", problems)
    wants = parse_flag(credential, f"{where}.credential" if not form else "credential", problems, form=form)
    if sha256 is None or kind_code is None:
        return None
    return NewDocument(sha256, kind_code, start, until or 0, reference, None, filename, displayed, wants)


_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


def _parse_fields(value: Any, where: str, problems: Problems) -> dict[str, str] | None:
    """The displayed fields printed on the document, bound on chain and shown by its seal."""
    from verifier.core.errors import InvalidFields
    from verifier.core.fields import MAX_FIELDS, normalise

    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.add(where, 'must be an object of texts, e.g. {"holder": "Jeanne Martin", "degree": "Master"}')
        return None
    try:
        return normalise(value) or None
    except InvalidFields as exc:  # names, counts and lengths are in the schema (400); the rest is 422
        shape = len(value) > MAX_FIELDS or not all(_FIELD_NAME.fullmatch(k) and len(v) <= 200 for k, v in value.items())
        (problems.add if shape else problems.reject)(where, str(exc))
        return None


def _multipart_documents(record: keystore.IssuerKey) -> tuple[list[NewDocument], list[tuple[Path, bytes]]]:
    problems = Problems()
    for key in sorted(set(request.form) - {"kind", "validFrom", "validUntil", "reference", "fields", "credential"}):
        problems.add(key, "unknown field")
    for key in sorted(set(request.files) - {"file"}):
        problems.add(key, "unknown file field (send documents as 'file')")
    uploads = request.files.getlist("file")
    if not uploads:
        problems.add("file", "required (one or more documents)")
    references = request.form.getlist("reference")
    if references and len(references) != len(uploads):
        problems.reject("reference", f"give one per file ({len(uploads)}), or none")
    fields: Any = None
    if "fields" in request.form:
        if len(uploads) != 1:
            problems.reject("fields", "describes one document: send exactly one file with it (a roster for a cohort)")
        try:
            fields = json.loads(request.form["fields"])
        except ValueError:
            problems.reject("fields", "must be a JSON object of texts")
        if not isinstance(fields, dict):
            problems.reject("fields", "must be a JSON object of texts")
            fields = None
    temps: list[tuple[Path, bytes]] = []
    items: list[NewDocument] = []
    try:
        for i, upload in enumerate(uploads):
            where = f"file[{i}] {(upload.filename or '')[:80]}".strip()
            filename = parse_text(upload.filename or None, f"file[{i}] filename", problems, limit=300)
            try:
                if ctx().settings.keep_documents:
                    digest, tmp = store_stream(upload.stream, ctx().storage)
                    temps.append((tmp, digest))
                else:
                    digest = fingerprint_stream(upload.stream)
            except EmptyUpload as exc:
                problems.reject(where, str(exc))
                continue
            item = _new_document(
                record,
                problems,
                where,
                request.form.get("kind"),
                request.form.get("validFrom"),
                request.form.get("validUntil"),
                references[i] if references and i < len(references) else None,
                digest,
                filename,
                fields,
                credential=request.form.get("credential"),
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
    batch = session.get(Batch, doc.batch_id)
    assert batch is not None
    receipts = receipts_for_batch(session, batch, ctx().deployment, issuer_record(g.token).address)
    return Response(receipts[doc.id].to_json(), mimetype=MEDIA_TYPE)


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
            credentials=credential_maker(),
        )
        session.commit()
    except Conflict:  # the worker batched them first
        session.rollback()
        made = []
    return jsonify({"batches": [batch_json(b) for b in made]}), 202 if made else 200


@bp.get("/batches")
@scoped("read")
def list_batches() -> ResponseReturnValue:
    rows = g.session.scalars(
        select(Batch).where(Batch.issuer == g.token.issuer).order_by(Batch.created_at.desc()).limit(200)
    )
    return jsonify({"batches": [batch_json(b) for b in rows]})


@bp.get("/batches/<batch_id>")
@scoped("read")
def get_batch(batch_id: str) -> ResponseReturnValue:
    batch = g.session.get(Batch, batch_id) if _ID.fullmatch(batch_id) else None
    if batch is None or batch.issuer != g.token.issuer:
        return error(404, f"no batch {batch_id}")
    return jsonify(batch_json(batch))


# ---------------------------------------------------------------- revocations


def _revoke(doc_ids: list[str], body: dict[str, Any], allowed: set[str]) -> ResponseReturnValue:
    session: Session = g.session
    token: Token = g.token
    problems = Problems()
    check_keys(body, "body", allowed, {"reason"}, problems)
    reason = None
    try:
        reason = Reason.from_slug(body["reason"]) if isinstance(body.get("reason"), str) else None
    except ValueError as exc:
        problems.add("reason", str(exc))
    if "reason" in body and reason is None and not problems.items:
        problems.add("reason", "must be a string")
    for i, doc_id in enumerate(doc_ids):
        if not isinstance(doc_id, str):
            problems.add(f"documents[{i}]", "must be a document id (a string)")
    if body.get("replacedBy") is not None and not isinstance(body["replacedBy"], str):
        problems.add("replacedBy", "must be a document id (a string)")
    problems.raise_if_any()
    docs: list[Document] = []
    missing = Problems()
    for i, doc_id in enumerate(dict.fromkeys(doc_ids)):
        doc = own_document(session, token, doc_id)
        if doc is None:
            missing.add(f"documents[{i}]", f"no document {str(doc_id)[:40]}")
        else:
            docs.append(doc)
    if missing.items:  # another issuer's documents do not exist for this token
        return error(404, "no such document(s)", missing.items)
    replaced_by = None
    if body.get("replacedBy") is not None:
        other = own_document(session, token, body["replacedBy"])
        if other is None or other.batch_index is None:
            problems.reject("replacedBy", "must be the id of one of your documents, already batched")
        else:
            replaced_by = "0x" + leaf_hash(leaf_of(other)).hex()
    problems.raise_if_any()
    assert reason is not None
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
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, 'send a JSON object {"reason": …, "replacedBy"?: …}')
    if own_document(g.session, g.token, doc_id) is None:
        return error(404, f"no document {doc_id}")
    return _revoke([doc_id], body, {"reason", "replacedBy"})


MAX_REVOCATIONS = 10_000


@bp.post("/revocations")
@scoped("revoke")
def revoke_many() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("documents"), list) or not body["documents"]:
        return error(400, 'send a JSON object {"documents": [ids…], "reason": …}')
    if len(body["documents"]) > MAX_REVOCATIONS:
        return error(400, f"documents: at most {MAX_REVOCATIONS} per request")
    return _revoke(body["documents"], body, {"documents", "reason"})


# ---------------------------------------------------------------- audit


def _int_arg(name: str, default: int, low: int, high: int, problems: Problems) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,20}", raw) or not low <= int(raw) <= high:
        problems.add(name, f"must be an integer from {low} to {high}")
        return default
    return int(raw)


@bp.get("/audit")
@scoped("read")
def get_audit() -> ResponseReturnValue:
    problems = Problems()
    after = _int_arg("after", 0, 0, MAX_AUDIT_ID, problems)
    limit = _int_arg("limit", 100, 1, 1000, problems)
    problems.raise_if_any()
    rows = list(
        g.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.issuer == g.token.issuer, AuditEntry.id > after)
            .order_by(AuditEntry.id)
            .limit(limit)
        )
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
                for e in rows
            ],
            "next": rows[-1].id if len(rows) == limit else None,
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
    problems = Problems()
    for key in sorted(set(request.form) - {"kind", "validUntil", "credential"}):
        problems.add(key[:40], "unknown field")
    wants = parse_flag(request.form.get("credential"), "credential", problems)
    record = issuer_record(token)
    if wants:
        require_credentials(record)
    for key in sorted(set(request.files) - {"roster", "archive"}):
        problems.add(key[:40], "unknown file field")
    roster, archive = request.files.get("roster"), request.files.get("archive")
    batch, docs = issue_roster(
        g.session,
        token.issuer,
        record.kinds,
        kind=request.form.get("kind"),
        valid_until=request.form.get("validUntil"),
        roster=roster.stream if roster is not None else None,
        archive=archive.stream if archive is not None else None,
        storage=ctx().storage,
        actor=f"token:{token.id}",
        problems=problems,
        credentials=credential_maker() if wants else None,
    )
    return jsonify({"batch": batch_json(batch), "documents": [document_json(g.session, d) for d in docs]}), 202
