"""What the API and the console read and show of an issuer's documents and batches, in one place,
so that the service's two faces find, check and describe them the same way."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from certifier.credentials.batching import CredentialMaker, credential_did, public_url
from certifier.keys import keystore
from certifier.service.context import ServiceContext
from certifier.store.db import Batch, Document, Revocation, Token
from certifier.store.documents import Conflict, receipts_of
from certifier.store.states import DocumentStatus, TxStatus
from verifier.chain import Reason
from verifier.core.errors import ConfigurationError
from verifier.core.kinds import kind_name
from verifier.core.receipt import Receipt


def issuer_record(token: Token) -> keystore.IssuerKey:
    try:
        return keystore.load(token.issuer)
    except ConfigurationError as exc:
        raise Conflict(str(exc)) from None


def credential_maker(context: ServiceContext) -> CredentialMaker:
    """What builds the unsigned credentials of a batch formed here (no key: see batching.py)."""
    return CredentialMaker(context.deployment, public_url(context.settings.public_url))


def require_credentials(record: keystore.IssuerKey) -> None:
    """Refuse (409) documents asking for a credential that the issuer cannot give yet."""
    if record.issuer_id is None:
        raise Conflict(f"issuer {record.name!r} is not accredited on chain: it cannot issue credentials")
    credential_did(record.name)


#: Ids are 32 hex digits (db.new_id); anything else names nothing, and never reaches the database.
_ID = re.compile(r"[0-9a-f]{32}")


def own_document(session: Session, token: Token, doc_id: Any) -> Document | None:
    """The document `doc_id` if it is this token's issuer's; another issuer's does not exist."""
    return _own(session, token, Document, doc_id)


def own_batch(session: Session, token: Token, batch_id: Any) -> Batch | None:
    return _own(session, token, Batch, batch_id)


Owned = TypeVar("Owned", Batch, Document)


def _own(session: Session, token: Token, model: type[Owned], row_id: Any) -> Owned | None:
    if not isinstance(row_id, str) or not _ID.fullmatch(row_id):
        return None
    row = session.get(model, row_id)
    return row if row is not None and row.issuer == token.issuer else None


def receipt_of(context: ServiceContext, session: Session, doc: Document) -> Receipt:
    """A confirmed document's receipt, made from its batch (the store keeps no receipt files)."""
    batch = session.get(Batch, doc.batch_id)
    assert batch is not None and doc.status == DocumentStatus.confirmed
    return receipts_of(session, batch, [doc], context.deployment, keystore.load(doc.issuer).address)[doc.id]


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
