"""Usage in the cloud: the agents' interval samples folded into hourly totals, and cycle views.

Samples arrive exactly once (see cloud/ingest.py), so adding each interval's bytes to the hours it
covers gives exact totals, even for intervals the agent kept while the cloud was unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from protocol import Sample
from protocol.cycles import cycle_bounds, split_by_hour, zone

from .storage.usage import UsageHour, UsagePlan

USAGE_PROBE = "usage"


def apply_usage(session: Session, agent_id: str, sample: Sample) -> None:
    data = sample.data
    try:
        start, end = float(data["Start"]), float(data["End"])
        rx, tx = int(data["BytesReceived"]), int(data["BytesSent"])
    except (KeyError, TypeError, ValueError):
        return  # a baseline or an error sample: nothing moved that we know of
    if rx < 0 or tx < 0 or end < start:
        return
    rows = [
        {"agent_id": agent_id, "hour": datetime.fromtimestamp(h, UTC), "bytes_rx": r, "bytes_tx": t}
        for h, r, t in split_by_hour(start, end, rx, tx)
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(UsageHour)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["agent_id", "hour"],
            set_={
                "bytes_rx": UsageHour.bytes_rx + statement.excluded.bytes_rx,
                "bytes_tx": UsageHour.bytes_tx + statement.excluded.bytes_tx,
            },
        ),
        rows,
    )


@dataclass(frozen=True)
class CycleUsage:
    start: datetime
    end: datetime
    bytes_rx: int
    bytes_tx: int
    cap_bytes: int | None
    daily: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return self.bytes_rx + self.bytes_tx


def cycle_usage(session: Session, agent_id: str, moment: datetime | None = None) -> CycleUsage:
    """Cycle-to-date usage with a day series in the subscriber's local dates (UTC cycles without a plan)."""
    now = moment or datetime.now(UTC)
    plan = session.get(UsagePlan, agent_id)
    start_day, tz = (plan.cycle_start_day, plan.timezone) if plan else (1, "UTC")
    start, end = cycle_bounds(now, start_day, tz)
    hours = session.scalars(
        select(UsageHour)
        .where(UsageHour.agent_id == agent_id, UsageHour.hour >= start, UsageHour.hour < end)
        .order_by(UsageHour.hour)
    )
    zinfo = zone(tz)
    days: dict[str, list[int]] = {}
    rx = tx = 0
    for h in hours:
        rx += h.bytes_rx
        tx += h.bytes_tx
        day = days.setdefault(h.hour.astimezone(zinfo).date().isoformat(), [0, 0])
        day[0] += h.bytes_rx
        day[1] += h.bytes_tx
    daily = [{"date": d, "bytes_rx": v[0], "bytes_tx": v[1]} for d, v in days.items()]
    return CycleUsage(start, end, rx, tx, plan.cap_bytes if plan else None, daily)


def set_plan(
    session: Session, agent_id: str, cap_bytes: int, cycle_start_day: int, timezone: str
) -> UsagePlan:
    zone(timezone)  # refuses unknown names
    cycle_bounds(datetime.now(UTC) + timedelta(0), cycle_start_day, timezone)
    plan = session.get(UsagePlan, agent_id) or UsagePlan(agent_id=agent_id)
    plan.cap_bytes, plan.cycle_start_day, plan.timezone = cap_bytes, cycle_start_day, timezone
    session.add(plan)
    return plan
