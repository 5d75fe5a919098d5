"""Discovery: what is in the home, every ``interval_s`` (see agent/discovery and docs/discovery.md).

A run whose inventory changed reports all of it as TR-181's ``Hosts.Host`` and ``DNS.SD.Service``
tables (devices not seen this cycle stay with ``Active`` false until forgotten after a week) with
its ``InventoryHash``: the cloud
folds each report on its own, without diffs that a lost or re-ordered report could break. A run
that found exactly what the last full report said sends the hash and ``Unchanged`` only (the cloud
moves last-seen on), and at least every ``full_every_s`` the whole inventory goes again, so that a
cloud that lost state heals within the hour. A home has tens of devices: a full report is a few KB.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Annotated, ClassVar

from msgspec import Meta

from protocol import ProbeName
from protocol.samples import UNSET, DiscoveryData

from ..discovery import Device, Inventory, KnownHost, SweepOptions, inventory_hash, run_cycle, tables
from ..discovery.const import DEFAULT_SWEEP_RATE_PPS, INVENTORY_FILE, MAX_SWEEP_HOSTS
from .base import Probe, ProbeOptions, ProbeResult, Requirements, register

_WEEK_S = 7 * 86400.0
_SWITCHES = "arp_sweep and allow_public are true or false"


def _between(name: str, low: float, high: float) -> str:
    return f"{name} must be a number between {low} and {high}"


class DiscoveryOptions(ProbeOptions, frozen=True):
    timeout_s: Annotated[float, Meta(ge=1.0, le=60.0)] = 5.0
    #: Empty: every LAN interface.
    interface: str = ""
    arp_sweep: bool = True
    #: Sweep a public range too (a home whose LAN is numbered from one); refused by default.
    allow_public: bool = False
    full_every_s: Annotated[float, Meta(ge=0.0, le=_WEEK_S)] = 3600.0
    rate_pps: Annotated[float, Meta(ge=1, le=10000)] = float(DEFAULT_SWEEP_RATE_PPS)
    #: A number, as before (a fraction is dropped).
    max_hosts: Annotated[float, Meta(ge=1, le=65534)] = float(MAX_SWEEP_HOSTS)

    messages: ClassVar[Mapping[str, str]] = {
        "timeout_s": _between("timeout_s", 1.0, 60.0),
        "interface": "interface must be a string",
        "arp_sweep": _SWITCHES,
        "allow_public": _SWITCHES,
        "full_every_s": _between("full_every_s", 0.0, _WEEK_S),
        "rate_pps": _between("rate_pps", 1, 10000),
        "max_hosts": _between("max_hosts", 1, 65534),
    }


@register
class DiscoveryProbe(Probe):
    name = ProbeName.DISCOVERY
    requires = Requirements(platforms=("linux",), capabilities=("CAP_NET_RAW",), modules=("zeroconf",))
    default_interval_s = 300.0
    Options = DiscoveryOptions

    def configure(self, options: DiscoveryOptions) -> None:
        self.timeout_s = options.timeout_s
        self.interface = options.interface or None
        self.full_every_s = options.full_every_s
        self._last_hash = ""
        self._last_full = 0.0
        self._lock = asyncio.Lock()
        self.sweep = SweepOptions(
            enabled=options.arp_sweep,
            rate_pps=options.rate_pps,
            max_hosts=int(options.max_hosts),
            allow_public=options.allow_public,
        )

    async def run(self) -> ProbeResult:
        return await self._run(scheduled=True)

    async def run_now(self) -> ProbeResult:
        """The whole inventory now, leaving the schedule's hash, clock and saved inventory alone.

        Otherwise the next scheduled run would find "no change" against a report the cloud never
        folded as one of the schedule's, and a change would stay hidden until ``full_every_s``.
        """
        return await self._run(scheduled=False)

    def _fold(self, devices: list[Device], now: float, scheduled: bool) -> list[KnownHost]:
        inventory = Inventory(self.state_dir / INVENTORY_FILE if self.state_dir else None)
        return inventory.update(devices, now, save=scheduled)

    async def _run(self, *, scheduled: bool) -> ProbeResult:
        # One cycle at a time: two would sweep twice and write inventory.json through the same .tmp.
        async with self._lock:
            result = await run_cycle(self.timeout_s, self.interface, self.sweep)
            if "all" in result.methods:
                return ProbeResult.error("Error_NoInterface", result.methods["all"])
            now = time.time()
            # Reading and saving inventory.json (fsynced) is blocking work: off the loop.
            hosts = await asyncio.to_thread(self._fold, result.devices, now, scheduled)
        digest = inventory_hash(hosts)
        unchanged = scheduled and digest == self._last_hash and now - self._last_full < self.full_every_s
        if not unchanged and scheduled:
            self._last_hash, self._last_full = digest, now
        counters = result.counters
        # The inventory file's entries, typed (an entry an older agent wrote is checked here).
        table, dns = (UNSET, UNSET) if unchanged else tables(hosts, counters)
        data = DiscoveryData(
            Hosts=table,
            DNS=dns,
            InventoryHash=digest,
            Methods=dict(result.methods),
            Counters=dict(counters),
            DurationS=result.duration_s,
            Unchanged=True if unchanged else UNSET,
        )
        return ProbeResult.of(data)
