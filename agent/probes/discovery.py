"""Discovery: what is in the home, every ``interval_s`` (see agent/discovery and docs/discovery.md).

A run whose inventory changed reports all of it as TR-181 ``Hosts`` entries (devices not seen this
cycle stay with ``Active`` false until forgotten after a week) with its ``InventoryHash``: the cloud
folds each report on its own, without diffs that a lost or re-ordered report could break. A run
that found exactly what the last full report said sends the hash and ``Unchanged`` only (the cloud
moves last-seen on), and at least every ``full_every_s`` the whole inventory goes again, so that a
cloud that lost state heals within the hour. A home has tens of devices: a full report is a few KB.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..discovery import Inventory, SweepOptions, inventory_hash, run_cycle
from ..discovery.const import DEFAULT_SWEEP_RATE_PPS, INVENTORY_FILE, MAX_SWEEP_HOSTS
from .base import Probe, ProbeConfigError, ProbeResult, Requirements, register


def _number(options: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = options.pop(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise ProbeConfigError(f"discovery: {name} must be a number between {low} and {high}")
    return float(value)


@register
class DiscoveryProbe(Probe):
    name = "discovery"
    requires = Requirements(platforms=("linux",), capabilities=("CAP_NET_RAW",), modules=("zeroconf",))
    default_interval_s = 300.0

    def configure(self, options: dict[str, Any]) -> None:
        self.timeout_s = _number(options, "timeout_s", 5.0, 1.0, 60.0)
        interface = options.pop("interface", "")
        if not isinstance(interface, str):
            raise ProbeConfigError("discovery: interface must be a string")
        self.interface = interface or None
        sweep = options.pop("arp_sweep", True)
        allow_public = options.pop("allow_public", False)
        if not isinstance(sweep, bool) or not isinstance(allow_public, bool):
            raise ProbeConfigError("discovery: arp_sweep and allow_public are true or false")
        self.full_every_s = _number(options, "full_every_s", 3600.0, 0.0, 7 * 86400.0)
        self._last_hash = ""
        self._last_full = 0.0
        self._lock = asyncio.Lock()
        self.sweep = SweepOptions(
            enabled=sweep,
            rate_pps=_number(options, "rate_pps", DEFAULT_SWEEP_RATE_PPS, 1, 10000),
            max_hosts=int(_number(options, "max_hosts", MAX_SWEEP_HOSTS, 1, 65534)),
            allow_public=allow_public,
        )
        super().configure(options)

    async def run(self) -> ProbeResult:
        return await self._run(scheduled=True)

    async def run_now(self) -> ProbeResult:
        """The whole inventory now, leaving the schedule's hash, clock and saved inventory alone.

        Otherwise the next scheduled run would find "no change" against a report the cloud never
        folded as one of the schedule's, and a change would stay hidden until ``full_every_s``.
        """
        return await self._run(scheduled=False)

    async def _run(self, *, scheduled: bool) -> ProbeResult:
        # One cycle at a time: two would sweep twice and write inventory.json through the same .tmp.
        async with self._lock:
            result = await run_cycle(self.timeout_s, self.interface, self.sweep)
            if "all" in result.methods:
                return ProbeResult.error("Error_NoInterface", result.methods["all"])
            now = time.time()
            inventory = Inventory(self.state_dir / INVENTORY_FILE if self.state_dir else None)
            hosts = inventory.update(result.devices, now, save=scheduled)
        digest = inventory_hash(hosts)
        data: dict[str, Any] = {
            "HostNumberOfEntries": len(hosts),
            "ActiveHosts": sum(1 for h in hosts if h["Active"]),
            "InventoryHash": digest,
            "Methods": dict(result.methods),
            "Counters": dict(result.counters),
            "DurationS": result.duration_s,
        }
        if scheduled and digest == self._last_hash and now - self._last_full < self.full_every_s:
            data["Unchanged"] = True
        else:
            data["Hosts"] = hosts
            if scheduled:
                self._last_hash, self._last_full = digest, now
        return ProbeResult(data=data)
