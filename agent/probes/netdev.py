"""Per-interface byte and packet counters (psutil) as TR-181's ``Device.IP.Interface.{i}.`` table.

Raw kernel counters are sent as they are; turning them into usage (resets at
reboot, wrap-around) is the usage probe's job, which needs the history. The table is in ifindex
order (agent/usage/interfaces.py), the numbering every TR-181 ``Interface`` reference uses; an
interface the options leave out keeps its row, without ``Stats``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

import psutil

from protocol import ProbeName
from protocol.samples import UNSET, InterfaceStats, NetDevData
from protocol.samples.usage import IPInterface

from ..usage.interfaces import interface_names, oper_status
from .base import Flag, Probe, ProbeOptions, ProbeResult, register

#: TR-181 types errors and discards ``unsignedInt``: a 32-bit counter wraps (SNMP Counter32).
_WRAP_32 = 2**32


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
            rows = await loop.run_in_executor(None, self._table)
        except OSError as exc:
            return ProbeResult.error("Error_Other", f"cannot read interface counters: {exc}")
        return ProbeResult.of(NetDevData(InterfaceNumberOfEntries=len(rows), Interface=rows))

    def _table(self) -> list[IPInterface]:
        """Blocking (psutil, sysfs): on an executor."""
        counters = psutil.net_io_counters(pernic=True)
        flags = psutil.net_if_stats()
        names = interface_names()
        # An interface psutil sees but if_nameindex did not (gone in between) goes last.
        names += sorted(set(counters) - set(names))
        rows: list[IPInterface] = []
        for name in names:
            stats = flags.get(name)
            loopback = name == "lo" or (stats is not None and "loopback" in getattr(stats, "flags", ""))
            c = counters.get(name)
            wanted = not (self.include and name not in self.include) and not (self.skip_loopback and loopback)
            rows.append(
                IPInterface(
                    Name=name[:64],
                    Status=oper_status(name, stats is not None and stats.isup),
                    Type="Loopback" if loopback else "Normal",
                    Loopback=loopback,
                    Stats=_stats(c) if c is not None and wanted else UNSET,
                )
            )
        return rows


def _stats(c: Any) -> InterfaceStats:
    """psutil's counters in TR-181's types (``snetio``)."""
    return InterfaceStats(
        BytesSent=c.bytes_sent,
        BytesReceived=c.bytes_recv,
        PacketsSent=c.packets_sent,
        PacketsReceived=c.packets_recv,
        ErrorsSent=c.errout % _WRAP_32,
        ErrorsReceived=c.errin % _WRAP_32,
        DiscardPacketsSent=c.dropout % _WRAP_32,
        DiscardPacketsReceived=c.dropin % _WRAP_32,
    )
