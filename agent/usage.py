"""Line usage from the kernel's interface counters: deltas that survive restarts, reboots and wraps.

The meter keeps the last reading (counters, boot time, interface) in a small state file, so an agent
restart loses nothing: the first reading after it yields the bytes moved while the agent was down.
What a reading can meet, and what the meter does, never counting a guess as data:

* counters lower than last time on the same boot: a wrap if the old value was near 2^32 (a 32-bit
  counter), otherwise a reset (driver reload): the new value is what moved since; reported;
* a new boot time: counters restarted from zero at boot; the new value is what moved since; reported;
* the interface gone, or renamed (its MAC now on another name): no delta, the baseline restarts when
  it is back, and the status says so;
* the wall clock moving backwards: the interval is dropped from the hourly split, reported.

Each delta travels to the cloud as one sample with its interval, so exactly-once delivery of the
samples makes the cloud's sums exact, and a period the cloud could not be reached is no gap.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.cycles import cycle_bounds, split_by_hour, zone

from .const import DEVICE_USAGE_FILE, PLAN_FILE
from .flows import DeviceHours
from .identity import write_atomic

WRAP_32 = 2**32
#: Above this a decrease is taken for a 32-bit wrap rather than a reset.
WRAP_THRESHOLD = int(WRAP_32 * 0.75)


@dataclass(frozen=True)
class Reading:
    interface: str
    mac: str
    bytes_rx: int
    bytes_tx: int
    boot_time: float
    at: float


@dataclass(frozen=True)
class UsageDelta:
    start: float
    end: float
    interface: str
    bytes_rx: int
    bytes_tx: int
    events: list[str] = field(default_factory=list)


def _counter_delta(old: int, new: int, events: list[str], name: str) -> int:
    if new >= old:
        return new - old
    if old >= WRAP_THRESHOLD and old < WRAP_32:
        events.append(f"{name}_wrapped")
        return new + WRAP_32 - old
    events.append(f"{name}_reset")
    return new


def delta(previous: Reading | None, current: Reading) -> UsageDelta | None:
    """Bytes moved between two readings, or None when there is no usable baseline."""
    if previous is None:
        return None
    events: list[str] = []
    if current.interface != previous.interface:
        # A rename keeps the kernel's counters (same MAC); anything else is another device.
        if not current.mac or current.mac != previous.mac:
            return None
        events.append("interface_renamed")
    if current.at < previous.at:
        events.append("clock_backwards")
        return UsageDelta(previous.at, previous.at, current.interface, 0, 0, events)
    if abs(current.boot_time - previous.boot_time) > 2:
        events.append("reboot")
        return UsageDelta(
            previous.at, current.at, current.interface, current.bytes_rx, current.bytes_tx, events
        )
    rx = _counter_delta(previous.bytes_rx, current.bytes_rx, events, "rx")
    tx = _counter_delta(previous.bytes_tx, current.bytes_tx, events, "tx")
    return UsageDelta(previous.at, current.at, current.interface, rx, tx, events)


class MeterState:
    """The last reading, on disk (written atomically: a crash leaves the old or the new one)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Reading | None:
        try:
            return Reading(**json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, reading: Reading) -> None:
        write_atomic(self.path, json.dumps(asdict(reading)).encode(), 0o600)


class LocalUsage:
    """Hourly totals on the agent, for `homediag-agent usage` while the cloud may be out of reach."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(
            "CREATE TABLE IF NOT EXISTS hours (hour REAL PRIMARY KEY, bytes_rx INTEGER, bytes_tx INTEGER)"
        )
        return db

    def add(self, change: UsageDelta) -> None:
        rows = split_by_hour(change.start, change.end, change.bytes_rx, change.bytes_tx)
        with contextlib.closing(self._connect()) as db, db:
            db.executemany(
                "INSERT INTO hours VALUES (?, ?, ?) ON CONFLICT(hour) DO UPDATE SET "
                "bytes_rx = bytes_rx + excluded.bytes_rx, bytes_tx = bytes_tx + excluded.bytes_tx",
                rows,
            )

    def hours(self, since: float, until: float) -> list[tuple[float, int, int]]:
        if not self.path.exists():
            return []
        with contextlib.closing(self._connect()) as db:
            return [
                (float(h), int(rx), int(tx))
                for h, rx, tx in db.execute(
                    "SELECT hour, bytes_rx, bytes_tx FROM hours WHERE hour >= ? AND hour < ? ORDER BY hour",
                    (since, until),
                )
            ]


def cycle_report(state_dir: Path, now: float) -> dict[str, Any]:
    """Cycle-to-date usage as this agent counted it, in the plan's cycle (UTC months without one)."""
    try:
        plan = json.loads((state_dir / PLAN_FILE).read_text())
        start_day, tz, cap = int(plan["cycle_start_day"]), str(plan["timezone"]), int(plan["cap_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        start_day, tz, cap = 1, "UTC", None
    moment = datetime.fromtimestamp(now, UTC)
    start, end = cycle_bounds(moment, start_day, tz)
    zinfo = zone(tz)
    days: dict[str, list[int]] = {}
    for hour, rx, tx in LocalUsage(state_dir / "usage.sqlite").hours(start.timestamp(), end.timestamp()):
        day = days.setdefault(datetime.fromtimestamp(hour, zinfo).date().isoformat(), [0, 0])
        day[0] += rx
        day[1] += tx
    rx_total, tx_total = sum(d[0] for d in days.values()), sum(d[1] for d in days.values())
    devices_db = state_dir / DEVICE_USAGE_FILE
    return {
        "cycle_start": start.isoformat(),
        "cycle_end": end.isoformat(),
        "timezone": tz,
        "cap_bytes": cap,
        "bytes_rx": rx_total,
        "bytes_tx": tx_total,
        "total_bytes": rx_total + tx_total,
        "daily": [{"date": d, "bytes_rx": v[0], "bytes_tx": v[1]} for d, v in sorted(days.items())],
        # Per device only where the agent meters a gateway's connection tracking (probe device_usage).
        "devices": (
            DeviceHours(devices_db).breakdown(start.timestamp(), end.timestamp())
            if devices_db.exists()
            else None
        ),
    }
