"""What the worker does to documents outside transactions: failing, each alone and with its
reason, those the chain could never take (the rest of the queue goes on), and signing the seals
of confirmed ones, so that the web processes make certified copies without any key."""

from __future__ import annotations

import logging

from sqlalchemy import or_, select, update

from certifier.store.db import Batch, Document, audit, rowcount
from certifier.store.documents import receipts_of
from certifier.store.states import DocumentStatus
from certifier.worker.context import WorkerContext
from verifier.core.errors import InvalidFields
from verifier.core.fields import fields_sha256
from verifier.core.merkle import LeafValues

log = logging.getLogger("sceau.worker")
SEALS_PER_PASS = 500


def unanchorable(doc: Document) -> str | None:
    """Why the chain could never take this document's leaf, or None."""
    if doc.valid_from < 0 or doc.valid_until < 0:
        which = "validFrom" if doc.valid_from < 0 else "validUntil"
        return f"{which} is before 1970-01-01, which the chain cannot record: submit the document again, dated later"
    try:
        LeafValues(
            bytes.fromhex(doc.sha256),
            bytes.fromhex(doc.salt),
            0,
            doc.kind,
            doc.valid_from,
            doc.valid_until,
            fields_sha256(doc.fields or {}),
        )
    except (ValueError, InvalidFields) as exc:
        return f"the document cannot be anchored: {exc}"
    return None


def reject_unanchorable(ctx: WorkerContext, issuer: str, *, thoroughly: bool = False) -> bool:
    """Fail the issuer's pending documents the chain could never take (dates before 1970, a kind
    out of range); `thoroughly`: check every leaf, not only the cheap checks' suspects."""
    query = select(Document).where(Document.issuer == issuer, Document.status == DocumentStatus.pending)
    if not thoroughly:
        query = query.where(
            or_(Document.valid_from < 0, Document.valid_until < 0, Document.kind < 0, Document.kind > 255)
        )
    with ctx.sessions() as s:
        rejected = [(d, reason) for d in s.scalars(query.limit(10_000)) if (reason := unanchorable(d))]
        for doc, reason in rejected:
            still_pending = update(Document).where(Document.id == doc.id, Document.status == DocumentStatus.pending)
            if rowcount(s.execute(still_pending.values(status=DocumentStatus.failed, failure=reason))) == 1:
                audit(s, issuer, "worker", "document.failed", doc.id, {"reason": reason})
                log.error("%s: document %s failed: %s", issuer, doc.id, reason)
        s.commit()
    return bool(rejected)


def seal_confirmed(ctx: WorkerContext, issuer: str) -> bool:
    """Sign and store the seals of the issuer's confirmed documents that have none yet."""
    with ctx.sessions() as s:
        docs = list(
            s.scalars(
                select(Document)
                .where(Document.issuer == issuer, Document.status == DocumentStatus.confirmed, Document.seal.is_(None))
                .limit(SEALS_PER_PASS)
            )
        )
        if not docs:
            return False
        signer = ctx.keys.signer(issuer)
        by_batch: dict[str, list[Document]] = {}
        for d in docs:
            by_batch.setdefault(d.batch_id or "", []).append(d)
        for batch_id, group in by_batch.items():
            batch = s.get(Batch, batch_id)
            assert batch is not None and batch.block_number is not None
            receipts = receipts_of(s, batch, group, ctx.deployment, signer.address)
            anchored_at = int(ctx.w3.eth.get_block(batch.block_number)["timestamp"])
            for d in group:
                try:
                    d.seal = signer.seal(receipts[d.id], d.fields or {}, anchored_at)
                except InvalidFields as exc:  # cannot happen for fields the leaf binds; said, not retried
                    d.seal = ""
                    log.error("%s: no seal for document %s: %s", issuer, d.id, exc)
        s.commit()
    return True
