"""connectivity history

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectivity_samples",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("probe", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("loss_pct", sa.Float(), nullable=True),
        sa.Column("latency_p50_ms", sa.Float(), nullable=True),
        sa.Column("latency_p95_ms", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("dns_ok", sa.Boolean(), nullable=True),
        sa.Column("dns_ms", sa.Float(), nullable=True),
        sa.Column("down_mbps", sa.Float(), nullable=True),
        sa.Column("up_mbps", sa.Float(), nullable=True),
        sa.Column("finding", sa.String(length=32), nullable=True),
        sa.Column("finding_message", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_connectivity_samples_agent_at", "connectivity_samples", ["agent_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_connectivity_samples_agent_at", table_name="connectivity_samples")
    op.drop_table("connectivity_samples")
