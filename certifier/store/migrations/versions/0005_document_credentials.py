"""documents may carry a Verifiable Credential: its leaf (salt, fingerprint), the unsigned
credential built when the batch is formed, and the signed one the worker stores once confirmed

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wants_credential", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("credential_salt", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("credential_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("credential_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credential_signed_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        for column in (
            "credential_signed_at",
            "credential",
            "credential_body",
            "credential_sha256",
            "credential_salt",
            "wants_credential",
        ):
            batch_op.drop_column(column)
