"""web consent: remote-assistance grants and revokes made in the self-care portal

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_consents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_consents", schema=None) as batch_op:
        batch_op.create_index("ix_web_consents_agent_at", ["agent_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_web_consents_agent_at")
    op.drop_table("web_consents")
