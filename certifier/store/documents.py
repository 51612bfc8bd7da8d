"""The issuer service's operations on documents, independent of HTTP: submit, batch, receipt,
revoke. Every function works inside the caller's session and leaves committing to it, so that an
API call is all-or-nothing."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from certifier.chain.merkle_batch import MerkleBatch
from certifier.errors import RequestError
from certifier.store.db import Batch, Document, Revocation, audit, new_id, now, rowcount
from verifier.chain import Reason
from verifier.core.fields import fields_sha256
from verifier.core.merkle import LeafValues, MerkleTree, leaf_hash
from verifier.core.receipt import Anchor, Receipt
from verifier.credentials.verify import credential_sha256

if TYPE_CHECKING:
    from certifier.chain.deployment import Deployment


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


class LeafColumns(Protocol):
    """What a leaf is made of: a Document, or a row of LEAF_COLUMNS."""

    @property
    def sha256(self) -> str: ...
    @property
    def salt(self) -> str: ...
    @property
    def batch_index(self) -> int | None: ...
    @property
    def kind(self) -> int: ...
    @property
    def valid_from(self) -> int: ...
    @property
    def valid_until(self) -> int: ...
    @property
    def fields(self) -> dict[str, Any] | None: ...
    @property
    def credential_sha256(self) -> str | None: ...
    @property
    def credential_salt(self) -> str | None: ...


#: What a leaf is made of (leaf_of, credential_leaf_of): a batch's tree is built from these columns
#: alone, never from whole Document entities (~3 KB each in SQLAlchemy's identity map, where a web
#: process answering one receipt of a batch of 10,000 grew by 30 MB).
LEAF_COLUMNS = (
    Document.sha256,
    Document.salt,
    Document.batch_index,
    Document.kind,
    Document.valid_from,
    Document.valid_until,
    Document.fields,
    Document.credential_sha256,
    Document.credential_salt,
)


def leaf_of(doc: LeafColumns) -> LeafValues:
    assert doc.batch_index is not None
    return _leaf(doc.sha256, doc.salt, doc.batch_index, doc)


def credential_leaf_of(doc: LeafColumns) -> LeafValues:
    """The leaf of the document's credential: the next index, the document's kind, dates and
    displayed fields, the credential's own fingerprint and salt (CREDENTIAL.md §5)."""
    assert doc.batch_index is not None and doc.credential_sha256 is not None and doc.credential_salt is not None
    return _leaf(doc.credential_sha256, doc.credential_salt, doc.batch_index + 1, doc)


def _leaf(sha256: str, salt: str, index: int, doc: LeafColumns) -> LeafValues:
    return LeafValues(
        bytes.fromhex(sha256),
        bytes.fromhex(salt),
        index,
        doc.kind,
        doc.valid_from,
        doc.valid_until,
        fields_sha256(doc.fields or {}),
    )


def batch_leaves(docs: Sequence[LeafColumns]) -> list[LeafValues]:
    """Every leaf of a batch, `docs` in leaf order: each document's, then its credential's when it
    has one (a batch of documents that all have one: document i at 2i, its credential at 2i + 1)."""
    leaves = []
    for d in docs:
        leaves.append(leaf_of(d))
        if d.credential_sha256 is not None:
            leaves.append(credential_leaf_of(d))
    return leaves


class PendingColumns(LeafColumns, Protocol):
    """What forming a batch reads of a pending document: a Document, or a row of PENDING_COLUMNS."""

    @property
    def id(self) -> str: ...
    @property
    def wants_credential(self) -> bool: ...


#: Builds the unsigned credentials (CREDENTIAL.md §3) of (document, its leaf index) pairs of one
#: issuer's batch being formed; certifier.credentials.batching.CredentialMaker is the one used.
CredentialBuilder = Callable[[str, Sequence[tuple[PendingColumns, int]]], list[dict[str, Any]]]


#: A pending document's columns, all that forming a batch needs: a batch of 10,000 is formed from
#: rows, not from Document entities (~3 KB each in the session), which grew the web process that
#: formed it (POST /batches) by 40 MB.
PENDING_COLUMNS = (Document.id, Document.wants_credential, *LEAF_COLUMNS)


def _make_batch(
    session: Session,
    issuer: str,
    kind: int,
    docs: Sequence[PendingColumns],
    actor: str,
    credentials: CredentialBuilder | None,
) -> Batch:
    """Turn pending `docs` into one batch, atomically: if another process took any of them first,
    raise Conflict and let the caller roll back. A document that asked for a credential gets it
    built (unsigned) by `credentials`, with the next leaf."""
    batch_id = new_id()
    indices, wanted, index = [], [], 0
    for doc in docs:
        indices.append(index)
        if doc.wants_credential:
            wanted.append((doc, index))
            index += 1
        index += 1
    made: dict[str, dict[str, str]] = {}  # document id -> its credential's columns
    if wanted:
        if credentials is None:
            raise Conflict("documents asking for a credential are batched by the service or the worker")
        for (doc, _), body in zip(wanted, credentials(issuer, wanted), strict=True):
            made[doc.id] = {
                "c_body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                "c_salt": secrets.token_bytes(32).hex(),
                "c_sha256": credential_sha256(body).hex(),
            }
    leaves = []
    for doc, i in zip(docs, indices, strict=True):
        leaves.append(_leaf(doc.sha256, doc.salt, i, doc))
        if doc.id in made:
            leaves.append(_leaf(made[doc.id]["c_sha256"], made[doc.id]["c_salt"], i + 1, doc))
    root = "0x" + MerkleBatch.from_leaves(kind, leaves).root.hex()
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
    table = cast(Table, Document.__table__)
    session.execute(  # the documents are this batch's now: their places in it, in one executemany
        update(table).where(table.c.id == bindparam("doc")).values(batch_index=bindparam("index")),
        [{"doc": d, "index": i} for d, i in zip(ids, indices, strict=True)],
    )
    if made:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("doc"))
            .values(
                credential_body=bindparam("c_body"),
                credential_salt=bindparam("c_salt"),
                credential_sha256=bindparam("c_sha256"),
            ),
            [{"doc": d, **columns} for d, columns in made.items()],
        )
    for doc in docs:  # entities (a roster's): read again from the rows just written
        if isinstance(doc, Document) and doc in session:
            session.expire(doc)
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
            docs = session.execute(
                select(*PENDING_COLUMNS)
                .where(Document.issuer == issuer, Document.status == "pending", Document.kind == kind)
                .order_by(Document.created_at, Document.id)
                .limit(batch_size)
            ).all()
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


#: Merkle trees of confirmed batches, rebuilt once from their leaves' columns and kept (a confirmed
#: batch never changes), so that each receipt of a batch does not cost the whole tree again. Only
#: the tree is kept (~0.2 KB a leaf: its nodes and their positions), bounded by leaves, not batches.
_tree_cache: dict[str, MerkleTree] = {}
TREE_CACHE_LEAVES = 100_000  # ~20 MB a process at most


def batch_tree(session: Session, batch: Batch) -> MerkleTree:
    """The confirmed batch's Merkle tree, from the cache or rebuilt from its documents' leaves
    (which must give back its recorded root)."""
    tree = _tree_cache.get(batch.id)
    if tree is not None:
        return tree
    rows = session.execute(
        select(*LEAF_COLUMNS).where(Document.batch_id == batch.id).order_by(Document.batch_index)
    ).all()
    tree = MerkleTree.build([leaf_hash(leaf) for leaf in batch_leaves(rows)])
    if "0x" + tree.root.hex() != batch.root:
        raise RuntimeError(f"batch {batch.id}: stored documents do not rebuild root {batch.root}")
    leaves = tree.leaf_count
    if sum(t.leaf_count for t in _tree_cache.values()) + leaves > TREE_CACHE_LEAVES:
        _tree_cache.clear()
    if leaves <= TREE_CACHE_LEAVES:
        _tree_cache[batch.id] = tree
    return tree


def receipts_of(
    session: Session,
    batch: Batch,
    docs: Sequence[Document],
    deployment: Deployment,
    issuer_key: str,
    *,
    credentials: bool = False,
) -> dict[str, Receipt]:
    """The receipts (with proofs) of `docs`, documents of the confirmed `batch`, by document id; of
    their credentials' leaves with `credentials`. Costs one proof a document once the batch's tree
    is built."""
    assert batch.tx_hash and batch.block_hash and batch.block_number is not None
    tree = batch_tree(session, batch)
    anchor = Anchor(
        bytes.fromhex(batch.root[2:]),
        bytes.fromhex(batch.tx_hash[2:]),
        batch.block_number,
        bytes.fromhex(batch.block_hash[2:]),
        issuer_key,
        tree.leaf_count,
    )
    receipts = {}
    for d in docs:
        assert d.batch_id == batch.id
        leaf = credential_leaf_of(d) if credentials else leaf_of(d)
        receipts[d.id] = Receipt(
            deployment.chain_id, deployment.registry, anchor, leaf, tuple(tree.proof(leaf_hash(leaf)))
        )
    return receipts


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
