"""subscribers: trigram indexes for the search, on PostgreSQL

Revision ID: 0016
Revises: 0015

The console's search (``GET /subscribers?q=``) matches ``%text%`` on reference, name and e-mail,
which no B-tree can serve: at a million subscribers in one tenant every search reads them all.
PostgreSQL's pg_trgm GIN indexes answer ``ILIKE '%text%'`` for three characters or more.

PostgreSQL only (SQLite has no such index; a tenant that large belongs on PostgreSQL). pg_trgm ships
with PostgreSQL and is a trusted extension (13+): the database owner may create it. Where it cannot
be had, the migration says so in the log and the search stays a scan, correct but slower.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_LOGGER = logging.getLogger("cloud.migrations")
COLUMNS = ("reference", "name", "email")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        _LOGGER.warning("pg_trgm is not available (%s): subscriber search stays a table scan", exc.orig)
        return
    for column in COLUMNS:
        op.create_index(
            f"ix_subscribers_{column}_trgm",
            "subscribers",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_subscribers_{column}_trgm")
