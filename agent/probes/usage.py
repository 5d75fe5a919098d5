"""Line usage: bytes in and out of the WAN interface since the last run (see agent/usage.py).

The WAN interface is the one of the default route unless ``interface`` says otherwise. Each run
reports one interval; the agent keeps hourly totals locally for `homediag-agent usage`.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import psutil

from ..routes import default_route_interface
from ..usage import LocalUsage, MeterState, Reading, UsageDelta, delta
from .base import Probe, ProbeConfigError, ProbeResult, register

STATE_FILE = "usage-meter.json"
LOCAL_FILE = "usage.sqlite"


def _read(interface: str) -> Reading | str:
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


@register
class UsageProbe(Probe):
    name = "usage"
    default_interval_s = 60.0

    def configure(self, options: dict[str, Any]) -> None:
        interface = options.pop("interface", "")
        if not isinstance(interface, str):
            raise ProbeConfigError("usage: interface must be a string")
        self.interface = interface
        super().configure(options)

    def _measure(self) -> ProbeResult:
        if self.state_dir is None:
            return ProbeResult.error("Error_Internal", "no state directory")
        state = MeterState(self.state_dir / STATE_FILE)
        previous = state.load()
        interface = self.interface or default_route_interface() or (previous.interface if previous else "")
        if not interface:
            return ProbeResult.error("Error_NoInterface", "no default route and no interface configured")
        current = _read(interface)
        if isinstance(current, str) and previous is not None and previous.mac:
            renamed = self._find_mac(previous.mac)
            current = _read(renamed) if renamed else current
        if isinstance(current, str):
            return ProbeResult.error("Error_NoInterface", current)
        change = delta(previous, current)
        state.save(current)
        if change is None:
            return ProbeResult(data={"Interface": current.interface, "Events": ["baseline"]})
        LocalUsage(self.state_dir / LOCAL_FILE).add(change)
        return ProbeResult(data=_data(change))

    @staticmethod
    def _find_mac(mac: str) -> str | None:
        for name, addrs in psutil.net_if_addrs().items():
            if any(a.address == mac for a in addrs if a.family == getattr(socket, "AF_PACKET", -1)):
                return name
        return None

    async def run(self) -> ProbeResult:
        return await asyncio.get_running_loop().run_in_executor(None, self._measure)


def _data(change: UsageDelta) -> dict[str, Any]:
    return {
        "Interface": change.interface,
        "Start": change.start,
        "End": change.end,
        "BytesReceived": change.bytes_rx,
        "BytesSent": change.bytes_tx,
        "Events": change.events,
    }
