"""quarantined_reports: signed reports no store could take, kept for operators and acknowledged

Revision ID: 0017
Revises: 0016

Issue 17, finding 1: a report that failed to store was retried forever at the head of the writer's
queue and stopped ingestion for every agent. It is now split out of its batch, set aside here and
acknowledged as refused.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantined_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_id", "epoch", "seq", name="uq_quarantine_agent_epoch_seq"),
    )
    op.create_index("ix_quarantined_reports_agent_id", "quarantined_reports", ["agent_id"])
    op.create_index("ix_quarantined_reports_received_at", "quarantined_reports", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_quarantined_reports_received_at", table_name="quarantined_reports")
    op.drop_index("ix_quarantined_reports_agent_id", table_name="quarantined_reports")
    op.drop_table("quarantined_reports")
