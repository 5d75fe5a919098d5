"""usage per device and traffic class

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_device_hours",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device", sa.String(length=17), nullable=False),
        sa.Column("traffic_class", sa.String(length=16), nullable=False),
        sa.Column("bytes_rx", sa.BigInteger(), nullable=False),
        sa.Column("bytes_tx", sa.BigInteger(), nullable=False),
        sa.Column("flows", sa.BigInteger(), nullable=False),
        sa.Column("remote_hosts", sa.BigInteger(), nullable=False),
        sa.Column("smtp_connections", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_id", "hour", "device", "traffic_class", name="uq_usage_device_hours"),
    )


def downgrade() -> None:
    op.drop_table("usage_device_hours")
