"""The issuer service's database: models, migrations (Alembic), documents and stored uploads."""
