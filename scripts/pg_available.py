"""Exit 0 if the PostgreSQL server in argv[1] (a SQLAlchemy URL) accepts connections, else 1."""

from __future__ import annotations

import sys

import sqlalchemy as sa


def main() -> int:
    try:
        engine = sa.create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        engine.dispose()
        return 0
    except Exception as exc:  # any failure means: no PostgreSQL run here
        print(f"PostgreSQL not usable: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
