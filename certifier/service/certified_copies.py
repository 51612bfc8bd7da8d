"""Certified copies of documents the service holds: original from storage, receipt from the
batch, and the seal the worker signed when it confirmed the batch (stored with the document).

The web processes that serve this parse untrusted uploads: they hold no issuer key and need none."""

from __future__ import annotations

from sqlalchemy.orm import Session

from certifier.chain.certified_pdf import certify
from certifier.keys.keystore import load
from certifier.service.context import ServiceContext
from certifier.store.db import Batch, Document
from certifier.store.documents import Conflict, receipts_of
from certifier.store.uploads import stored_path
from verifier.core.errors import DocumentError
from verifier.core.seal import seal_url


def certified_copy(ctx: ServiceContext, session: Session, doc: Document, position: str = "bottom-right") -> bytes:
    if doc.status != "confirmed":
        raise Conflict(f"document {doc.id} is {doc.status}; a certified copy exists once it is confirmed")
    if not doc.seal:
        raise Conflict(
            f"document {doc.id} is confirmed but its seal is not signed yet (the worker signs it just after "
            "confirming the batch): try again in a minute; if this lasts, see `sceau status`"
        )
    path = stored_path(ctx.storage, doc.sha256)
    if not path.exists():
        raise Conflict(f"the original of document {doc.id} is not kept here (uploaded as a digest, or not kept)")
    original = path.read_bytes()
    batch = session.get(Batch, doc.batch_id)
    assert batch is not None and batch.block_number is not None
    receipt = receipts_of(session, batch, [doc], ctx.deployment, load(doc.issuer).address)[doc.id]
    base = ctx.settings.verifier_url
    text = seal_url(base, doc.seal) if base else doc.seal
    try:
        return certify(original, receipt, text, position=position)
    except DocumentError as exc:
        raise Conflict(str(exc)) from None
