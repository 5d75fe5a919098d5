"""Usage in the cloud: the agents' interval samples folded into hourly totals, and cycle views.

Samples arrive exactly once (see cloud/ingest/store.py), so adding each interval's bytes to the hours it
covers gives exact totals, even for intervals the agent kept while the cloud was unreachable.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from protocol import ProbeName, Sample
from protocol.cycles import cycle_bounds, split_by_hour, zone
from protocol.probes import USAGE_PROBES
from protocol.samples import DeviceUsageHour, UnsetType, UsageData, given, salvage

from .storage.usage import DeviceClassHour, UsageHour, UsagePlan

_LOGGER = logging.getLogger(__name__)

USAGE_PROBE = ProbeName.USAGE
DEVICE_USAGE_PROBE = ProbeName.DEVICE_USAGE
__all__ = ["DEVICE_USAGE_PROBE", "USAGE_PROBE", "USAGE_PROBES", "apply_usage"]
#: The classes the agent reports (agent/usage/flows.py); anything else is stored as "other".
TRAFFIC_CLASSES = frozenset({"web", "video", "gaming", "calls", "mail", "smtp", "dns", "vpn", "p2p", "other"})
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_FIELDS = {
    "bytes_rx": "BytesReceived",
    "bytes_tx": "BytesSent",
    "flows": "Flows",
    "remote_hosts": "RemoteHosts",
    "smtp_connections": "SMTPConnections",
}
#: An hour's running total can be no larger than this (a 100 Gbit/s line for an hour is 4.5e13).
_MAX_COUNT = 10**15


def apply_usage(session: Session, agent_id: str, sample: Sample) -> None:
    """Fold one stored usage sample (line or per device) into the hourly tables."""
    if sample.probe == DEVICE_USAGE_PROBE:
        apply_device_usage(session, agent_id, sample)
        return
    data = salvage(UsageData, sample.data) or UsageData()
    start, end, rx, tx = data.Start, data.End, data.BytesReceived, data.BytesSent
    if (
        isinstance(start, UnsetType)
        or isinstance(end, UnsetType)
        or isinstance(rx, UnsetType)
        or isinstance(tx, UnsetType)
    ):
        return  # a baseline or an error sample: nothing moved that we know of
    if end < start:
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


def _device_rows(agent_id: str, hours: object) -> tuple[list[dict[str, Any]], int]:
    """Rows from a sample's ``Hours``; malformed entries are counted and skipped, never guessed."""
    rows: list[dict[str, Any]] = []
    bad = 0
    for raw in hours if isinstance(hours, list) else []:
        try:
            h = msgspec.convert(raw, DeviceUsageHour)
        except msgspec.ValidationError:
            bad += 1
            continue
        if (
            isinstance(h.Hour, UnsetType)
            or isinstance(h.PhysAddress, UnsetType)
            or isinstance(h.Class, UnsetType)
        ):
            bad += 1
            continue
        hour, device, cls = h.Hour, h.PhysAddress.lower(), h.Class
        values = {k: given(getattr(h, v), 0) for k, v in _FIELDS.items()}
        if (
            hour % 3600
            or not (device == "other" or _MAC.match(device))
            or any(not 0 <= v <= _MAX_COUNT for v in values.values())
        ):
            bad += 1
            continue
        rows.append(
            {
                "agent_id": agent_id,
                "hour": datetime.fromtimestamp(hour, UTC),
                "device": device,
                "traffic_class": cls if cls in TRAFFIC_CLASSES else "other",
                **values,
            }
        )
    return rows, bad


def apply_device_usage(session: Session, agent_id: str, sample: Sample) -> None:
    """Per device, class and hour: the agent sends running totals, so keep the greatest of each."""
    rows, bad = _device_rows(agent_id, sample.data.get("Hours"))
    if bad:
        _LOGGER.warning("agent %s: %d malformed per-device usage rows skipped", agent_id, bad)
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    greatest = func.greatest if dialect == "postgresql" else func.max  # SQLite's two-argument max()
    statement = insert(DeviceClassHour)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["agent_id", "hour", "device", "traffic_class"],
            set_={
                name: greatest(getattr(DeviceClassHour, name), getattr(statement.excluded, name))
                for name in _FIELDS
            },
        ),
        rows,
    )


def _device_hours(agent_id: str, start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    """A home's device-hours in ``[start, end)``."""
    return (DeviceClassHour.agent_id == agent_id, DeviceClassHour.hour >= start, DeviceClassHour.hour < end)


def device_breakdown(session: Session, agent_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per device between two instants: bytes each way, per class, and a day series; largest first."""
    rows = session.execute(
        select(
            DeviceClassHour.device,
            DeviceClassHour.traffic_class,
            func.sum(DeviceClassHour.bytes_rx),
            func.sum(DeviceClassHour.bytes_tx),
            func.sum(DeviceClassHour.flows),
            func.max(DeviceClassHour.remote_hosts),
            func.sum(DeviceClassHour.smtp_connections),
        )
        .where(*_device_hours(agent_id, start, end))
        .group_by(DeviceClassHour.device, DeviceClassHour.traffic_class)
    ).all()
    devices: dict[str, dict[str, Any]] = {}
    for device, cls, rx, tx, flows, hosts, smtp in rows:
        entry = devices.setdefault(device, {"device": device, "bytes_rx": 0, "bytes_tx": 0, "classes": {}})
        entry["bytes_rx"] += int(rx)
        entry["bytes_tx"] += int(tx)
        entry["classes"][cls] = {
            "bytes_rx": int(rx),
            "bytes_tx": int(tx),
            "flows": int(flows),
            "max_remote_hosts_per_hour": int(hosts),
            "smtp_connections": int(smtp),
        }
    return sorted(devices.values(), key=lambda d: -(d["bytes_rx"] + d["bytes_tx"]))


def device_daily(
    session: Session, agent_id: str, start: datetime, end: datetime, tz: str
) -> dict[str, list[dict[str, Any]]]:
    """Per device, a day series in the subscriber's local dates."""
    zinfo = zone(tz)
    series: dict[str, dict[str, list[int]]] = {}
    # Summed over classes in SQL, one row per device and hour: no ORM object per class-hour.
    rows = session.execute(
        select(
            DeviceClassHour.device,
            DeviceClassHour.hour,
            func.sum(DeviceClassHour.bytes_rx),
            func.sum(DeviceClassHour.bytes_tx),
        )
        .where(*_device_hours(agent_id, start, end))
        .group_by(DeviceClassHour.device, DeviceClassHour.hour)
        .order_by(DeviceClassHour.hour)
    )
    for device, hour, rx, tx in rows:
        day = series.setdefault(device, {}).setdefault(hour.astimezone(zinfo).date().isoformat(), [0, 0])
        day[0] += int(rx)
        day[1] += int(tx)
    return {
        device: [{"date": d, "bytes_rx": v[0], "bytes_tx": v[1]} for d, v in days.items()]
        for device, days in series.items()
    }


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
    hours = session.execute(
        select(UsageHour.hour, UsageHour.bytes_rx, UsageHour.bytes_tx)
        .where(UsageHour.agent_id == agent_id, UsageHour.hour >= start, UsageHour.hour < end)
        .order_by(UsageHour.hour)
    )
    zinfo = zone(tz)
    days: dict[str, list[int]] = {}
    rx = tx = 0
    for hour, hour_rx, hour_tx in hours:
        rx += hour_rx
        tx += hour_tx
        day = days.setdefault(hour.astimezone(zinfo).date().isoformat(), [0, 0])
        day[0] += hour_rx
        day[1] += hour_tx
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
