"""The ``device_usage`` probe: per-device, per-class usage on a Linux gateway (engine: agent/usage/).

Polls the conntrack table every ``interval_s`` (default 5 s: more often than the shortest entry
timeout, so no connection's last bytes are missed) and reports the changed hours every
``report_s``. A poll that cannot count says why in its status (accounting off, no conntrack, no
privilege) instead of reporting zero.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, ClassVar

from msgspec import Meta

from protocol import ProbeName

from ..const import DEVICE_USAGE_FILE
from ..usage.devices import METHODS, DeviceUsagePoller
from .base import Probe, ProbeOptions, ProbeResult, Requirements, register

STATE_FILE = DEVICE_USAGE_FILE
_METHOD = "method must be conntrack or capture"


class DeviceUsageOptions(ProbeOptions, frozen=True):
    report_s: Annotated[float, Meta(gt=0, le=3600)] = 60.0
    enable_accounting: bool = False
    #: None: the interface of the default route.
    wan_interface: str | None = None
    #: The home's networks (CIDR); None: those of the LAN interfaces.
    lan: tuple[str, ...] | None = None
    method: str = "conntrack"
    #: The interface the capture listens on (method ``capture``).
    interface: str | None = None

    messages: ClassVar[Mapping[str, str]] = {
        "report_s": "report_s must be between 0 and 3600 seconds",
        "enable_accounting": "enable_accounting must be true or false",
        "wan_interface": "wan_interface must be a string",
        "lan": "lan must be a list of CIDR strings",
        "method": _METHOD,
        "interface": "interface must be a string",
    }

    def __post_init__(self) -> None:
        for cidr in self.lan or ():
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"lan: {exc}") from exc
        if self.method not in METHODS:
            raise ValueError(_METHOD)


@register
class DeviceUsageProbe(Probe):
    name = ProbeName.DEVICE_USAGE
    requires = Requirements(platforms=("linux",), modules=("pyroute2",))
    default_interval_s = 5.0
    Options = DeviceUsageOptions

    def configure(self, options: DeviceUsageOptions) -> None:
        self.report_s = options.report_s
        self.enable_accounting = options.enable_accounting
        self.wan = options.wan_interface
        self.lan = None if options.lan is None else list(options.lan)
        self.method = options.method
        self.interface = options.interface
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
