"""Retention: raw telemetry for a configured period, hourly roll-ups longer, nothing forever.

A privacy promise as much as a storage one: what the agents sent is deleted once it is older than
``retention_raw_days`` (reports and samples), hourly roll-ups once older than
``retention_rollup_days``. Deletion runs in bounded chunks so a large backlog never holds a long
lock on PostgreSQL or SQLite. The audit log is not touched: it is append-only by design
(migration 0005) and kept for as long as the operator's legal hold says, outside this job.

Deleting reports would forget which ones were stored, and a replay of a deleted one would be
stored again as new. So before reports go, the highest ``seq`` going of each ``(agent, epoch)`` is
kept in ``report_watermarks``, and ingestion treats anything at or below it as a duplicate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, ColumnElement, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from .storage import Base, ReportWatermark

_LOGGER = logging.getLogger(__name__)
CHUNK = 5_000


@dataclass(frozen=True)
class Retained:
    """A table, its time column, and which horizon applies ("raw" or "rollup")."""

    table: str
    column: str
    horizon: str


#: Every time-series table and its horizon. A table added by a later migration joins this list.
RETAINED: list[Retained] = [
    Retained("samples", "at", "raw"),
    Retained("reports", "received_at", "raw"),
    Retained("quarantined_reports", "received_at", "raw"),
    Retained("usage_hours", "hour", "rollup"),
    Retained("usage_device_hours", "hour", "rollup"),
    Retained("enrollment_failures", "at", "raw"),
    Retained("connectivity_samples", "at", "raw"),
    Retained("inventory_events", "at", "rollup"),
    Retained("inventory_devices", "last_seen", "rollup"),  # a device gone for a year is forgotten
    Retained("care_notifications", "created_at", "rollup"),
    Retained("care_dead_letters", "failed_at", "rollup"),
    Retained("care_daily_entries", "created_at", "rollup"),
    Retained("care_feedback", "created_at", "rollup"),
]


@dataclass
class Horizons:
    raw_days: float
    rollup_days: float

    def cutoff(self, horizon: str, now: datetime) -> datetime:
        days = self.raw_days if horizon == "raw" else self.rollup_days
        return now - timedelta(days=days)


def enforce(
    sessions: sessionmaker[Session], horizons: Horizons, now: datetime | None = None
) -> dict[str, int]:
    """Delete what is past its horizon; returns rows deleted per table."""
    moment = now or datetime.now(UTC)
    deleted: dict[str, int] = {}
    for item in RETAINED:
        table = Base.metadata.tables.get(item.table)
        if table is None:
            continue
        deleted[item.table] = _delete_before(
            sessions, table, table.c[item.column], horizons.cutoff(item.horizon, moment)
        )
    total = sum(deleted.values())
    if total:
        _LOGGER.info(
            "retention: deleted %d rows (%s)", total, ", ".join(f"{k} {v}" for k, v in deleted.items() if v)
        )
    return deleted


def _delete_before(
    sessions: sessionmaker[Session], table: Table, column: Column[datetime], cutoff: datetime
) -> int:
    key = table.c.get("id")
    total = 0
    while True:
        with sessions.begin() as session:
            if key is None:
                result = session.execute(delete(table).where(column < cutoff))
                return total + int(result.rowcount or 0)  # type: ignore[attr-defined]
            # The chunk's ids once, in order: the watermark and the delete must cover the same rows.
            ids = list(session.scalars(select(key).where(column < cutoff).order_by(key).limit(CHUNK)))
            if not ids:
                return total
            if table.name == "reports":
                _raise_watermarks(session, table, key.in_(ids))
            result = session.execute(delete(table).where(key.in_(ids)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        total += count
        if count < CHUNK:
            return total


def _raise_watermarks(session: Session, reports: Table, chunk: ColumnElement[bool]) -> None:
    """Before reports go, remember per (agent, epoch) the highest seq going (see ReportWatermark)."""
    highest = session.execute(
        select(reports.c.agent_id, reports.c.epoch, func.max(reports.c.seq))
        .where(chunk)
        .group_by(reports.c.agent_id, reports.c.epoch)
    ).all()
    if not highest:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    greatest = func.greatest if dialect == "postgresql" else func.max
    statement = insert(ReportWatermark)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["agent_id", "epoch"],
            set_={"seq": greatest(ReportWatermark.seq, statement.excluded.seq)},
        ),
        [{"agent_id": a, "epoch": e, "seq": q} for a, e, q in highest],
    )
