"""The issuer service's store: SQLAlchemy 2 models, the engine, and migrations (Alembic).

SQLite in WAL mode under ``$SCEAU_HOME`` is the embedded default; PostgreSQL is selected with
``SCEAU_DATABASE_URL`` (``postgresql+psycopg://…``). Every state change the anchoring worker makes
is committed before the action it announces (see certifier/worker/), so that a crash at any point can be
resumed from the database alone.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    false,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from certifier.config import home
from certifier.store.states import DocumentStatus, TxStatus


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


def _status(states: type[TxStatus] | type[DocumentStatus]) -> Enum:
    """A status column: VARCHAR(16) holding the state's value, as before it was typed (no
    migration), read back as the enum."""
    return Enum(
        states,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[int]: JSON}


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(200), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class ConsoleSession(Base):
    """A console login: the browser's cookie holds only this row's id (signed), so logging out,
    expiry or revoking the token ends the session on the server, whatever copies of the cookie
    exist."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("tokens.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    seen_at: Mapped[float] = mapped_column(Float, default=now)
    ended_at: Mapped[float | None] = mapped_column(Float)


class TxState:
    """The columns of a chain transaction's life, shared by anchors (batches) and revocations.

    status: built → signed (hash and nonce recorded, not yet broadcast) → sent → mined → confirmed,
    or failed with ``last_error`` (the moves allowed: store/states.py)."""

    status: Mapped[TxStatus] = mapped_column(_status(TxStatus), index=True, default=TxStatus.built)
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[str | None] = mapped_column(Text)
    max_fee: Mapped[int | None] = mapped_column(BigInteger)
    priority_fee: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[float | None] = mapped_column(Float)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    confirmed_at: Mapped[float | None] = mapped_column(Float)


def _partial(where: str) -> dict[str, Any]:
    """A partial index's condition, on both databases (migration 0006 makes the same)."""
    return {"postgresql_where": text(where), "sqlite_where": text(where)}


class Batch(TxState, Base):
    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(66), unique=True)
    document_count: Mapped[int] = mapped_column(Integer)

    # the indexes of migration 0006 say which queries each serves
    __table_args__ = (Index("ix_batches_issuer_created", "issuer", "created_at", "id"),)


class Revocation(TxState, Base):
    __tablename__ = "revocations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(200), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    indices: Mapped[list[int]] = mapped_column(JSON)
    reason: Mapped[int] = mapped_column(Integer)
    replaced_by: Mapped[str | None] = mapped_column(String(66))


class Transaction(Base):
    """Every transaction ever signed, recorded before it is broadcast: a replacement (same nonce,
    higher fee) adds a row, so the worker can look for whichever one was mined."""

    __tablename__ = "transactions"
    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(200))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    revocation_id: Mapped[str | None] = mapped_column(ForeignKey("revocations.id"), index=True)
    nonce: Mapped[int] = mapped_column(BigInteger)
    max_fee: Mapped[int] = mapped_column(BigInteger)
    priority_fee: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(64))
    kind: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # displayed fields bound in the leaf
    filename: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[DocumentStatus] = mapped_column(_status(DocumentStatus), default=DocumentStatus.pending)
    failure: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), index=True)
    batch_index: Mapped[int | None] = mapped_column(Integer)
    revocation_id: Mapped[str | None] = mapped_column(ForeignKey("revocations.id"))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    #: The seal text (``SC1:…``), signed by the worker when it confirms the batch: the web process
    #: makes certified copies from it and never needs the issuer's key.
    seal: Mapped[str | None] = mapped_column(Text)
    #: A Verifiable Credential was asked for (CREDENTIAL.md): when the document is batched, its
    #: credential is built (unsigned, no key needed) and gets the next leaf, ``batch_index + 1``,
    #: with its own salt and fingerprint; once the batch is confirmed the worker embeds the
    #: credential's receipt and signs it with the issuer's Ed25519 key.
    wants_credential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    credential_salt: Mapped[str | None] = mapped_column(String(64))
    credential_sha256: Mapped[str | None] = mapped_column(String(64))
    credential_body: Mapped[str | None] = mapped_column(Text, deferred=True)  # unsigned, no receipt
    credential: Mapped[str | None] = mapped_column(Text, deferred=True)  # signed, receipt embedded
    credential_signed_at: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_documents_issuer_status_created", "issuer", "status", "created_at"),
        # the indexes of migration 0006 say which queries each serves
        Index("ix_documents_status_issuer_created", "status", "issuer", "created_at"),
        Index("ix_documents_pending_by_kind", "issuer", "status", "kind", "created_at", "id"),
        Index("ix_documents_revocation_id", "revocation_id", **_partial("revocation_id IS NOT NULL")),
        Index("ix_documents_unsealed", "status", "issuer", **_partial("seal IS NULL")),
        Index(
            "ix_documents_unsigned_credentials",
            "status",
            "issuer",
            **_partial("credential_sha256 IS NOT NULL AND credential_signed_at IS NULL"),
        ),
        Index("ix_documents_issuer_created", "issuer", "created_at", "id"),
    )


class Lease(Base):
    """Who holds an issuer's nonce: one worker at a time, for a short renewable period."""

    __tablename__ = "leases"
    issuer: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)


class IssuerState(Base):
    """Why the worker cannot go on for an issuer right now (key locked, out of funds, chain
    unreachable…), kept until it can: what `sceau status`, the API and /healthz show."""

    __tablename__ = "issuer_states"
    issuer: Mapped[str] = mapped_column(String(200), primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    failures: Mapped[int] = mapped_column(Integer, default=1)
    retry_at: Mapped[float] = mapped_column(Float, default=now)


class WorkerBeat(Base):
    """A worker's heartbeat, renewed every pass: /healthz and `sceau status` tell a live worker
    from a dead one by it."""

    __tablename__ = "workers"
    holder: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[float] = mapped_column(Float, default=now)
    seen_at: Mapped[float] = mapped_column(Float, default=now)
    chain_error: Mapped[str | None] = mapped_column(Text)


class IdempotentResponse(Base):
    __tablename__ = "idempotency"
    issuer: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class AuditEntry(Base):
    """Append-only (triggers refuse UPDATE and DELETE): who did what, when, with which transaction."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, default=now)
    issuer: Mapped[str] = mapped_column(String(200), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(String(66))

    # the indexes of migration 0006 say which queries each serves
    __table_args__ = (Index("ix_audit_issuer_id", "issuer", "id"), Index("ix_audit_action_id", "action", "id"))


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (SQLAlchemy types execute() as a plain Result)."""
    return int(result.rowcount)


def audit(
    session: Session,
    issuer: str,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
    tx_hash: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            issuer=issuer,
            actor=actor,
            action=action,
            subject=subject,
            detail=json.dumps(detail, sort_keys=True) if detail else None,
            tx_hash=tx_hash,
        )
    )


# ---------------------------------------------------------------- engine


def database_url(explicit: str | None = None) -> str:
    import os

    url = explicit or os.environ.get("SCEAU_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(home()) / 'sceau.sqlite'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


#: The newest migration's revision (migrations/versions/). A test holds it to alembic's own head.
SCHEMA_HEAD = "0006"


def at_head(url: str) -> bool:
    """Whether the database's schema is already at SCHEMA_HEAD: one query, without importing
    alembic, which would cost every web process about 10 MiB and 0.15 s for nothing."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [SCHEMA_HEAD]
    except SQLAlchemyError:  # no alembic_version table yet, or no database: alembic will say
        return False
    finally:
        engine.dispose()


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    if at_head(url):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url), expire_on_commit=False)
