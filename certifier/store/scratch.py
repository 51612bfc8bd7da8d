"""A throw-away database for one run of a script (the API fuzzer, the year's simulation): a SQLite
file in a folder, or a fresh database on a PostgreSQL server, dropped after, connections and all.
The test suite has its own, faster variant (copies of one migrated template: tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database(server: str | None, folder: Path, prefix: str) -> Iterator[str]:
    """The URL of a new, empty database: on `server` (a PostgreSQL URL) named `prefix` plus the
    process id and a random suffix, dropped on exit; with None, a SQLite file in `folder`."""
    if not server:
        yield f"sqlite:///{folder / 'sceau.sqlite'}"
        return
    import sqlalchemy as sa

    name = f"{prefix}_{os.getpid()}_{os.urandom(3).hex()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
