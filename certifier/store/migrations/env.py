"""Alembic environment: the URL comes from the caller (certifier.store.db.upgrade)."""

from __future__ import annotations

from alembic import context

from certifier.store.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
