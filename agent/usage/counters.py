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
import socket
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from protocol.cycles import split_by_hour
from protocol.samples import UsageData

from ..files import write_atomic
from ..result import ProbeResult
from ..routes import default_route_interface

#: In the state directory: the last reading, and the hourly totals kept on the agent.
STATE_FILE = "usage-meter.json"
LOCAL_FILE = "usage.sqlite"

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


def read_interface(interface: str) -> Reading | str:
    """A reading of ``interface`` (or of the interface now carrying its MAC), or why there is none."""
    counters = psutil.net_io_counters(pernic=True, nowrap=False)
    addresses = psutil.net_if_addrs()
    macs = {
        name: next((a.address for a in addrs if a.family == getattr(socket, "AF_PACKET", -1)), "")
        for name, addrs in addresses.items()
    }
    if interface not in counters:
        return f"interface {interface} is not there"
    c = counters[interface]
    return Reading(
        interface, macs.get(interface, ""), c.bytes_recv, c.bytes_sent, psutil.boot_time(), time.time()
    )


def measure_line(state_dir: Path, interface: str = "") -> ProbeResult:
    """One interval of line usage: the delta since the last reading, kept locally and returned.

    ``interface`` is the WAN interface; empty means the default route's (or, without one, the
    last reading's). Blocking (psutil, a file, SQLite): run it in an executor.
    """
    state = MeterState(state_dir / STATE_FILE)
    previous = state.load()
    interface = interface or default_route_interface() or (previous.interface if previous else "")
    if not interface:
        return ProbeResult.error("Error_NoInterface", "no default route and no interface configured")
    current = read_interface(interface)
    if isinstance(current, str) and previous is not None and previous.mac:
        renamed = find_mac(previous.mac)
        current = read_interface(renamed) if renamed else current
    if isinstance(current, str):
        return ProbeResult.error("Error_NoInterface", current)
    change = delta(previous, current)
    state.save(current)
    if change is None:
        return ProbeResult.of(UsageData(Interface=current.interface, Events=["baseline"]))
    LocalUsage(state_dir / LOCAL_FILE).add(change)
    return ProbeResult.of(_data(change))


def find_mac(mac: str) -> str | None:
    """The interface that now carries ``mac`` (after a rename), if any."""
    for name, addrs in psutil.net_if_addrs().items():
        if any(a.address == mac for a in addrs if a.family == getattr(socket, "AF_PACKET", -1)):
            return name
    return None


def _data(change: UsageDelta) -> UsageData:
    return UsageData(
        Interface=change.interface,
        Start=change.start,
        End=change.end,
        BytesReceived=change.bytes_rx,
        BytesSent=change.bytes_tx,
        Events=change.events,
    )
