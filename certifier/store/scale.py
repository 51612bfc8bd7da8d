"""The store's queries that must stay cheap with millions of documents, and how to see their
plans: scripts/bench_store.py times and explains them on a filled database, and
tests/test_store_scale.py pins that each reads an index, not the whole table.

Each statement is the one its caller runs (named in `source`); pages.py's are built by the same
functions the pages use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from certifier.store.db import Batch, Document
from certifier.store.documents import LEAF_COLUMNS
from certifier.store.pages import FAILURE_ACTIONS, audit_query, batches_query, documents_query, last_of
from certifier.store.states import DocumentStatus

#: the tables that grow with history; a full scan of any of them is a failure
BIG_TABLES = ("documents", "batches", "audit")


@dataclass(frozen=True)
class Keys:
    """Rows the queries are asked about: an issuer with pending documents, a document, a batch and
    an audit entry somewhere in the middle of its history."""

    issuer: str
    document_id: str
    batch_id: str
    audit_id: int
    kind: int = 1


@dataclass(frozen=True)
class NamedQuery:
    name: str
    source: str
    build: Callable[[Session, Keys], Select[*tuple[Any, ...]]]


def _pending_issuers(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return select(Document.issuer).where(Document.status == DocumentStatus.pending).distinct()


def _unsealed_issuers(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return (
        select(Document.issuer).where(Document.status == DocumentStatus.confirmed, Document.seal.is_(None)).distinct()
    )


def _unsigned_issuers(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return (
        select(Document.issuer)
        .where(
            Document.status == DocumentStatus.confirmed,
            Document.credential_sha256.is_not(None),
            Document.credential_signed_at.is_(None),
        )
        .distinct()
    )


def _pending_by_kind(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return (
        select(Document.kind, func.count(), func.min(Document.created_at))
        .where(Document.issuer == k.issuer, Document.status == DocumentStatus.pending)
        .group_by(Document.kind)
    )


def _batch_candidates(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return (
        select(Document)
        .where(Document.issuer == k.issuer, Document.status == DocumentStatus.pending, Document.kind == k.kind)
        .order_by(Document.created_at, Document.id)
        .limit(1000)
    )


def _queue_health(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return select(func.count(), func.min(Document.created_at)).where(Document.status == DocumentStatus.pending)


def _document(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return select(Document).where(Document.id == k.document_id)


def _batch_documents(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return select(*LEAF_COLUMNS).where(Document.batch_id == k.batch_id).order_by(Document.batch_index)


def _batches_page(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return batches_query(s, k.issuer, before=k.batch_id, limit=100)


def _audit_page(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return audit_query(k.issuer, after=k.audit_id, limit=100)


def _documents_page(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return documents_query(s, k.issuer, before=k.document_id, limit=100)


def _last_failure(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return last_of(FAILURE_ACTIONS[0])


def _revocation_documents(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    return select(Document.id).where(Document.revocation_id == k.document_id)


def _issuer_batches_in_flight(s: Session, k: Keys) -> Select[*tuple[Any, ...]]:
    from certifier.store.states import IN_FLIGHT

    return select(Batch).where(Batch.issuer == k.issuer, Batch.status.in_(IN_FLIGHT))


QUERIES = (
    NamedQuery("issuers with pending documents", "worker/anchoring.py _issuers_with_work", _pending_issuers),
    NamedQuery("issuers with documents to seal", "worker/anchoring.py _issuers_with_work", _unsealed_issuers),
    NamedQuery("issuers with credentials to sign", "worker/anchoring.py _issuers_with_work", _unsigned_issuers),
    NamedQuery("pending documents by kind", "store/documents.py form_batches", _pending_by_kind),
    NamedQuery("a batch's documents to be", "store/documents.py form_batches", _batch_candidates),
    NamedQuery("queue count and oldest", "service/health.py store_health", _queue_health),
    NamedQuery("a document's status", "GET /api/v1/documents/{id}", _document),
    NamedQuery("a batch's leaves (receipts)", "store/documents.py batch_tree", _batch_documents),
    NamedQuery("a page of batches", "store/pages.py batches_page", _batches_page),
    NamedQuery("a page of the audit log", "store/pages.py audit_page", _audit_page),
    NamedQuery("a page of documents", "store/pages.py documents_page", _documents_page),
    NamedQuery("the last failure (of one kind)", "cli/service.py status", _last_failure),
    NamedQuery("a revocation's documents", "worker/jobs.py", _revocation_documents),
    NamedQuery("an issuer's batches in flight", "worker/anchoring.py", _issuer_batches_in_flight),
)


def explain(session: Session, statement: Select[*tuple[Any, ...]]) -> list[str]:
    """The database's plan for `statement`, a line per step: EXPLAIN on PostgreSQL, EXPLAIN QUERY
    PLAN on SQLite."""
    connection = session.connection()
    # values inline: a plan for these very values (and IN lists expanded), as the query would get
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return [str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()]
    return [str(row[0]) for row in connection.exec_driver_sql("EXPLAIN " + sql).all()]


def full_scans(plan: list[str]) -> list[str]:
    """The steps of `plan` that read a whole big table: `Seq Scan on documents` (PostgreSQL),
    `SCAN documents` without an index (SQLite)."""
    bad = []
    for line in plan:
        text = line.strip().lstrip("->").strip()
        for table in BIG_TABLES:
            if text.startswith(f"Seq Scan on {table}") or (
                text.startswith(f"SCAN {table}") and "INDEX" not in text.upper()
            ):
                bad.append(line.strip())
    return bad
