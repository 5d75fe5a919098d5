"""Per-interface byte and packet counters (psutil), named as TR-181 ``Device.IP.Interface.{i}.Stats``.

Raw kernel counters are sent as they are; turning them into usage (resets at
reboot, wrap-around) is the usage probe's job, which needs the history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import ClassVar

import psutil

from protocol import ProbeName
from protocol.samples import InterfaceStats, NetDevData

from .base import Flag, Probe, ProbeOptions, ProbeResult, register


class NetDevOptions(ProbeOptions, frozen=True):
    #: Only these interfaces; empty: all of them.
    interfaces: tuple[str, ...] = ()
    skip_loopback: Flag = False

    messages: ClassVar[Mapping[str, str]] = {
        "interfaces": "interfaces must be a list of interface names",
        "skip_loopback": "skip_loopback must be true or false",
    }


@register
class NetDevProbe(Probe):
    name = ProbeName.NETDEV
    default_interval_s = 60.0
    Options = NetDevOptions

    def configure(self, options: NetDevOptions) -> None:
        self.include: frozenset[str] = frozenset(options.interfaces)
        self.skip_loopback = bool(options.skip_loopback)

    async def run(self) -> ProbeResult:
        loop = asyncio.get_running_loop()
        try:
            counters = await loop.run_in_executor(None, psutil.net_io_counters, True)
        except OSError as exc:
            return ProbeResult.error("Error_Other", f"cannot read interface counters: {exc}")
        interfaces: dict[str, InterfaceStats] = {}
        for name, c in sorted(counters.items()):
            if self.include and name not in self.include:
                continue
            if self.skip_loopback and name == "lo":
                continue
            interfaces[name] = InterfaceStats(
                BytesSent=c.bytes_sent,
                BytesReceived=c.bytes_recv,
                PacketsSent=c.packets_sent,
                PacketsReceived=c.packets_recv,
                ErrorsSent=c.errout,
                ErrorsReceived=c.errin,
                DiscardPacketsSent=c.dropout,
                DiscardPacketsReceived=c.dropin,
            )
        return ProbeResult.of(NetDevData(Interface=interfaces))
