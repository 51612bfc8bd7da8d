"""The issuer service's store at scale: what the worker, the API and `sceau status` ask of it, timed
with 10,000 documents and with N (default 1,000,000), and the plan of every query.

    .venv/bin/python scripts/bench_store.py [--n 1000000] [--sqlite | --database URL] [--keep]

Makes a fresh database (PostgreSQL by default, at postgresql+psycopg://postgres@127.0.0.1:5432,
dropped at the end unless --keep; --sqlite: a file in a temporary folder), migrates it, and fills
it fast (COPY on PostgreSQL, executemany on SQLite) as a service with that history would be: 80
issuers, documents confirmed and sealed in batches of 100 (10,000 batches at 1M), an audit entry per 10 documents, plus
1,000 documents of one issuer waiting for a batch. After filling to 10,000 and again to N (then
ANALYZE, as autovacuum would), it times each query of certifier/store/scale.py (median of 20
runs) and forming a batch of the 1,000 waiting documents (form_batches, Merkle tree included, rolled
back; median of 5), prints a table, then the plan of every query at N. Exits 1 if a plan reads a
whole big table (Seq Scan on PostgreSQL, SCAN without an index on SQLite).
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certifier.store import scale  # noqa: E402
from certifier.store.db import make_engine, upgrade  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ISSUERS = 80
BATCH = 100
PENDING = 1_000
TARGET = "issuer-000"
T0 = 1_767_225_600.0  # 2026-01-01: the history starts there, a document every 30 s

DOC_COLUMNS = (
    "id",
    "issuer",
    "sha256",
    "salt",
    "kind",
    "valid_from",
    "valid_until",
    "status",
    "batch_id",
    "batch_index",
    "created_at",
    "seal",
    "wants_credential",
)
BATCH_COLUMNS = (
    "id",
    "issuer",
    "kind",
    "root",
    "document_count",
    "status",
    "nonce",
    "tx_hash",
    "block_number",
    "block_hash",
    "gas_used",
    "attempts",
    "created_at",
    "confirmed_at",
)
AUDIT_COLUMNS = ("at", "issuer", "actor", "action", "subject", "detail", "tx_hash")
ACTIONS = ("documents.submitted", "batch.recorded", "batch.sent", "batch.confirmed", "token.created")


def issuer_of(i: int) -> str:
    return f"issuer-{(i // BATCH) % ISSUERS:03}"


def batch_id_of(b: int) -> str:
    return f"b{b:031}"


def doc_id_of(i: int) -> str:
    return f"d{i:031}"


def documents(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    seal = "SC1:" + "A" * 180
    for i in range(start, stop):
        yield (
            doc_id_of(i),
            issuer_of(i),
            secrets.token_hex(32),
            secrets.token_hex(32),
            1,
            1_700_000_000,
            0,
            "confirmed",
            batch_id_of(i // BATCH),
            i % BATCH,
            T0 + 30 * i,
            seal,
            False,
        )


def pending() -> Iterator[tuple[Any, ...]]:
    for j in range(PENDING):
        yield (f"p{j:031}", TARGET, secrets.token_hex(32), secrets.token_hex(32), 1, 1_700_000_000, 0, "pending")
        # batch_id, batch_index, seal: NULL; created_at and wants_credential below
    return


def batches(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    for b in range(start // BATCH, (stop + BATCH - 1) // BATCH):
        at = T0 + 30 * b * BATCH
        yield (
            batch_id_of(b),
            issuer_of(b * BATCH),
            1,
            "0x" + secrets.token_hex(32),
            BATCH,
            "confirmed",
            b // ISSUERS,
            "0x" + secrets.token_hex(32),
            100 + b,
            "0x" + secrets.token_hex(32),
            52_350,
            1,
            at,
            at + 12,
        )


def audit(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    for i in range(start - start % 10 + (10 if start % 10 else 0), stop, 10):
        yield (
            T0 + 30 * i,
            issuer_of(i),
            "worker",
            ACTIONS[(i // 10) % len(ACTIONS)],
            batch_id_of(i // BATCH),
            None,
            None,
        )


class Store:
    """The benchmark's database: made, filled, timed, dropped."""

    def __init__(self, sqlite: bool, server: str, keep: bool) -> None:
        self.keep, self.folder = keep, None
        if sqlite:
            self.folder = tempfile.mkdtemp(prefix="sceau-bench-store-")
            self.url, self.admin = f"sqlite:///{self.folder}/bench.sqlite", None
        else:
            name = f"sceau_bench_{os.getpid()}"
            self.admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as c:
                c.execute(sa.text(f"CREATE DATABASE {name}"))
            self.url = server.rsplit("/", 1)[0] + "/" + name
        upgrade(self.url)
        self.engine = make_engine(self.url)
        self.filled = 0
        self._insert_pending()

    @property
    def postgresql(self) -> bool:
        return self.admin is not None

    def _copy(self, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
        raw = self.engine.raw_connection()
        try:
            if self.postgresql:
                with raw.driver_connection.cursor() as cur:  # type: ignore[union-attr]
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cur = raw.cursor()
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows))
                cur.close()
            raw.commit()
        finally:
            raw.close()

    def _insert_pending(self) -> None:
        rows = ((*r, T0 + 400 * 86400 + j, False) for j, r in enumerate(pending()))
        self._copy("documents", (*DOC_COLUMNS[:8], "created_at", "wants_credential"), rows)

    def _secondary_indexes(self) -> list[tuple[str, str]]:
        """(name, the statement that made it) of every secondary index of the big tables, as the
        migrations made them (primary keys and UNIQUE constraints stay)."""
        with self.engine.connect() as c:
            if self.postgresql:
                rows = c.execute(
                    sa.text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('documents', 'batches', "
                        "'audit') AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%key'"
                    )
                ).all()
            else:
                rows = c.execute(
                    sa.text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        "AND tbl_name IN ('documents', 'batches', 'audit')"
                    )
                ).all()
        return [(str(name), str(sql)) for name, sql in rows]

    def fill(self, n: int) -> float:
        """Add documents (with their batches and audit entries) until there are `n`; the seconds it
        took. A bulk load: the secondary indexes are dropped first and made again after, by the very
        statements the migrations ran, so the store ends exactly as a service's would."""
        t = time.perf_counter()
        indexes = self._secondary_indexes()
        with self.engine.begin() as c:
            for name, _ in indexes:
                c.execute(sa.text(f"DROP INDEX {name}"))
        step = 100_000
        for start in range(self.filled, n, step):
            stop = min(n, start + step)
            self._copy("batches", BATCH_COLUMNS, batches(start, stop))
            self._copy("documents", DOC_COLUMNS, documents(start, stop))
            self._copy("audit", AUDIT_COLUMNS, audit(start, stop))
        with self.engine.begin() as c:
            for _, statement in indexes:
                c.execute(sa.text(statement))
        self.filled = n
        with self.engine.connect() as c:
            c.execute(sa.text("ANALYZE"))
            c.commit()
        return time.perf_counter() - t

    def keys(self) -> scale.Keys:
        """The target issuer's newest batch and a document in it (pages of older ones follow), and
        its oldest audit entry (a page of the entries after it)."""
        batch = (self.filled // BATCH - 1) // ISSUERS * ISSUERS  # the target issuer's newest batch
        query = sa.text("SELECT min(id) FROM audit WHERE issuer = :i")
        with self.engine.connect() as c:
            audit_id = c.execute(query, {"i": TARGET}).scalar()
        return scale.Keys(TARGET, doc_id_of(batch * BATCH + BATCH // 2), batch_id_of(batch), int(audit_id or 0))

    def close(self) -> None:
        self.engine.dispose()
        if self.admin is not None:
            if not self.keep:
                with self.admin.connect() as c:
                    c.execute(sa.text(f"DROP DATABASE IF EXISTS {self.url.rsplit('/', 1)[1]} WITH (FORCE)"))
            self.admin.dispose()
        elif self.folder and not self.keep:
            for p in Path(self.folder).iterdir():
                p.unlink()
            os.rmdir(self.folder)


def median_ms(run: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        t = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def measure(store: Store) -> dict[str, float]:
    from sqlalchemy.orm import Session

    from certifier.store.documents import form_batches

    keys = store.keys()
    out: dict[str, float] = {}
    with Session(store.engine) as s:

        def form() -> None:
            made = form_batches(s, TARGET, batch_size=PENDING, max_age=0, force=True)
            assert len(made) == 1 and made[0].document_count == PENDING, made
            s.rollback()

        out["form a batch of 1,000 waiting documents"] = median_ms(form, 5)
        for q in scale.QUERIES:
            statement = q.build(s, keys)
            out[q.name] = median_ms(lambda st=statement: s.execute(st).all(), 20)  # type: ignore[misc]
            s.rollback()
    return out


def plans(store: Store) -> list[tuple[str, list[str], list[str]]]:
    from sqlalchemy.orm import Session

    keys = store.keys()
    found = []
    with Session(store.engine) as s:
        for q in scale.QUERIES:
            plan = scale.explain(s, q.build(s, keys))
            found.append((q.name, plan, scale.full_scans(plan)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="documents in the store at the end")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--database", default=DEFAULT_SERVER, help="a PostgreSQL server (its URL, any database)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    sizes = sorted({min(10_000, args.n), args.n})
    store = Store(args.sqlite, args.database, args.keep)
    try:
        results: dict[int, dict[str, float]] = {}
        fill_seconds: dict[int, float] = {}
        for n in sizes:
            fill_seconds[n] = store.fill(n)
            results[n] = measure(store)
        found = plans(store)
    finally:
        store.close()
    engine = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{engine}; documents: " + ", ".join(f"{n:,} (filled in {fill_seconds[n]:.0f} s)" for n in sizes))
    header = ["operation", *(f"{n:,} docs" for n in sizes)]
    rows = [[name, *(f"{results[n][name]:.2f} ms" for n in sizes)] for name in results[sizes[0]]]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process (filling included): {peak:.0f} MiB")
    print(f"\nplans with {sizes[-1]:,} documents:")
    bad = 0
    for name, plan, scans in found:
        print(f"\n  {name}{'   <-- FULL SCAN' if scans else ''}")
        for line in plan:
            print(f"    {line}")
        bad += bool(scans)
    if bad:
        print(f"\nFAILED: {bad} quer{'y reads' if bad == 1 else 'ies read'} a whole big table", file=sys.stderr)
        sys.exit(1)
    print("\nno plan reads a whole documents, batches or audit table")


if __name__ == "__main__":
    main()
