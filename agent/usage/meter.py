"""`homediag-agent meter`: per-device traffic through this gateway, counted in the foreground.

Like iftop by device: polls connection tracking for a while (or until SIGTERM/Ctrl-C) and prints
what each device moved, per class. It uses its own state file, so it never disturbs what the
running agent reports.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import ProbeConfigError
from .devices import METHODS, DeviceUsagePoller
from .flows import DeviceHours

METER_FILE = "meter.sqlite"


def meter(
    state_dir: Path,
    seconds: float,
    *,
    interval_s: float = 1.0,
    enable_accounting: bool = False,
    method: str = "conntrack",
    interface: str | None = None,
) -> dict[str, Any]:
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    # The bounds the device_usage probe puts on its options (agent/probes/device_usage.py).
    if not 0.05 <= interval_s <= 86400:
        raise ProbeConfigError("device_usage: interval_s must be between 0.05 and 86400 seconds")
    if method not in METHODS:
        raise ProbeConfigError("device_usage: method must be conntrack or capture")
    scratch = state_dir / "meter"
    (scratch / METER_FILE).unlink(missing_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    poller = DeviceUsagePoller(
        report_s=3600.0,
        enable_accounting=enable_accounting,
        method=method,
        interface=interface or None,
        path=scratch / METER_FILE,
    )
    started = time.time()
    status: dict[str, Any] = {"Status": "Complete"}
    try:
        deadline = started + seconds if seconds > 0 else float("inf")
        while True:
            result = poller.poll_once()
            if result is not None and result.status != "Complete":
                status = {"Status": result.status, **result.data}
            if stop.is_set() or time.time() >= deadline:
                break
            stop.wait(min(interval_s, max(0.0, deadline - time.time())))
        poller.drain()  # a loaded machine may leave the capture behind the traffic
        result = poller.poll_once()  # the last bytes before stopping
        if result is not None and result.status != "Complete":
            status = {"Status": result.status, **result.data}
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        missed = poller.packets_missed
        poller.close()
    devices = DeviceHours(scratch / METER_FILE).breakdown(started, time.time() + 3600)
    extra = {"PacketsMissed": missed} if missed is not None else {}
    return {"since": started, "until": time.time(), "Method": method, **status, **extra, "devices": devices}
