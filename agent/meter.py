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

from .flows import DeviceHours
from .probes.devices import DeviceUsageProbe

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
    options: dict[str, Any] = {
        "interval_s": interval_s,
        "report_s": 3600.0,
        "enable_accounting": enable_accounting,
        "method": method,
    }
    if interface:
        options["interface"] = interface
    probe = DeviceUsageProbe(options)
    scratch = state_dir / "meter"
    (scratch / METER_FILE).unlink(missing_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    probe.attach(scratch)
    probe.state_file = METER_FILE
    started = time.time()
    status: dict[str, Any] = {"Status": "Complete"}
    try:
        deadline = started + seconds if seconds > 0 else float("inf")
        while True:
            result = probe.poll_once()
            if result is not None and result.status != "Complete":
                status = {"Status": result.status, **result.data}
            if stop.is_set() or time.time() >= deadline:
                break
            stop.wait(min(interval_s, max(0.0, deadline - time.time())))
        probe.drain()  # a loaded machine may leave the capture behind the traffic
        result = probe.poll_once()  # the last bytes before stopping
        if result is not None and result.status != "Complete":
            status = {"Status": result.status, **result.data}
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        missed = probe.packets_missed
        probe.close()
    devices = DeviceHours(scratch / METER_FILE).breakdown(started, time.time() + 3600)
    extra = {"PacketsMissed": missed} if missed is not None else {}
    return {"since": started, "until": time.time(), "Method": method, **status, **extra, "devices": devices}
