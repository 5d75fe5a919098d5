"""Per-device, per-class usage on a Linux gateway: polling conntrack (or a capture) into hours.

:class:`DeviceUsagePoller` reads the flow counters every poll (conntrack over netlink, or the
header-only capture), folds them into :class:`flows.DeviceHours` and hands out the changed hours at
the report pace. A poll that cannot count says why in its status (``Error_AccountingOff``,
``Error_NoConntrack``, ``Error_NoCapture``, ``Error_NoInterface``) instead of reporting zero. The
``device_usage`` probe (agent/probes/device_usage.py) and `homediag-agent meter` (meter.py) both
drive one. Blocking (netlink, SQLite): call it from an executor thread.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from protocol.samples import UNSET, DeviceUsageData, DeviceUsageHour, Maybe

from ..result import ProbeResult
from .capture import Capture, CaptureUnavailable
from .conntrack import (
    ConntrackUnavailable,
    Topology,
    accounting_enabled,
    dump,
    enable_accounting,
    neighbours,
    topology,
)
from .flows import DeviceHours, Flow

METHODS = frozenset({"conntrack", "capture"})


class DeviceUsagePoller:
    """What one gateway's devices moved, per class and hour, kept in the SQLite file at ``path``."""

    def __init__(
        self,
        *,
        report_s: float = 60.0,
        enable_accounting: bool = False,
        wan: str | None = None,
        lan: list[str] | None = None,
        method: str = "conntrack",
        interface: str | None = None,
        path: Path | None = None,
    ) -> None:
        self.report_s = report_s
        self.enable_accounting = enable_accounting
        self.wan, self.lan = wan, lan
        self.method = method
        self.interface = interface
        #: Where the hours are kept; set before the first poll (a probe learns it when attached).
        self.path = path
        self._capture: Capture | None = None
        self._last_report = 0.0
        self._lock = threading.Lock()  # the schedule and on-demand runs poll from executor threads
        self._hours: DeviceHours | None = None

    def _topology(self) -> Topology:
        return topology(self.wan, self.lan)

    def poll(self, *, on_demand: bool = False) -> ProbeResult | None:
        """One poll of the flow table (or the capture); a result when one is due, or ``on_demand``."""
        with self._lock:
            return self._poll_locked(on_demand=on_demand)

    def _poll_locked(self, *, on_demand: bool) -> ProbeResult | None:
        if self.path is None:
            return ProbeResult.error("Error_Internal", "no state directory")
        if self._hours is None:
            self._hours = DeviceHours(self.path)
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
                return self._due(
                    ProbeResult.error("Error_AccountingOff", reason, DeviceUsageData(Method="conntrack"))
                )
        try:
            topo = self._topology()
            table = dump(topo)
            macs = neighbours()
        except ConntrackUnavailable as exc:
            return self._due(
                ProbeResult.error("Error_NoConntrack", str(exc), DeviceUsageData(Method="conntrack"))
            )
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
                return self._due(
                    ProbeResult.error("Error_NoCapture", str(exc), DeviceUsageData(Method="capture"))
                )
        capture = self._capture
        try:
            flows = capture.flows()
        except CaptureUnavailable as exc:  # the capture thread stopped (interface gone, ...)
            capture.close()
            self._capture = None  # the next poll opens a new capture
            return self._due(
                ProbeResult.error("Error_NoCapture", str(exc), DeviceUsageData(Method="capture"))
            )
        events = (
            [f"{capture.dropped} packets missed (the capture could not keep up)"] if capture.dropped else []
        )
        return self._fold(
            hours,
            flows,
            dict(capture.macs),
            topo,
            events,
            on_demand=on_demand,
            interface=capture.interface,
            packets_missed=capture.dropped,
        )

    def _fold(
        self,
        hours: DeviceHours,
        flows: list[Flow],
        macs: dict[str, str],
        topo: Topology,
        events: list[str],
        *,
        on_demand: bool,
        interface: Maybe[str] = UNSET,
        packets_missed: Maybe[int] = UNSET,
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
        return ProbeResult.of(
            DeviceUsageData(
                Method=self.method,
                LAN=[str(n) for n in topo.lan],
                Hours=[DeviceUsageHour(**row) for row in rows],
                Flows=counted["flows"],
                Unattributed=counted["unattributed"],
                Events=events,
                Interface=interface,
                PacketsMissed=packets_missed,
            )
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
        result = self.poll()
        self._last_report = 0.0
        return result if result is not None and result.status != "Complete" else None

    def _due(self, result: ProbeResult) -> ProbeResult | None:
        """Errors are reported at the report pace, not every poll."""
        now = time.time()
        if now - self._last_report < self.report_s:
            return None
        self._last_report = now
        return result

    def mark_sent(self, rows: list[dict[str, Any]]) -> None:
        """The rows a report carried are in the outbox: clean them (see DeviceHours.mark_sent)."""
        if self._hours is not None and rows:
            self._hours.mark_sent(rows)


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
