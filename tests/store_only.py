"""A pytest plugin for the second pass of `make test`: with ``--store-only``, only the tests that use
the service's database (the `db_url` fixture, directly or through `service`) run; the others (the
chain, the contracts, PDFs, the grammar) do not depend on the store and already ran on SQLite.
They are deselected, not skipped: the report counts what ran."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store-only", action="store_true", help="run only the tests that use the database")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--store-only"):
        return
    keep = [item for item in items if "db_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
