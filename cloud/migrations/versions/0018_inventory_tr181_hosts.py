"""inventory_devices: TR-181 Hosts.Host's primary address, ActiveLastChange, InterfaceType, Layer3Interface

Revision ID: 0018
Revises: 0017

Issue 19: the agent reports ``Device.Hosts.Host.{i}`` with TR-181's types. ``ips`` keeps every
address (the IPv4 and IPv6 tables); ``ip_address`` is the host's primary one. Rows stored before
take their values from the next report; until then ``ip_address`` is their first address.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not batch: nullable or defaulted columns need no table rebuild on SQLite or PostgreSQL.
    op.add_column(
        "inventory_devices", sa.Column("ip_address", sa.String(length=45), nullable=False, server_default="")
    )
    op.add_column(
        "inventory_devices", sa.Column("active_last_change", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "inventory_devices",
        sa.Column("interface_type", sa.String(length=16), nullable=False, server_default=""),
    )
    op.add_column(
        "inventory_devices",
        sa.Column("layer3_interface", sa.String(length=256), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("inventory_devices", schema=None) as batch_op:
        batch_op.drop_column("layer3_interface")
        batch_op.drop_column("interface_type")
        batch_op.drop_column("active_last_change")
        batch_op.drop_column("ip_address")
