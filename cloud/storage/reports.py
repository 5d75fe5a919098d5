"""The report path's queries: which reports are known, store the new ones and their samples, and
bring the agent's row up to date (hello, presence, last seen).

Core statements, not the ORM's bulk path: a batch is hundreds of rows, and the ORM's per-row
bookkeeping cost more than verifying the signatures. The caller (``cloud/ingest/store.py``) owns
the transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypedDict, cast

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Agent, Report, ReportWatermark, Sample

#: A report's identity: ``(agent, epoch, seq)``, unique across the store.
ReportKey = tuple[str, int, int]

_REPORTS = cast(Table, Report.__table__)
_SAMPLES = cast(Table, Sample.__table__)
_AGENTS = cast(Table, Agent.__table__)


class ReportRow(TypedDict):
    agent_id: str
    epoch: int
    seq: int
    message_id: str
    kind: str
    sent_at: datetime
    received_at: datetime
    #: The body as received (a ``msgspec.Raw``: the engine's JSON serialiser passes it through).
    body: Any


class SampleRow(TypedDict):
    agent_id: str
    epoch: int
    seq: int
    probe: str
    at: datetime
    status: str
    data: Any


def known_reports(session: Session, keys: Iterable[ReportKey]) -> set[ReportKey]:
    """Those of ``keys`` already stored, or deleted by retention at or below its watermark (a
    replay of a report retention removed is a duplicate too)."""
    wanted = list(set(keys))
    if not wanted:
        return set()
    known: set[ReportKey] = {
        (a, e, s)
        for a, e, s in session.execute(
            select(Report.agent_id, Report.epoch, Report.seq).where(
                tuple_(Report.agent_id, Report.epoch, Report.seq).in_(wanted)
            )
        )
    }
    pairs = list({(a, e) for a, e, _s in wanted})
    marks: dict[tuple[str, int], int] = {
        (a, e): s
        for a, e, s in session.execute(
            select(ReportWatermark.agent_id, ReportWatermark.epoch, ReportWatermark.seq).where(
                tuple_(ReportWatermark.agent_id, ReportWatermark.epoch).in_(pairs)
            )
        )
    }
    known.update(k for k in wanted if k[2] <= marks.get((k[0], k[1]), -1))
    return known


def insert_reports(session: Session, rows: list[ReportRow]) -> set[ReportKey]:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING the keys this statement stored.

    Two workers racing on one report store it once, and only the one whose insert returned the key
    folds its samples.
    """
    if not rows:
        return set()
    connection = session.connection()
    dialect = connection.dialect.name
    columns = (_REPORTS.c.agent_id, _REPORTS.c.epoch, _REPORTS.c.seq)
    if dialect == "sqlite":
        statement = sqlite.insert(_REPORTS).on_conflict_do_nothing().returning(*columns)
    elif dialect == "postgresql":
        statement = postgresql.insert(_REPORTS).on_conflict_do_nothing().returning(*columns)
    else:  # pragma: no cover - the supported stores are SQLite and PostgreSQL
        connection.execute(insert(_REPORTS), rows)
        return {(r["agent_id"], r["epoch"], r["seq"]) for r in rows}
    return {(a, e, q) for a, e, q in connection.execute(statement, rows)}


def insert_samples(session: Session, rows: list[SampleRow]) -> None:
    """Keep every sample of the stored reports raw, whatever the folds made of it."""
    if rows:
        session.connection().execute(insert(_SAMPLES), rows)


def record_hello(
    session: Session, agent_id: str, *, hostname: str, platform: str, agent_version: str
) -> None:
    """What the agent said of itself in its latest hello."""
    session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(hostname=hostname, platform=platform, agent_version=agent_version)
    )


def touch_last_seen(session: Session, last_seen: Mapping[str, datetime]) -> None:
    """Move each agent's ``last_seen_at`` forward to its newest report's time, never back."""
    if not last_seen:
        return
    session.connection().execute(
        update(_AGENTS)
        .where(
            _AGENTS.c.id == bindparam("agent"),
            _AGENTS.c.last_seen_at.is_(None) | (_AGENTS.c.last_seen_at < bindparam("seen")),
        )
        .values(last_seen_at=bindparam("seen")),
        [{"agent": a, "seen": s} for a, s in last_seen.items()],
    )


def record_presence(
    session: Session, agent_id: str, *, session_id: float, online: bool, at: datetime
) -> None:
    """The agent's retained status (online, or its last will): a newer session wins, and within one
    session only the final ``offline`` replaces what is known, so a late duplicate cannot revive it."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return
    newer = session_id > agent.status_session
    final = session_id == agent.status_session and not online
    if newer or final:
        agent.status_session = session_id
        agent.online = online
        agent.status_changed_at = at
