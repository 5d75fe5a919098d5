"""The quarantine: reports set aside so one bad message never stops ingestion for the others.

A report goes here, and is acknowledged to its agent as refused, when it is signed by its agent but

* breaks the wire contract's bounds or does not decode (``bounds``, ``malformed``), or
* fails to store on its own while the database answers (``store``): the writer splits a failing
  batch down to the reports that fail and stores the rest.

A database that does not answer is the other case: nothing is set aside, the writer backs off and
retries, and the agents keep their reports until acknowledged. Operators read the quarantine
through ``GET /api/v1/quarantine`` and ``homediag-cloud quarantine``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from .storage import Agent, QuarantinedReport

_TABLE = cast(Table, QuarantinedReport.__table__)
MAX_DETAIL = 1024


@dataclass(frozen=True)
class Quarantined:
    """One report to set aside."""

    agent_id: str
    epoch: int
    seq: int
    kind: str
    reason: str
    detail: str
    payload: bytes


def set_aside(session: Session, items: list[Quarantined], now: datetime) -> int:
    """Insert, once per ``(agent, epoch, seq)`` (an agent re-sending before the ack is no new row);
    returns how many were new."""
    if not items:
        return 0
    rows: list[dict[str, Any]] = [
        {
            "agent_id": q.agent_id,
            "epoch": q.epoch,
            "seq": q.seq,
            "kind": q.kind[:16],
            "reason": q.reason[:32],
            "detail": q.detail[:MAX_DETAIL],
            "payload": q.payload,
            "received_at": now,
        }
        for q in items
    ]
    connection = session.connection()
    statement: Insert
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(_TABLE).on_conflict_do_nothing()
    elif connection.dialect.name == "sqlite":
        statement = sqlite.insert(_TABLE).on_conflict_do_nothing()
    else:  # pragma: no cover - the supported stores are SQLite and PostgreSQL
        statement = insert(_TABLE)
    return int(connection.execute(statement, rows).rowcount or 0)


def database_answers(sessions: sessionmaker[Session]) -> bool:
    """True when the database takes a trivial query: a batch that fails then is the batch's fault."""
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def listing(
    session: Session, tenant_id: str | None, *, limit: int, offset: int
) -> tuple[int, list[QuarantinedReport]]:
    """(total, a page newest first) of the reports set aside; ``tenant_id`` None is every tenant."""
    query = select(QuarantinedReport)
    count = select(func.count()).select_from(QuarantinedReport)
    if tenant_id is not None:
        homes = select(Agent.id).where(Agent.tenant_id == tenant_id)
        query = query.where(QuarantinedReport.agent_id.in_(homes))
        count = count.where(QuarantinedReport.agent_id.in_(homes))
    total = int(session.scalar(count) or 0)
    page = session.scalars(
        query.order_by(QuarantinedReport.received_at.desc(), QuarantinedReport.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return total, list(page)


def by_reason(session: Session) -> dict[str, int]:
    return {
        str(reason): int(n)
        for reason, n in session.execute(
            select(QuarantinedReport.reason, func.count()).group_by(QuarantinedReport.reason)
        )
    }
