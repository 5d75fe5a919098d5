"""inventory_devices: the MACs a device used before (MAC rotation) and since when it uses its current one

Revision ID: 0019
Revises: 0018

Issue 20: a phone whose randomised MAC rotated stays one device. ``previous_macs`` keeps the MACs
it used before (each with the agent's key it had then and when it was seen under it);
``mac_since`` is when the current MAC was first seen (None for rows stored before: unknown).
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not batch: nullable or defaulted columns need no table rebuild on SQLite or PostgreSQL.
    op.add_column(
        "inventory_devices", sa.Column("previous_macs", sa.JSON(), nullable=False, server_default="[]")
    )
    op.add_column("inventory_devices", sa.Column("mac_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inventory_devices", schema=None) as batch_op:
        batch_op.drop_column("mac_since")
        batch_op.drop_column("previous_macs")
