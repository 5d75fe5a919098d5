"""What to tell whom, decided from the database: cap warnings, offline agents, devices that came
or went (when the inventory is there), and the stored daily list.

Each alert becomes a ``Message`` with a key that makes it once-only (delivery.py); deciding is
therefore safe to repeat on every pass of the care loop and after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import get_args

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from protocol.cycles import cycle_bounds, zone
from protocol.errors import MalformedMessage
from protocol.tr181 import vendor

from ..storage.care import CareDailyEntry, CareFeedback, CareNotification, CarePreference
from ..storage.connectivity import ConnectivitySample
from ..storage.models import Agent
from ..storage.usage import DeviceClassHour, UsageHour, UsagePlan
from .baseline import day_start, history_from_records
from .const import (
    DEGRADED_BASELINE_DAYS,
    DEGRADED_BASELINE_MAX_ROWS,
    DEGRADED_CLOSE_INTERVALS,
    DEGRADED_SCAN_HOURS,
    FALSE_ALARM_DAYS,
    PROJECTION_HISTORY_DAYS,
    PROJECTION_MIN_USED,
    WINDOW_DAYS,
)
from .degraded import Episode, Interval, Normal, cleared_text, episodes, raised_text
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


@dataclass(frozen=True)
class DeviceIdentity:
    """What the inventory knows of the device behind one MAC: its current MAC (``mac``; another
    one when this MAC is one it used before a rotation, cloud/inventory.py) and its evidence."""

    mac: str
    name: str
    kind: str
    randomized: bool | None = None
    instances: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


def _service_evidence(services: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    instances: set[str] = set()
    types: set[str] = set()
    for service in services if isinstance(services, list) else []:
        if not isinstance(service, dict):
            continue
        name, kind = service.get("InstanceName"), service.get(vendor("Type"), service.get("Type"))
        if isinstance(kind, str) and kind:
            types.add(kind.lower()[:64])
            if isinstance(name, str) and name:
                instances.add(f"{name}.{kind}".lower()[:255])
    return tuple(sorted(instances)), tuple(sorted(types))


def device_identities(session: Session, agent_id: str | None = None) -> dict[tuple[str, str], DeviceIdentity]:
    """(agent, mac) -> the inventory's device, for every MAC it has and had, when it exists."""
    table = _reflect(session, "inventory_devices", {"agent_id", "mac", "hostname", "kind"})
    if table is None:
        return {}
    extra = [table.c[n] for n in ("random_mac", "services", "previous_macs") if n in table.c]
    query = select(table.c.agent_id, table.c.mac, table.c.hostname, table.c.kind, *extra)
    if agent_id is not None:
        query = query.where(table.c.agent_id == agent_id)
    try:
        rows = session.execute(query).mappings().all()
    except SQLAlchemyError:
        return {}
    out: dict[tuple[str, str], DeviceIdentity] = {}
    for row in rows:
        mac = (row["mac"] or "").lower()
        if not mac:
            continue
        kind = row["kind"] if row["kind"] and row["kind"] != "unknown" else ""
        instances, services = _service_evidence(row.get("services"))
        identity = DeviceIdentity(
            mac, row["hostname"] or "", kind, row.get("random_mac"), instances, services
        )
        out[(row["agent_id"], mac)] = identity
        for previous in row.get("previous_macs") or []:
            old = str(previous.get("mac", "")).lower() if isinstance(previous, dict) else ""
            if old:
                out.setdefault((row["agent_id"], old), identity)
    return out


def device_names(session: Session, agent_id: str | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """(agent, mac) -> (name, kind) from the home inventory, when it exists (earlier MACs too)."""
    return {key: (i.name, i.kind) for key, i in device_identities(session, agent_id).items()}


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


def _rotated_keys(session: Session, table: Table, since: datetime) -> dict[tuple[str, str], datetime]:
    """(agent, key) of the devices whose MAC rotated -> when the cloud saw it back under the new one."""
    if "details" not in table.c:
        return {}
    rows = session.execute(
        select(table.c.agent_id, table.c.at, table.c.details).where(
            table.c.event == "mac_changed", table.c.at >= since
        )
    )
    out: dict[tuple[str, str], datetime] = {}
    for agent_id, at, details in rows:
        if isinstance(details, dict) and details.get("previous_key"):
            key = (agent_id, str(details["previous_key"]))
            out[key] = max(at, out.get(key, at))
    return out


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
        rotated = _rotated_keys(session, table, now - timedelta(days=1))
    except SQLAlchemyError as exc:
        _LOGGER.debug("inventory events unreadable: %s", exc)
        return 0
    added = 0
    for agent_id, device_key, at, event in rows:
        if event == "gone" and at <= rotated.get((agent_id, device_key), at - timedelta(seconds=1)):
            continue  # its MAC rotated since: the device is back under its new one (cloud/inventory.py)
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
    # The inventory's identity: an earlier MAC of a device (a rotation) is read as its current one,
    # so the detector sees one device with one history, and gets the evidence to merge the rest.
    identities = device_identities(session)
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
            identity = identities.get((agent_id, device))
            records.append(
                HourRecord(
                    home=agent_id,
                    device=identity.mac if identity is not None else device,
                    traffic_class=_CLASSES.get(cls, "other"),
                    hour=hour,
                    bytes_rx=rx,
                    bytes_tx=tx,
                    flows=flows,
                    remote_hosts=hosts,
                    smtp_connections=smtp,
                    device_name=(identity.name or None) if identity else None,
                    device_kind=(identity.kind or None) if identity else None,
                    mac_randomized=identity.randomized if identity else None,
                    device_instances=identity.instances or None if identity else None,
                    device_services=identity.services or None if identity else None,
                )
            )
        findings.extend(detect(history_from_records(records, day)))
    feedback = FeedbackIndex(
        Feedback(
            f.home,
            identities[(f.home, f.device)].mac if (f.home, f.device) in identities else f.device,
            f.kind,
            "confirmed" if f.verdict == "confirmed" else "false_alarm",
            f.day,
        )
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


DEGRADED_KIND = "connectivity_degraded"


def _intervals(
    session: Session, agent_id: str, since: datetime, until: datetime, limit: int
) -> list[Interval]:
    """The home's ``connectivity`` intervals in [since, until), the newest ``limit`` of them."""
    rows = session.execute(
        select(
            ConnectivitySample.at,
            ConnectivitySample.loss_pct,
            ConnectivitySample.latency_p50_ms,
            ConnectivitySample.dns_ok,
            ConnectivitySample.finding,
        )
        .where(
            ConnectivitySample.agent_id == agent_id,
            ConnectivitySample.probe == "connectivity",
            ConnectivitySample.at >= since,
            ConnectivitySample.at < until,
        )
        .order_by(ConnectivitySample.at.desc())
        .limit(limit)
    ).all()
    return [Interval(at, loss, p50, ok, where) for at, loss, p50, ok, where in rows]


def _degraded_payload(episode: Episode, state: str) -> dict[str, object]:
    return {
        "kind": DEGRADED_KIND,
        "state": state,
        "start": episode.start.isoformat(timespec="seconds"),
        "cleared_at": episode.cleared_at.isoformat(timespec="seconds") if episode.cleared_at else None,
        "metric": episode.metric,
        "where": episode.where,
        "value": round(episode.value, 2),
        "normal": None if episode.normal is None else round(episode.normal, 2),
        "bad_intervals": episode.bad_intervals,
    }


def _episode_of(payload: dict[str, object], cleared_at: datetime) -> Episode | None:
    """The episode an earlier alert spoke of (to clear it after its start left the window)."""
    try:
        start = datetime.fromisoformat(str(payload["start"]))
        value, normal = payload["value"], payload.get("normal")
        metric = str(payload["metric"])
        if metric not in ("loss", "latency", "dns") or not isinstance(value, int | float):
            return None
        return Episode(
            start=start,
            metric=metric,  # type: ignore[arg-type]  # checked just above
            where=str(payload.get("where") or ""),
            value=float(value),
            normal=float(normal) if isinstance(normal, int | float) else None,
            bad_intervals=0,
            judged_intervals=0,
            last_bad=start,
            cleared_at=cleared_at,
        )
    except (KeyError, TypeError, ValueError):
        return None


def connectivity_alerts(session: Session, *, now: datetime, email_enabled: bool) -> int:
    """Connectivity degraded against the home's own normal: one alert per episode, one all-clear.

    The episodes are recomputed from the history on every pass (degraded.py); the key's cycle is
    the episode's first bad interval, so a repeat pass or a restart adds nothing. An episode that
    began before the scan window continues the alert still open rather than raising a second.
    """
    since = now - timedelta(hours=DEGRADED_SCAN_HOURS)
    homes = sorted(
        session.scalars(
            select(ConnectivitySample.agent_id)
            .where(ConnectivitySample.probe == "connectivity", ConnectivitySample.at >= since)
            .distinct()
        )
    )
    added = 0
    for agent_id in homes:
        agent = session.get(Agent, agent_id)
        if agent is not None and not agent.revoked:
            added += _home_connectivity_alerts(session, agent, since, now=now, email_enabled=email_enabled)
    return added


def _home_connectivity_alerts(
    session: Session, agent: Agent, since: datetime, *, now: datetime, email_enabled: bool
) -> int:
    recent = _intervals(session, agent.id, since, now, DEGRADED_BASELINE_MAX_ROWS)
    before = since - timedelta(days=DEGRADED_BASELINE_DAYS)
    baseline = _intervals(session, agent.id, before, since, DEGRADED_BASELINE_MAX_ROWS)
    found = episodes(recent, Normal.of(baseline))
    plan = session.get(UsagePlan, agent.id)
    try:
        tz = zone(plan.timezone) if plan is not None else None
    except MalformedMessage:
        tz = None  # a plan with a zone this machine does not know: UTC in the words
    home = agent.subscriber_id or agent.hostname or agent.id
    sent = {
        (threshold, cycle): payload
        for threshold, cycle, payload in session.execute(
            select(CareNotification.threshold, CareNotification.cycle, CareNotification.payload).where(
                CareNotification.agent_id == agent.id,
                CareNotification.kind == DEGRADED_KIND,
                CareNotification.channel == "console",
            )
        )
    }
    dangling = sorted(c for t, c in sent if t == "open" and ("cleared", c) not in sent)
    preference = session.get(CarePreference, agent.id)

    def say(cycle: str, state: str, text: tuple[str, str], episode: Episode) -> int:
        message = Message(
            agent_id=agent.id,
            kind=DEGRADED_KIND,
            threshold=state,
            cycle=cycle,
            subject=text[0],
            body=text[1],
            payload=_degraded_payload(episode, state),
        )
        return enqueue(session, message, preference, email_enabled=email_enabled, now=now)

    added = 0
    for episode in found:
        cycle = episode.start.isoformat(timespec="seconds")
        older = [c for c in dangling if c < cycle]
        if episode.from_window_start and older:
            cycle = older[-1]
        if ("open", cycle) not in sent:
            added += say(cycle, "open", raised_text(home, episode, tz), episode)
        if not episode.open:
            added += say(cycle, "cleared", cleared_text(home, episode, tz), episode)
    judged = sorted(i.at for i in recent)
    if found or len(judged) < DEGRADED_CLOSE_INTERVALS:
        return added
    # No episode in the window and enough good intervals: an alert still open from before ends.
    for cycle in dangling:
        old = _episode_of(dict(sent[("open", cycle)] or {}), judged[DEGRADED_CLOSE_INTERVALS - 1])
        if old is not None:
            added += say(cycle, "cleared", cleared_text(home, old, tz), old)
    return added
