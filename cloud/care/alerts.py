"""What to tell whom, decided from the database: cap warnings, offline agents, devices that came
or went (when the inventory is there), and the stored daily list.

Each alert becomes a ``Message`` with a key that makes it once-only (delivery.py); deciding is
therefore safe to repeat on every pass of the care loop and after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import get_args

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from protocol.cycles import cycle_bounds, zone

from ..storage.care import CareDailyEntry, CareFeedback, CareNotification, CarePreference
from ..storage.models import Agent
from ..storage.usage import DeviceClassHour, UsageHour, UsagePlan
from .baseline import day_start, history_from_records
from .const import (
    FALSE_ALARM_DAYS,
    PROJECTION_HISTORY_DAYS,
    PROJECTION_MIN_USED,
    WINDOW_DAYS,
)
from .delivery import Message, enqueue
from .detector import Entry, Feedback, FeedbackIndex, Finding, detect, device_label, rank
from .projection import Plan, Projection, plan_offer, project, top_device, warning_text
from .records import HourRecord, TrafficClass

_LOGGER = logging.getLogger(__name__)
#: Classes by name; a class the agent learns later than this cloud counts as "other".
_CLASSES: dict[str, TrafficClass] = {name: name for name in get_args(TrafficClass)}


def _reflect(session: Session, name: str, columns: set[str]) -> Table | None:
    """Another issue's table, if it is there with the columns we read (else we skip quietly)."""
    try:
        bind = session.connection()
        if not inspect(bind).has_table(name):
            return None
        table = Table(name, MetaData(), autoload_with=bind)
    except SQLAlchemyError:
        return None
    return table if columns <= set(table.c.keys()) else None


def device_names(session: Session, agent_id: str | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """(agent, mac) -> (name, kind) from the home inventory, when it exists."""
    table = _reflect(session, "inventory_devices", {"agent_id", "mac", "hostname", "kind"})
    if table is None:
        return {}
    query = select(table.c.agent_id, table.c.mac, table.c.hostname, table.c.kind)
    if agent_id is not None:
        query = query.where(table.c.agent_id == agent_id)
    try:
        rows = session.execute(query).all()
    except SQLAlchemyError:
        return {}
    return {(a, (m or "").lower()): (h or "", k if k and k != "unknown" else "") for a, m, h, k in rows if m}


def _labels(session: Session, agent_id: str) -> dict[str, str]:
    return {
        mac: device_label(mac, name or None, kind or None)
        for (_agent, mac), (name, kind) in device_names(session, agent_id).items()
    }


def cycle_projection(session: Session, plan: UsagePlan, now: datetime) -> Projection:
    """Where this home's current cycle will end, from its hourly line totals (projection.py)."""
    start, end = cycle_bounds(now, plan.cycle_start_day, plan.timezone)
    hourly = session.execute(
        select(UsageHour.hour, UsageHour.bytes_rx + UsageHour.bytes_tx).where(
            UsageHour.agent_id == plan.agent_id,
            UsageHour.hour >= start - timedelta(days=PROJECTION_HISTORY_DAYS + 1),
            UsageHour.hour < end,
        )
    ).all()
    return project(
        [(h, int(v)) for h, v in hourly],
        now=now,
        cycle_start=start,
        cycle_end=end,
        cap_bytes=plan.cap_bytes,
        timezone=plan.timezone,
    )


def cap_warnings(
    session: Session,
    plan: UsagePlan,
    *,
    now: datetime,
    thresholds: Sequence[int],
    plans: Sequence[Plan],
    overage_price_per_gb: float,
    currency: str,
    email_enabled: bool,
) -> int:
    """Enqueue the cap warnings this home is due; the highest new threshold speaks for the lower."""
    start, end = cycle_bounds(now, plan.cycle_start_day, plan.timezone)
    cycle = start.astimezone(zone(plan.timezone)).date().isoformat()
    existing = set(
        session.scalars(
            select(CareNotification.threshold).where(
                CareNotification.agent_id == plan.agent_id,
                CareNotification.kind == "cap",
                CareNotification.cycle == cycle,
            )
        )
    )
    projection = cycle_projection(session, plan, now)
    used_percent = 100 * projection.used_share
    crossed = [t for t in thresholds if used_percent >= t and str(t) not in existing]
    on_course = (
        "projected" not in existing
        and projection.used_share >= PROJECTION_MIN_USED
        and projection.used_bytes < plan.cap_bytes
        and projection.reach_at is not None
        and projection.reach_at < end
    )
    if not crossed and not on_course:
        return 0
    devices = session.execute(
        select(
            DeviceClassHour.device,
            DeviceClassHour.traffic_class,
            DeviceClassHour.bytes_rx + DeviceClassHour.bytes_tx,
        ).where(
            DeviceClassHour.agent_id == plan.agent_id,
            DeviceClassHour.hour >= start,
            DeviceClassHour.hour < end,
        )
    ).all()
    top = top_device([(d, c, int(v)) for d, c, v in devices], _labels(session, plan.agent_id))
    offer = plan_offer(projection, plans, overage_price_per_gb, currency)
    preference = session.get(CarePreference, plan.agent_id)
    speak = str(max(crossed)) if crossed else "projected"
    superseded = [str(t) for t in crossed if str(t) != speak]
    if on_course and speak != "projected":
        superseded.append("projected")
    added = 0
    for threshold in [speak, *superseded]:
        subject, body = warning_text(
            projection, None if threshold == "projected" else int(threshold), top, offer
        )
        message = Message(
            agent_id=plan.agent_id,
            kind="cap",
            threshold=threshold,
            cycle=cycle,
            subject=subject,
            body=body,
            payload=_cap_payload(
                projection, threshold, top_device_json=asdict(top) if top else None, offer=offer
            ),
        )
        added += enqueue(
            session,
            message,
            preference,
            email_enabled=email_enabled,
            now=now,
            status="pending" if threshold == speak else "skipped",
        )
    return added


def _cap_payload(
    projection: Projection, threshold: str, *, top_device_json: dict[str, object] | None, offer: str | None
) -> dict[str, object]:
    return {
        "kind": "cap",
        "threshold": threshold,
        "cycle_start": projection.cycle_start.isoformat(),
        "cycle_end": projection.cycle_end.isoformat(),
        "cap_bytes": projection.cap_bytes,
        "used_bytes": projection.used_bytes,
        "projected_bytes": round(projection.projected_bytes),
        "reach_at": projection.reach_at.isoformat() if projection.reach_at else None,
        "top_device": top_device_json,
        "offer": offer,
    }


def offline_alerts(session: Session, *, now: datetime, offline_after_s: float, email_enabled: bool) -> int:
    """One notification per outage: the key's cycle is the moment the agent was last seen."""
    cutoff = now - timedelta(seconds=offline_after_s)
    added = 0
    agents = session.scalars(
        select(Agent).where(
            Agent.revoked.is_(False), Agent.last_seen_at.is_not(None), Agent.last_seen_at < cutoff
        )
    )
    for agent in agents:
        assert agent.last_seen_at is not None
        since = agent.last_seen_at.isoformat(timespec="seconds")
        hours = (now - agent.last_seen_at).total_seconds() / 3600
        message = Message(
            agent_id=agent.id,
            kind="offline",
            threshold="offline",
            cycle=since,
            subject="Your homediag box is offline",
            body=f"The homediag box of this home has not reported for {hours:.0f} hours (since {since} UTC).",
            payload={"kind": "offline", "last_seen_at": since},
        )
        added += enqueue(
            session, message, session.get(CarePreference, agent.id), email_enabled=email_enabled, now=now
        )
    return added


def inventory_alerts(session: Session, *, now: datetime, email_enabled: bool) -> int:
    """New and gone devices from the inventory's events (issue 4), if that table exists."""
    table = _reflect(session, "inventory_events", {"agent_id", "device_key", "at", "event"})
    if table is None:
        return 0
    try:
        rows = session.execute(
            select(table.c.agent_id, table.c.device_key, table.c.at, table.c.event).where(
                table.c.event.in_(("new", "gone")), table.c.at >= now - timedelta(days=1)
            )
        ).all()
    except SQLAlchemyError as exc:
        _LOGGER.debug("inventory events unreadable: %s", exc)
        return 0
    added = 0
    for agent_id, device_key, at, event in rows:
        word = "A new device joined" if event == "new" else "A known device left"
        message = Message(
            agent_id=agent_id,
            kind=f"device_{event}",
            threshold=str(device_key),
            cycle=str(at),
            subject=f"{word} your home network",
            body=f"{word} your home network: {device_key}.",
            payload={"kind": f"device_{event}", "device": str(device_key), "at": str(at)},
        )
        added += enqueue(
            session, message, session.get(CarePreference, agent_id), email_enabled=email_enabled, now=now
        )
    return added


def build_daily_list(session: Session, day: date, homes_per_batch: int = 500) -> list[Entry]:
    """The daily list for ``day`` (UTC) from ``usage_device_hours`` and the CSRs' verdicts.

    Homes are read and judged in batches (a home's findings need only its own rows), so memory
    follows the batch, not the fleet; the ranking is over all of them at the end.
    """
    first = day_start(day) - timedelta(days=WINDOW_DAYS)
    last = day_start(day) + timedelta(days=1)
    in_window = (DeviceClassHour.hour >= first, DeviceClassHour.hour < last)
    homes = sorted(session.scalars(select(DeviceClassHour.agent_id).where(*in_window).distinct()))
    names = device_names(session)
    findings: list[Finding] = []
    for start in range(0, len(homes), homes_per_batch):
        batch = homes[start : start + homes_per_batch]
        rows = session.execute(
            select(
                DeviceClassHour.agent_id,
                DeviceClassHour.device,
                DeviceClassHour.traffic_class,
                DeviceClassHour.hour,
                DeviceClassHour.bytes_rx,
                DeviceClassHour.bytes_tx,
                DeviceClassHour.flows,
                DeviceClassHour.remote_hosts,
                DeviceClassHour.smtp_connections,
            ).where(*in_window, DeviceClassHour.agent_id.in_(batch))
        )
        records = []
        for agent_id, device, cls, hour, rx, tx, flows, hosts, smtp in rows:
            name, kind = names.get((agent_id, device), ("", ""))
            records.append(
                HourRecord(
                    home=agent_id,
                    device=device,
                    traffic_class=_CLASSES.get(cls, "other"),
                    hour=hour,
                    bytes_rx=rx,
                    bytes_tx=tx,
                    flows=flows,
                    remote_hosts=hosts,
                    smtp_connections=smtp,
                    device_name=name or None,
                    device_kind=kind or None,
                )
            )
        findings.extend(detect(history_from_records(records, day)))
    feedback = FeedbackIndex(
        Feedback(f.home, f.device, f.kind, "confirmed" if f.verdict == "confirmed" else "false_alarm", f.day)
        for f in session.scalars(
            select(CareFeedback).where(CareFeedback.day >= day - timedelta(days=FALSE_ALARM_DAYS))
        )
    )
    return rank(findings, day, feedback)


def store_daily_list(session: Session, day: date, entries: Sequence[Entry], now: datetime) -> int:
    """Store a day's list once; a second call for the same day keeps the first."""
    if session.scalar(select(CareDailyEntry.id).where(CareDailyEntry.day == day).limit(1)) is not None:
        return 0
    for entry in entries:
        session.add(
            CareDailyEntry(
                day=day,
                home=entry.home,
                rank=entry.rank,
                score=entry.score,
                device=entry.device,
                device_name=entry.device_name,
                kind=entry.kind,
                reason=entry.reason[:1024],
                details={"findings": [asdict(f) for f in entry.findings]},
                created_at=now,
            )
        )
    return len(entries)
