"""The issuer service's operations on documents, independent of HTTP: submit, batch, receipt,
revoke. Every function works inside the caller's session and leaves committing to it, so that an
API call is all-or-nothing."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from certifier.chain.deployment import Deployment
from certifier.chain.merkle_batch import MerkleBatch
from certifier.errors import RequestError
from certifier.store.db import Batch, Document, Revocation, audit, new_id, now, rowcount
from verifier.chain import Reason
from verifier.core.fields import fields_sha256
from verifier.core.merkle import LeafValues
from verifier.core.receipt import Receipt


class Conflict(RequestError):
    """The request cannot apply to the documents in their current state."""

    status = 409


@dataclass(frozen=True)
class NewDocument:
    sha256: bytes
    kind: int
    valid_from: int
    valid_until: int = 0
    reference: str | None = None
    meta: dict[str, Any] | None = None
    filename: str | None = None
    fields: dict[str, str] | None = None  # displayed fields, normalised (verifier.core.fields)


def submit(session: Session, issuer: str, items: Sequence[NewDocument], actor: str) -> list[Document]:
    docs = [
        Document(
            id=new_id(),
            issuer=issuer,
            sha256=item.sha256.hex(),
            salt=secrets.token_bytes(32).hex(),
            kind=item.kind,
            valid_from=item.valid_from,
            valid_until=item.valid_until,
            reference=item.reference,
            meta=item.meta,
            filename=item.filename,
            fields=item.fields,
            status="pending",
            created_at=now(),
        )
        for item in items
    ]
    session.add_all(docs)
    audit(session, issuer, actor, "documents.submitted", None, {"count": len(docs), "ids": [d.id for d in docs][:100]})
    return docs


def leaf_of(doc: Document) -> LeafValues:
    assert doc.batch_index is not None
    return LeafValues(
        bytes.fromhex(doc.sha256),
        bytes.fromhex(doc.salt),
        doc.batch_index,
        doc.kind,
        doc.valid_from,
        doc.valid_until,
        fields_sha256(doc.fields or {}),
    )


def _make_batch(session: Session, issuer: str, kind: int, docs: Sequence[Document], actor: str) -> Batch:
    """Turn pending `docs` into one batch, atomically: if another process took any of them first,
    raise Conflict and let the caller roll back."""
    batch_id = new_id()
    for i, doc in enumerate(docs):
        doc.batch_index = i  # written by the session's flush, within this transaction
    merkle = MerkleBatch.from_leaves(kind, [leaf_of(d) for d in docs])
    root = "0x" + merkle.root.hex()
    batch = Batch(id=batch_id, issuer=issuer, kind=kind, root=root, document_count=len(docs), status="built")
    session.add(batch)
    session.flush()
    ids = [d.id for d in docs]
    taken = 0
    for start in range(0, len(ids), 5000):  # one compare-and-set per slice of ids
        chunk = ids[start : start + 5000]
        taken += rowcount(
            session.execute(
                update(Document)
                .where(Document.id.in_(chunk), Document.status == "pending")
                .values(status="anchoring", batch_id=batch_id)
                .execution_options(synchronize_session=False)
            )
        )
    if taken != len(ids):
        raise Conflict("some documents were batched by another process")
    audit(session, issuer, actor, "batch.recorded", batch_id, {"root": root, "documents": len(docs), "kind": kind})
    return batch


def form_batches(
    session: Session, issuer: str, *, batch_size: int, max_age: float, force: bool = False, actor: str = "worker"
) -> list[Batch]:
    """Batch the issuer's pending documents that are due: `batch_size` of one kind, or any whose
    oldest has waited `max_age` seconds, or all of them when `force`."""
    made: list[Batch] = []
    kinds = session.execute(
        select(Document.kind, func.count(), func.min(Document.created_at))
        .where(Document.issuer == issuer, Document.status == "pending")
        .group_by(Document.kind)
    ).all()
    for kind, count, oldest in kinds:
        while count > 0 and (force or count >= batch_size or now() - oldest >= max_age):
            docs = list(
                session.scalars(
                    select(Document)
                    .where(Document.issuer == issuer, Document.status == "pending", Document.kind == kind)
                    .order_by(Document.created_at, Document.id)
                    .limit(batch_size)
                )
            )
            if not docs:
                break
            made.append(_make_batch(session, issuer, kind, docs, actor))
            count -= len(docs)
            if count < batch_size and not force:
                oldest = now()  # the rest were submitted after the oldest one batched
    return made


def batch_documents(session: Session, issuer: str, docs: Sequence[Document], actor: str) -> Batch:
    """One batch of exactly `docs` (a roster), whatever the batch size."""
    kinds = {d.kind for d in docs}
    if len(kinds) != 1:
        raise Conflict("a batch holds documents of one kind")
    session.flush()
    return _make_batch(session, issuer, kinds.pop(), docs, actor)


def raise_if_not_confirmed(doc: Document) -> None:
    if doc.status != "confirmed":
        raise Conflict(f"document {doc.id} is {doc.status}; its receipt exists once it is confirmed")


_tree_cache: dict[str, MerkleBatch] = {}


def receipts_for_batch(session: Session, batch: Batch, deployment: Deployment, issuer_key: str) -> dict[str, Receipt]:
    """Receipts (with proofs) of every document of a confirmed batch, by document id."""
    docs = list(session.scalars(select(Document).where(Document.batch_id == batch.id).order_by(Document.batch_index)))
    merkle = _tree_cache.get(batch.id)
    if merkle is None:
        merkle = MerkleBatch.from_leaves(batch.kind, [leaf_of(d) for d in docs])
        if "0x" + merkle.root.hex() != batch.root:
            raise RuntimeError(f"batch {batch.id}: stored documents do not rebuild root {batch.root}")
        if len(_tree_cache) > 64:
            _tree_cache.clear()
        _tree_cache[batch.id] = merkle  # a confirmed batch never changes
    assert batch.tx_hash and batch.block_hash and batch.block_number is not None
    receipts = merkle.receipts(
        chain_id=deployment.chain_id,
        registry=deployment.registry,
        transaction_hash=bytes.fromhex(batch.tx_hash[2:]),
        block_number=batch.block_number,
        block_hash=bytes.fromhex(batch.block_hash[2:]),
        issuer_key=issuer_key,
    )
    return {d.id: r for d, r in zip(docs, receipts, strict=True)}


def queue_revocations(
    session: Session, issuer: str, docs: Sequence[Document], reason: Reason, replaced_by: str | None, actor: str
) -> list[Revocation]:
    """One revocation (one transaction) per batch touched. Documents must be anchored and not revoked."""
    problems = []
    for d in docs:
        if d.status not in ("anchored", "confirmed"):
            problems.append(f"document {d.id} is {d.status}: only anchored documents can be revoked")
        elif d.revocation_id is not None:
            problems.append(f"document {d.id} is already revoked or being revoked")
    if problems:
        raise Conflict("; ".join(problems))
    by_batch: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        assert d.batch_id is not None
        by_batch[d.batch_id].append(d)
    made = []
    for batch_id, group in by_batch.items():
        rev = Revocation(
            id=new_id(),
            issuer=issuer,
            batch_id=batch_id,
            indices=sorted(d.batch_index for d in group if d.batch_index is not None),
            reason=int(reason),
            replaced_by=replaced_by,
            status="built",
        )
        session.add(rev)
        session.flush()
        for d in group:
            d.revocation_id = rev.id
        audit(
            session,
            issuer,
            actor,
            "revocation.recorded",
            rev.id,
            {"batch": batch_id, "documents": [d.id for d in group], "reason": reason.slug},
        )
        made.append(rev)
    return made
