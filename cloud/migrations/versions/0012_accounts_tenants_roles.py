"""accounts: tenants, subscribers, plans, users, refresh tokens, login failures; owners of agents

Revision ID: 0012
Revises: 0011

The columns added to ``agents``, ``pairing_codes`` and ``audit_log`` are plain (no foreign key):
on SQLite a foreign key needs a table rebuild, which would drop ``agents`` (cascading into every
table that references it) and the append-only triggers of ``audit_log``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "plans",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cap_bytes", sa.BigInteger(), nullable=False),
        sa.Column("cycle_start_day", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_plans_tenant_name"),
    )
    op.create_table(
        "subscribers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("plan_id", _ID, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "reference", name="uq_subscribers_tenant_reference"),
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.create_index("ix_subscribers_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_index("ix_subscribers_plan_id", ["plan_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subscriber_id", sa.String(length=32), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_index("ix_users_subscriber_id", ["subscriber_id"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("issued_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("used_at", _AT, nullable=True),
        sa.Column("revoked_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_refresh_tokens_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_refresh_tokens_family", ["family"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_account_at", ["account", "at"], unique=False)
        batch_op.create_index("ix_login_failures_source_at", ["source", "at"], unique=False)

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("subscriber_id", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_agents_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_index("ix_agents_subscriber_id", ["subscriber_id"], unique=False)
    with op.batch_alter_table("pairing_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("subscriber_id", sa.String(length=32), nullable=True))
    # Not batch: adding nullable columns needs no rebuild, and a rebuild would lose the triggers.
    op.add_column("audit_log", sa.Column("tenant_id", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("actor_user_id", sa.String(length=32), nullable=True))
    op.create_index("ix_audit_log_tenant_id", "audit_log", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_id", table_name="audit_log")
    op.drop_index("ix_agents_subscriber_id", table_name="agents")
    op.drop_index("ix_agents_tenant_id", table_name="agents")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in (
        ("audit_log", "actor_user_id"),
        ("audit_log", "tenant_id"),
        ("pairing_codes", "subscriber_id"),
        ("pairing_codes", "tenant_id"),
        ("agents", "subscriber_id"),
        ("agents", "tenant_id"),
    ):
        if sqlite:  # SQLite >= 3.35 drops a plain column in place; alembic would rebuild the table
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
    op.drop_table("login_failures")
    op.drop_table("refresh_tokens")
    op.drop_table("users")
    op.drop_table("subscribers")
    op.drop_table("plans")
    op.drop_table("tenants")
