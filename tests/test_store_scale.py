"""The store stays cheap as history grows: every query the worker, the API and `sceau status` make
(certifier/store/scale.py) reads an index, never a whole documents, batches or audit table; pages
are keyset pages; migration 0006 makes exactly the indexes the models declare.

On SQLite always; on PostgreSQL too when one answers (SCEAU_TEST_DATABASE_URL, else the local
server), with sequential scans priced out so that a few thousand rows show the plan a million
would get: a query no index serves still gets its Seq Scan, and fails."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from certifier.store import scale
from certifier.store.db import AuditEntry, Base, Batch, Document, make_engine, upgrade
from certifier.store.pages import UnknownPageKey, audit_page, batches_page, documents_page
from verifier.core.merkle import leaf_hash, verify_proof

POSTGRESQL = os.environ.get("SCEAU_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOCS, PER_BATCH, ISSUERS = 3_000, 50, 6
T0 = 1_767_225_600.0


def _postgresql_admin() -> sa.Engine | None:
    admin = sa.create_engine(POSTGRESQL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            return admin
    except sa.exc.OperationalError:
        admin.dispose()
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated database holding a small history (see `_fill`)."""
    if request.param == "sqlite":
        url, admin = f"sqlite:///{tmp_path / 'scale.sqlite'}", None
    else:
        admin = _postgresql_admin()
        if admin is None:
            pytest.skip(f"no PostgreSQL at {POSTGRESQL}")
        name = f"sceau_scale_{os.getpid()}_{secrets.token_hex(3)}"
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
        url = POSTGRESQL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    engine = make_engine(url)
    try:
        _fill(engine)
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(sa.text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
            admin.dispose()


def issuer_of(i: int) -> str:
    return f"issuer-{(i // PER_BATCH) % ISSUERS}"


def _fill(engine: sa.Engine) -> None:
    """DOCS confirmed documents in batches of PER_BATCH, round-robin over ISSUERS issuers, an audit
    entry per 10 documents, and 100 pending documents of issuer-0."""
    batches = [
        {
            "id": f"b{b:04}",
            "issuer": issuer_of(b * PER_BATCH),
            "kind": 1,
            "root": "0x" + secrets.token_hex(32),
            "document_count": PER_BATCH,
            "status": "confirmed",
            "attempts": 1,
            "created_at": T0 + b,
        }
        for b in range(DOCS // PER_BATCH)
    ]
    docs = [
        {
            "id": f"d{i:05}",
            "issuer": issuer_of(i),
            "sha256": secrets.token_hex(32),
            "salt": secrets.token_hex(32),
            "kind": 1,
            "valid_from": 1_700_000_000,
            "valid_until": 0,
            "status": "confirmed" if i < DOCS else "pending",
            "batch_id": f"b{i // PER_BATCH:04}" if i < DOCS else None,
            "batch_index": i % PER_BATCH if i < DOCS else None,
            "created_at": T0 + i,
            "seal": "SC1:sealed" if i < DOCS else None,
            "wants_credential": False,
        }
        for i in range(DOCS + 100)
    ]
    for doc in docs[DOCS:]:
        doc["issuer"] = "issuer-0"
    entries = [
        {"at": T0 + i, "issuer": issuer_of(i), "actor": "worker", "action": "batch.recorded", "subject": None}
        for i in range(0, DOCS, 10)
    ]
    with engine.begin() as c:
        c.execute(sa.insert(Batch), batches)
        c.execute(sa.insert(Document), docs)
        c.execute(sa.insert(AuditEntry), entries)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(sa.text("ANALYZE"))  # the statistics autovacuum keeps (the service never runs it on SQLite)


def _keys(session: Session) -> scale.Keys:
    audit_id = session.scalar(sa.select(AuditEntry.id).where(AuditEntry.issuer == "issuer-0").limit(1).offset(5))
    assert audit_id is not None
    return scale.Keys("issuer-0", "d01200", "b0024", audit_id)  # batch 24 and document 1200 are issuer-0's


def _plans(engine: sa.Engine) -> dict[str, list[str]]:
    with Session(engine) as s:
        if engine.dialect.name == "postgresql":
            s.execute(sa.text("SET enable_seqscan = off"))  # a few thousand rows priced as millions
        keys = _keys(s)
        return {q.name: scale.explain(s, q.build(s, keys)) for q in scale.QUERIES}


def test_no_query_reads_a_whole_big_table(engine: sa.Engine) -> None:
    plans = _plans(engine)
    assert len(plans) == len(scale.QUERIES) >= 14
    scans = {name: scale.full_scans(plan) for name, plan in plans.items() if scale.full_scans(plan)}
    assert scans == {}, "\n".join(f"{n}: {plans[n]}" for n in scans)


def test_batch_formation_and_pages_read_their_own_indexes(engine: sa.Engine) -> None:
    plans = {name: " ".join(plan) for name, plan in _plans(engine).items()}
    # forming a batch reads the issuer's pending documents only, by whichever of its indexes the
    # planner prices best (in order with (issuer, status, kind, created_at, id) for a long queue)
    assert any(
        ix in plans["a batch's documents to be"]
        for ix in ("ix_documents_pending_by_kind", "ix_documents_status_issuer_created", "ix_documents_issuer_status")
    )
    assert "ix_batches_issuer_created" in plans["a page of batches"]
    assert "ix_documents_issuer_created" in plans["a page of documents"]
    assert "ix_documents_unsealed" in plans["issuers with documents to seal"]
    assert "ix_documents_unsigned_credentials" in plans["issuers with credentials to sign"]
    assert "ix_documents_revocation_id" in plans["a revocation's documents"]
    assert "ix_audit_action_id" in plans["the last failure (of one kind)"]
    assert any(ix in plans["a page of the audit log"] for ix in ("ix_audit_issuer_id", "ix_audit_issuer"))


def test_a_query_no_index_serves_is_caught(engine: sa.Engine) -> None:
    """The check itself can fail: a lookup by file name (no index) reads the whole table."""
    with Session(engine) as s:
        if engine.dialect.name == "postgresql":
            s.execute(sa.text("SET enable_seqscan = off"))
        plan = scale.explain(s, sa.select(Document).where(Document.filename == "dupont.pdf"))
    assert scale.full_scans(plan), plan


def test_migrations_make_exactly_the_indexes_the_models_declare(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    for table in ("documents", "batches", "audit"):
        migrated = {
            ix["name"]: tuple(ix["column_names"])
            for ix in inspector.get_indexes(table)
            if "duplicates_constraint" not in ix  # PostgreSQL's index behind a UNIQUE constraint
        }
        declared = {ix.name: tuple(c.name for c in ix.columns) for ix in Base.metadata.tables[table].indexes if ix.name}
        assert migrated == declared, table


def test_keyset_pages_walk_every_row_once_newest_first(engine: sa.Engine) -> None:
    with Session(engine) as s:
        seen: list[str] = []
        before = None
        while True:
            page = batches_page(s, "issuer-0", before=before, limit=3)
            seen += [b.id for b in page.rows]
            if page.next is None:
                break
            before = page.next
        expected = [f"b{b:04}" for b in reversed(range(DOCS // PER_BATCH)) if b % ISSUERS == 0]
        assert seen == expected
        entries, after = [], 0
        while True:
            audit = audit_page(s, "issuer-1", after=after, limit=7)
            entries += [e.id for e in audit.rows]
            if audit.next is None:
                break
            after = audit.next
        assert entries == sorted(entries) and len(entries) == len(set(entries)) == DOCS // 10 // ISSUERS
        newest = documents_page(s, "issuer-0", limit=5)
        assert [d.id for d in newest.rows] == [f"d{i:05}" for i in range(DOCS + 99, DOCS + 94, -1)]
        assert [d.id for d in documents_page(s, "issuer-0", before=newest.next, limit=2).rows] == [
            f"d{DOCS + 94:05}",
            f"d{DOCS + 93:05}",
        ]
        with pytest.raises(UnknownPageKey, match="no batch 'b0001' of this issuer"):
            batches_page(s, "issuer-0", before="b0001")  # issuer-1's batch


def test_migration_0006_goes_down_and_up_again(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    upgrade(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(scale.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, "0005")
    engine = make_engine(url)
    try:
        assert "ix_documents_pending_by_kind" not in {ix["name"] for ix in sa.inspect(engine).get_indexes("documents")}
    finally:
        engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    try:
        assert "ix_documents_pending_by_kind" in {ix["name"] for ix in sa.inspect(engine).get_indexes("documents")}
    finally:
        engine.dispose()


def test_schema_head_is_alembic_s_head_and_only_a_database_at_it_skips_alembic(tmp_path: Path) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from certifier.store.db import SCHEMA_HEAD, at_head

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(scale.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD  # bump it with each migration
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert not at_head(url)  # no schema yet: alembic makes it
    upgrade(url)
    assert at_head(url)


def batch_root(batch: Batch) -> bytes:
    return bytes.fromhex(batch.root[2:])


def test_the_receipt_trees_a_process_keeps_are_bounded_by_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web process keeps the Merkle trees of confirmed batches for their receipts: at most
    TREE_CACHE_LEAVES leaves in all, however large the batches, and the receipts stay right."""
    from certifier.chain.deployment import Deployment
    from certifier.store import documents
    from certifier.store.documents import NewDocument, form_batches, receipts_of, submit

    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    deployment = Deployment(
        31337, "0x" + "aa" * 20, "0x" + "bb" * 32, 1, "0x" + "cc" * 20, "", "0x" + "dd" * 32, None, ""
    )
    monkeypatch.setattr(documents, "TREE_CACHE_LEAVES", 25)
    monkeypatch.setattr(documents, "_tree_cache", {})
    try:
        with Session(engine) as s:
            new = [NewDocument(secrets.token_bytes(32), 1, 1_700_000_000) for _ in range(30)]
            submit(s, "issuer-0", new, "test")
            s.flush()
            made = form_batches(s, "issuer-0", batch_size=10, max_age=0, force=True)
            assert [b.document_count for b in made] == [10, 10, 10]
            for b in made:
                b.tx_hash, b.block_hash, b.block_number = "0x" + "11" * 32, "0x" + "22" * 32, 5
            for b in made:
                docs = list(s.scalars(select(Document).where(Document.batch_id == b.id)))
                receipts = receipts_of(s, b, docs, deployment, "0x" + "cc" * 20)
                assert len(receipts) == 10 and {"0x" + r.anchor.root.hex() for r in receipts.values()} == {b.root}
                assert all(verify_proof(r.anchor.root, leaf_hash(r.document), r.proof) for r in receipts.values())
                assert sum(t.leaf_count for t in documents._tree_cache.values()) <= 25
            assert list(documents._tree_cache) == [made[2].id]  # the third would have made 30: the first two went
            first = made[0].id
            s.commit()
        with Session(engine) as s:  # one receipt loads its document and batch, not the batch's documents
            doc = s.scalars(select(Document).where(Document.batch_id == first, Document.batch_index == 7)).one()
            batch = s.get(Batch, first)
            assert batch is not None
            receipt = receipts_of(s, batch, [doc], deployment, "0x" + "cc" * 20)[doc.id]
            assert receipt.document.index == 7 and verify_proof(batch_root(batch), receipt.leaf, receipt.proof)
            assert len(s.identity_map) == 2
    finally:
        engine.dispose()


def test_forming_a_batch_loads_no_document_into_the_session(tmp_path: Path) -> None:
    """POST /batches forms batches of up to 10,000 documents in a web process: from rows, not
    entities (which grew the process by 40 MB); the documents come out anchoring, each at its
    place, the credential's leaf right after its document's, and the root is their tree's."""
    from certifier.store.documents import NewDocument, batch_tree, form_batches, leaf_of, submit

    url = f"sqlite:///{tmp_path / 'form.sqlite'}"
    upgrade(url)
    engine = make_engine(url)

    def credentials(issuer: str, entries: list[tuple[object, int]]) -> list[dict[str, object]]:
        return [{"credentialSubject": {"index": index}} for _, index in entries]

    try:
        with Session(engine) as s:
            new = [NewDocument(secrets.token_bytes(32), 1, 1_700_000_000, credential=i % 3 == 0) for i in range(12)]
            submit(s, "issuer-0", new, "test")
            s.commit()
        with Session(engine) as s:
            (batch,) = form_batches(s, "issuer-0", batch_size=100, max_age=0, force=True, credentials=credentials)
            assert not [o for o in s.identity_map.values() if isinstance(o, Document)]
            s.commit()
            batch_id = batch.id
        with Session(engine) as s:
            docs = list(s.scalars(select(Document).order_by(Document.batch_index)))
            assert {d.status for d in docs} == {"anchoring"} and {d.batch_id for d in docs} == {batch_id}
            places = [d.batch_index for d in docs]
            with_credential = [d.batch_index for d in docs if d.credential_sha256]
            assert len(with_credential) == 4 and batch.document_count == 16
            assert sorted(places + [i + 1 for i in with_credential]) == list(range(16))  # type: ignore[operator]
            stored = s.get(Batch, batch_id)
            assert stored is not None and stored.root == batch.root
            tree = batch_tree(s, stored)  # rebuilt from the rows written: it must give the recorded root
            assert all(tree.proof(leaf_hash(leaf_of(d))) is not None for d in docs)
    finally:
        engine.dispose()
