"""Per-device, per-class usage on a Linux gateway from connection tracking (see agent/flows.py).

Polls the conntrack table every ``interval_s`` (default 5 s: more often than the shortest entry
timeout, so no connection's last bytes are missed) and reports the changed hours every
``report_s``. A poll that cannot count says why in its status (accounting off, no conntrack, no
privilege) instead of reporting zero.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from typing import Any

import psutil

from ..capture import Capture, CaptureUnavailable
from ..conntrack import (
    ConntrackUnavailable,
    Topology,
    accounting_enabled,
    dump,
    enable_accounting,
    neighbours,
    topology,
)
from ..const import DEVICE_USAGE_FILE
from ..flows import DeviceHours, Flow
from .base import Probe, ProbeConfigError, ProbeResult, Requirements, register

STATE_FILE = DEVICE_USAGE_FILE


@register
class DeviceUsageProbe(Probe):
    name = "device_usage"
    requires = Requirements(platforms=("linux",), modules=("pyroute2",))
    default_interval_s = 5.0

    def configure(self, options: dict[str, Any]) -> None:
        report_s = options.pop("report_s", 60.0)
        if not isinstance(report_s, int | float) or isinstance(report_s, bool) or not 0 < report_s <= 3600:
            raise ProbeConfigError("device_usage: report_s must be between 0 and 3600 seconds")
        self.report_s = float(report_s)
        self.enable_accounting = options.pop("enable_accounting", False)
        if not isinstance(self.enable_accounting, bool):
            raise ProbeConfigError("device_usage: enable_accounting must be true or false")
        wan, lan = options.pop("wan_interface", None), options.pop("lan", None)
        if wan is not None and not isinstance(wan, str):
            raise ProbeConfigError("device_usage: wan_interface must be a string")
        if lan is not None and not (isinstance(lan, list) and all(isinstance(n, str) for n in lan)):
            raise ProbeConfigError("device_usage: lan must be a list of CIDR strings")
        for cidr in lan or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ProbeConfigError(f"device_usage: lan: {exc}") from exc
        self.wan, self.lan = wan, lan
        self.method = options.pop("method", "conntrack")
        if self.method not in {"conntrack", "capture"}:
            raise ProbeConfigError("device_usage: method must be conntrack or capture")
        self.interface = options.pop("interface", None)
        if self.interface is not None and not isinstance(self.interface, str):
            raise ProbeConfigError("device_usage: interface must be a string")
        super().configure(options)
        self._capture: Capture | None = None
        self._last_report = 0.0
        self._lock = threading.Lock()  # run() and run_now() poll from executor threads
        self._hours: DeviceHours | None = None
        self.state_file = STATE_FILE

    def _topology(self) -> Topology:
        return topology(self.wan, self.lan)

    def _poll(self, *, on_demand: bool = False) -> ProbeResult | None:
        with self._lock:
            return self._poll_locked(on_demand=on_demand)

    def _poll_locked(self, *, on_demand: bool) -> ProbeResult | None:
        if self.state_dir is None:
            return ProbeResult.error("Error_Internal", "no state directory")
        if self._hours is None:
            self._hours = DeviceHours(self.state_dir / self.state_file)
        hours = self._hours
        if self.method == "capture":
            return self._poll_capture(hours, on_demand=on_demand)
        acct = accounting_enabled()
        if acct is None:
            return self._due(
                ProbeResult.error("Error_NoConntrack", "connection tracking is not available here")
            )
        if not acct:
            reason = enable_accounting() if self.enable_accounting else "nf_conntrack_acct is 0"
            if reason is not None:
                return self._due(ProbeResult.error("Error_AccountingOff", reason, Method="conntrack"))
        try:
            topo = self._topology()
            table = dump(topo)
            macs = neighbours()
        except ConntrackUnavailable as exc:
            return self._due(ProbeResult.error("Error_NoConntrack", str(exc), Method="conntrack"))
        events = []
        if table.without_counters:
            events.append(f"{table.without_counters} connections without counters (older than accounting)")
        if table.truncated:
            events.append("the flow table was larger than one poll reads; counts are low")
        return self._fold(hours, table.flows, macs, topo, events, on_demand=on_demand)

    def _poll_capture(self, hours: DeviceHours, *, on_demand: bool) -> ProbeResult | None:
        topo = self._topology()
        if self._capture is None:
            interface = self.interface or next(iter(_lan_interfaces(topo)), None)
            if interface is None:
                return self._due(ProbeResult.error("Error_NoInterface", "no LAN interface to capture on"))
            try:
                self._capture = Capture(interface, topo.lan)
            except CaptureUnavailable as exc:
                return self._due(ProbeResult.error("Error_NoCapture", str(exc), Method="capture"))
        capture = self._capture
        try:
            flows = capture.flows()
        except CaptureUnavailable as exc:  # the capture thread stopped (interface gone, ...)
            capture.close()
            self._capture = None  # the next poll opens a new capture
            return self._due(ProbeResult.error("Error_NoCapture", str(exc), Method="capture"))
        events = (
            [f"{capture.dropped} packets missed (the capture could not keep up)"] if capture.dropped else []
        )
        result = self._fold(hours, flows, dict(capture.macs), topo, events, on_demand=on_demand)
        if result is not None:
            result.data.update(Interface=capture.interface, PacketsMissed=capture.dropped)
        return result

    def _fold(
        self,
        hours: DeviceHours,
        flows: list[Flow],
        macs: dict[str, str],
        topo: Topology,
        events: list[str],
        *,
        on_demand: bool,
    ) -> ProbeResult | None:
        now = time.time()
        counted = hours.update(flows, macs, now)
        if on_demand:
            rows = hours.take_dirty()  # shown to the CSR; the schedule still reports them
        elif now - self._last_report < self.report_s:
            return None
        else:
            self._last_report = now
            rows = hours.take_dirty()  # marked sent only once the runner has them in the outbox
        return ProbeResult(
            data={
                "Method": self.method,
                "LAN": [str(n) for n in topo.lan],
                "Hours": rows,
                "Flows": counted["flows"],
                "Unattributed": counted["unattributed"],
                "Events": events,
            }
        )

    def drain(self) -> None:
        """Before a final count: let the capture read what the kernel has queued (no-op otherwise)."""
        if self._capture is not None:
            self._capture.drain()

    @property
    def packets_missed(self) -> int | None:
        """Packets the capture could not keep up with so far (None unless capturing)."""
        return self._capture.dropped if self._capture is not None else None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.close()
            self._capture = None

    def poll_once(self) -> ProbeResult | None:
        """One poll, for the foreground meter: folds the flow table in, reports only problems."""
        result = self._poll()
        self._last_report = 0.0
        return result if result is not None and result.status != "Complete" else None

    def _due(self, result: ProbeResult) -> ProbeResult | None:
        """Errors are reported at the report pace, not every poll."""
        now = time.time()
        if now - self._last_report < self.report_s:
            return None
        self._last_report = now
        return result

    async def run(self) -> ProbeResult | None:
        return await asyncio.get_running_loop().run_in_executor(None, self._poll)

    async def delivered(self, result: ProbeResult) -> None:
        rows = result.data.get("Hours")
        if self._hours is not None and isinstance(rows, list) and rows:
            await asyncio.get_running_loop().run_in_executor(None, self._hours.mark_sent, rows)

    async def run_now(self) -> ProbeResult:
        result = await asyncio.get_running_loop().run_in_executor(None, lambda: self._poll(on_demand=True))
        return result if result is not None else ProbeResult(data={"Events": ["nothing to report"]})


def _lan_interfaces(topo: Topology) -> list[str]:
    """Interfaces carrying one of the home's subnets (where a capture sees the devices)."""
    found = []
    for name, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if (
                a.family == socket.AF_INET
                and name not in {topo.wan, "lo"}
                and any(ipaddress.ip_address(a.address) in net for net in topo.lan)
            ):
                found.append(name)
                break
    return found
