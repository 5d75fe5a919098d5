"""connectivity_samples: index (agent_id, probe, at) for the newest row of each probe

Revision ID: 0014
Revises: 0013

``/agents/{id}/connectivity/latest`` asks, per probe, for the newest row of one home. With only
(agent_id, at) the database walks the home's rows newest first until one of that probe turns up:
for a probe the home never runs (``ping``, ``dns``: both need configuration) that is every row of
the retention window, ~43,000 at one connectivity sample a minute for 30 days.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_connectivity_samples_agent_probe_at",
        "connectivity_samples",
        ["agent_id", "probe", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_connectivity_samples_agent_probe_at", table_name="connectivity_samples")
