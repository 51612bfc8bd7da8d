"""Keyset pages of what grows without bound (batches, the audit log, documents): a page costs an
index read of its own rows, the same with ten rows or ten million, where OFFSET would read and
throw away every row before the page.

Each function returns one page and the key of the next (None on the last page); the API's
`before` / `after` parameters carry that key. Each query reads one index of migration 0006
(tests/test_store_scale.py pins the plans)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from certifier.store.db import AuditEntry, Batch, Document

T = TypeVar("T")
K = TypeVar("K")


@dataclass(frozen=True)
class Page(Generic[T, K]):
    rows: list[T]
    #: where the next page starts (pass it back as `before` / `after`); None: this is the last
    next: K | None


class UnknownPageKey(LookupError):
    """The page key names no row of this issuer (a forged or stale `before`): a 400 for the API."""


def batches_page(session: Session, issuer: str, *, before: str | None = None, limit: int = 100) -> Page[Batch, str]:
    """The issuer's batches, newest first, `limit` of them from just after batch `before`
    (ix_batches_issuer_created: issuer, created_at, id). UnknownPageKey for a `before` that names
    no batch of the issuer."""
    rows = list(session.scalars(batches_query(session, issuer, before=before, limit=limit)))
    return Page(rows, rows[-1].id if len(rows) == limit else None)


def batches_query(session: Session, issuer: str, *, before: str | None, limit: int) -> Select[Batch]:
    return _newest_first(session, Batch, "batch", issuer, before=before, limit=limit)


M = TypeVar("M", Batch, Document)


def _newest_first(
    session: Session, model: type[M], noun: str, issuer: str, *, before: str | None, limit: int
) -> Select[M]:
    """The issuer's rows of `model`, newest first, from just after row `before`, on the index
    (issuer, created_at, id): the id breaks ties among the rows of one instant."""
    query = select(model).where(model.issuer == issuer)
    if before is not None:
        last = session.get(model, before)
        if last is None or last.issuer != issuer:
            raise UnknownPageKey(f"no {noun} {before!r} of this issuer to page from")
        query = query.where(tuple_(model.created_at, model.id) < tuple_(last.created_at, last.id))
    return query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)


def audit_page(session: Session, issuer: str, *, after: int = 0, limit: int = 100) -> Page[AuditEntry, int]:
    """The issuer's audit entries in order, `limit` of them after entry `after` (ix_audit_issuer_id)."""
    rows = list(session.scalars(audit_query(issuer, after=after, limit=limit)))
    return Page(rows, rows[-1].id if len(rows) == limit else None)


def audit_query(issuer: str, *, after: int, limit: int) -> Select[AuditEntry]:
    return (
        select(AuditEntry)
        .where(AuditEntry.issuer == issuer, AuditEntry.id > after)
        .order_by(AuditEntry.id)
        .limit(limit)
    )


def documents_page(
    session: Session, issuer: str, *, before: str | None = None, limit: int = 100
) -> Page[Document, str]:
    """The issuer's documents, newest first, `limit` of them from just after document `before`
    (ix_documents_issuer_created: issuer, created_at, id; the id breaks ties among the rows of one
    instant). UnknownPageKey for a `before` that names no document of the issuer."""
    rows = list(session.scalars(documents_query(session, issuer, before=before, limit=limit)))
    return Page(rows, rows[-1].id if len(rows) == limit else None)


def documents_query(session: Session, issuer: str, *, before: str | None, limit: int) -> Select[Document]:
    return _newest_first(session, Document, "document", issuer, before=before, limit=limit)


#: the audit actions `sceau status` reports as the last failure
FAILURE_ACTIONS = ("document.failed", "transaction.failed", "issuer.held")


def last_of(action: str) -> Select[AuditEntry]:
    """The newest audit entry of `action`: one probe of ix_audit_action_id (action, id)."""
    return select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1)
