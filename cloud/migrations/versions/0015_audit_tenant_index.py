"""audit_log: index (tenant_id, at) for a tenant's recent entries

Revision ID: 0015
Revises: 0014

The team figures group a tenant's audit entries of the last days by person in the database, and
the audit page lists a tenant's newest entries; with only ``tenant_id`` indexed both read every
entry the tenant ever made (the log is never pruned).
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_tenant_at", "audit_log", ["tenant_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_tenant_at", table_name="audit_log")
