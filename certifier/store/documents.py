"""The issuer service's operations on documents, independent of HTTP: submit, batch, receipt,
revoke. Every function works inside the caller's session and leaves committing to it, so that an
API call is all-or-nothing."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from certifier.chain.merkle_batch import MerkleBatch
from certifier.errors import RequestError
from certifier.store.db import Batch, Document, Revocation, audit, new_id, now, rowcount
from verifier.chain import Reason
from verifier.core.fields import fields_sha256
from verifier.core.merkle import LeafValues
from verifier.core.receipt import Receipt
from verifier.credentials.verify import credential_sha256

if TYPE_CHECKING:
    from certifier.chain.deployment import Deployment

#: Builds the unsigned credentials (CREDENTIAL.md §3) of (document, its leaf index) pairs of one
#: issuer's batch being formed; certifier.credentials.batching.CredentialMaker is the one used.
CredentialBuilder = Callable[[str, Sequence[tuple[Document, int]]], list[dict[str, Any]]]


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
    credential: bool = False  # also issue it as a Verifiable Credential (CREDENTIAL.md)


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
            wants_credential=item.credential,
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


def credential_leaf_of(doc: Document) -> LeafValues:
    """The leaf of the document's credential: the next index, the document's kind, dates and
    displayed fields, the credential's own fingerprint and salt (CREDENTIAL.md §5)."""
    assert doc.batch_index is not None and doc.credential_sha256 is not None and doc.credential_salt is not None
    return LeafValues(
        bytes.fromhex(doc.credential_sha256),
        bytes.fromhex(doc.credential_salt),
        doc.batch_index + 1,
        doc.kind,
        doc.valid_from,
        doc.valid_until,
        fields_sha256(doc.fields or {}),
    )


def batch_leaves(docs: Sequence[Document]) -> list[LeafValues]:
    """Every leaf of a batch, `docs` in leaf order: each document's, then its credential's when it
    has one (a batch of documents that all have one: document i at 2i, its credential at 2i + 1)."""
    leaves = []
    for d in docs:
        leaves.append(leaf_of(d))
        if d.credential_sha256 is not None:
            leaves.append(credential_leaf_of(d))
    return leaves


def _make_batch(
    session: Session,
    issuer: str,
    kind: int,
    docs: Sequence[Document],
    actor: str,
    credentials: CredentialBuilder | None,
) -> Batch:
    """Turn pending `docs` into one batch, atomically: if another process took any of them first,
    raise Conflict and let the caller roll back. A document that asked for a credential gets it
    built (unsigned) by `credentials`, with the next leaf."""
    batch_id = new_id()
    index, wanted = 0, []
    for doc in docs:
        doc.batch_index = index  # written by the session's flush, within this transaction
        index += 1
        if doc.wants_credential:
            wanted.append((doc, doc.batch_index))
            index += 1
    if wanted:
        if credentials is None:
            raise Conflict("documents asking for a credential are batched by the service or the worker")
        for (doc, _), body in zip(wanted, credentials(issuer, wanted), strict=True):
            doc.credential_body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            doc.credential_salt = secrets.token_bytes(32).hex()
            doc.credential_sha256 = credential_sha256(body).hex()
    merkle = MerkleBatch.from_leaves(kind, batch_leaves(docs))
    root = "0x" + merkle.root.hex()
    # document_count is the batch's leaf count (what the registry bounds indices by): credentials included
    batch = Batch(id=batch_id, issuer=issuer, kind=kind, root=root, document_count=index, status="built")
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
    detail = {"root": root, "documents": len(docs), "kind": kind}
    if wanted:
        detail["credentials"] = len(wanted)
    audit(session, issuer, actor, "batch.recorded", batch_id, detail)
    return batch


def form_batches(
    session: Session,
    issuer: str,
    *,
    batch_size: int,
    max_age: float,
    force: bool = False,
    actor: str = "worker",
    credentials: CredentialBuilder | None = None,
) -> list[Batch]:
    """Batch the issuer's pending documents that are due: `batch_size` of one kind, or any whose
    oldest has waited `max_age` seconds, or all of them when `force`. (A batch of documents with
    credentials holds up to twice `batch_size` leaves.)"""
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
            made.append(_make_batch(session, issuer, kind, docs, actor, credentials))
            count -= len(docs)
            if count < batch_size and not force:
                oldest = now()  # the rest were submitted after the oldest one batched
    return made


def batch_documents(
    session: Session,
    issuer: str,
    docs: Sequence[Document],
    actor: str,
    credentials: CredentialBuilder | None = None,
) -> Batch:
    """One batch of exactly `docs` (a roster), whatever the batch size."""
    kinds = {d.kind for d in docs}
    if len(kinds) != 1:
        raise Conflict("a batch holds documents of one kind")
    session.flush()
    return _make_batch(session, issuer, kinds.pop(), docs, actor, credentials)


def raise_if_not_confirmed(doc: Document) -> None:
    if doc.status != "confirmed":
        raise Conflict(f"document {doc.id} is {doc.status}; its receipt exists once it is confirmed")


#: Merkle trees of confirmed batches, rebuilt from their documents once and kept (a confirmed batch
#: never changes), so that each receipt of a batch does not cost the whole tree again. Bounded by
#: leaves, not batches: a tree takes ~0.6 KB a leaf, and 64 batches of 100,000 would be 4 GB.
_tree_cache: dict[str, MerkleBatch] = {}
TREE_CACHE_LEAVES = 100_000  # ~60 MB a process at most


def receipts_for_batch(session: Session, batch: Batch, deployment: Deployment, issuer_key: str) -> dict[str, Receipt]:
    """Receipts (with proofs) of every document of a confirmed batch, by document id."""
    return batch_receipts(session, batch, deployment, issuer_key)[0]


def batch_receipts(
    session: Session, batch: Batch, deployment: Deployment, issuer_key: str
) -> tuple[dict[str, Receipt], dict[str, Receipt]]:
    """Receipts of a confirmed batch's documents, and of their credentials, by document id."""
    docs = list(session.scalars(select(Document).where(Document.batch_id == batch.id).order_by(Document.batch_index)))
    merkle = _tree_cache.get(batch.id)
    if merkle is None:
        merkle = MerkleBatch.from_leaves(batch.kind, batch_leaves(docs))
        if "0x" + merkle.root.hex() != batch.root:
            raise RuntimeError(f"batch {batch.id}: stored documents do not rebuild root {batch.root}")
        if sum(len(m.leaves) for m in _tree_cache.values()) + len(merkle.leaves) > TREE_CACHE_LEAVES:
            _tree_cache.clear()
        if len(merkle.leaves) <= TREE_CACHE_LEAVES:
            _tree_cache[batch.id] = merkle
    assert batch.tx_hash and batch.block_hash and batch.block_number is not None
    receipts = merkle.receipts(
        chain_id=deployment.chain_id,
        registry=deployment.registry,
        transaction_hash=bytes.fromhex(batch.tx_hash[2:]),
        block_number=batch.block_number,
        block_hash=bytes.fromhex(batch.block_hash[2:]),
        issuer_key=issuer_key,
    )
    documents = {d.id: receipts[d.batch_index] for d in docs if d.batch_index is not None}
    credentials = {d.id: receipts[d.batch_index + 1] for d in docs if d.batch_index is not None and d.credential_sha256}
    return documents, credentials


def revoked_leaves(doc: Document, replaced_by: str | None) -> list[int]:
    """The leaves revoking `doc` revokes: its own and its credential's, in one transaction. With a
    replacement, its own only (only `revoke` records one): its credential then counts as revoked
    through it, for Sceau's verifier and the status list alike (CREDENTIAL.md §6)."""
    assert doc.batch_index is not None
    if doc.credential_sha256 is not None and replaced_by is None:
        return [doc.batch_index, doc.batch_index + 1]
    return [doc.batch_index]


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
            indices=sorted(i for d in group for i in revoked_leaves(d, replaced_by)),
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
