"""indexes for a store of millions of documents: every query the worker, the API and `sceau
status` make reads only the rows it returns (or the waiting ones), never the whole table

Revision ID: 0006
Revises: 0005

Each index below serves named queries (see tests/test_store_scale.py, which pins their plans):

- documents (status, issuer, created_at): the worker's "which issuers have pending documents"
  (DISTINCT issuer), /healthz's count and oldest pending, `sceau status`'s queue, failed counts;
- documents (issuer, status, kind, created_at, id): forming a batch, the oldest pending documents
  of one issuer and kind in submission order (store.documents.form_batches);
- documents (revocation_id) WHERE it is set: a revocation's documents, cleared or moved with it
  (worker/jobs.py); partial, so that it holds the few revoked documents, and its statistics tell
  the planner so;
- documents (status, issuer) WHERE seal IS NULL, and WHERE a credential is unsigned: confirmed
  documents still to seal or sign, a handful among millions (partial: only those rows);
- documents (issuer, created_at, id): the console's newest documents, keyset pages of documents;
- batches (issuer, created_at, id): GET /api/v1/batches, newest first, keyset pages;
- audit (issuer, id): GET /api/v1/audit, keyset pages; audit (action, id): `sceau status`'s
  last failure, one index probe per kind of failure.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UNSEALED = "seal IS NULL"
REVOKED = "revocation_id IS NOT NULL"
UNSIGNED = "credential_sha256 IS NOT NULL AND credential_signed_at IS NULL"


def _partial(where: str) -> dict[str, Any]:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}


def upgrade() -> None:
    op.create_index("ix_documents_status_issuer_created", "documents", ["status", "issuer", "created_at"])
    op.create_index("ix_documents_pending_by_kind", "documents", ["issuer", "status", "kind", "created_at", "id"])
    op.create_index("ix_documents_revocation_id", "documents", ["revocation_id"], **_partial(REVOKED))
    op.create_index("ix_documents_unsealed", "documents", ["status", "issuer"], **_partial(UNSEALED))
    op.create_index("ix_documents_unsigned_credentials", "documents", ["status", "issuer"], **_partial(UNSIGNED))
    op.create_index("ix_documents_issuer_created", "documents", ["issuer", "created_at", "id"])
    op.create_index("ix_batches_issuer_created", "batches", ["issuer", "created_at", "id"])
    op.create_index("ix_audit_issuer_id", "audit", ["issuer", "id"])
    op.create_index("ix_audit_action_id", "audit", ["action", "id"])


def downgrade() -> None:
    for name, table in (
        ("ix_audit_action_id", "audit"),
        ("ix_audit_issuer_id", "audit"),
        ("ix_batches_issuer_created", "batches"),
        ("ix_documents_issuer_created", "documents"),
        ("ix_documents_unsigned_credentials", "documents"),
        ("ix_documents_unsealed", "documents"),
        ("ix_documents_revocation_id", "documents"),
        ("ix_documents_pending_by_kind", "documents"),
        ("ix_documents_status_issuer_created", "documents"),
    ):
        op.drop_index(name, table_name=table)
