"""The ``device_usage`` probe: per-device, per-class usage on a Linux gateway (engine: agent/usage/).

Polls the conntrack table every ``interval_s`` (default 5 s: more often than the shortest entry
timeout, so no connection's last bytes are missed) and reports the changed hours every
``report_s``. A poll that cannot count says why in its status (accounting off, no conntrack, no
privilege) instead of reporting zero.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

from ..const import DEVICE_USAGE_FILE
from ..usage.devices import METHODS, DeviceUsagePoller
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
        if self.method not in METHODS:
            raise ProbeConfigError("device_usage: method must be conntrack or capture")
        self.interface = options.pop("interface", None)
        if self.interface is not None and not isinstance(self.interface, str):
            raise ProbeConfigError("device_usage: interface must be a string")
        super().configure(options)
        self.poller = DeviceUsagePoller(
            report_s=self.report_s,
            enable_accounting=self.enable_accounting,
            wan=self.wan,
            lan=self.lan,
            method=self.method,
            interface=self.interface,
        )

    def attach(self, state_dir: Path) -> None:
        super().attach(state_dir)
        self.poller.path = state_dir / STATE_FILE

    async def run(self) -> ProbeResult | None:
        return await asyncio.get_running_loop().run_in_executor(None, self.poller.poll)

    async def delivered(self, result: ProbeResult) -> None:
        rows = result.data.get("Hours")
        if isinstance(rows, list) and rows:
            await asyncio.get_running_loop().run_in_executor(None, self.poller.mark_sent, rows)

    async def run_now(self) -> ProbeResult:
        result = await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.poller.poll(on_demand=True)
        )
        return result if result is not None else ProbeResult(data={"Events": ["nothing to report"]})
