"""documents keep the seal the worker signed; issuer states and worker heartbeats

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.Text(), nullable=True))
    op.create_table(
        "issuer_states",
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("issuer"),
    )
    op.create_table(
        "workers",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.Column("chain_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("holder"),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("issuer_states")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("seal")
