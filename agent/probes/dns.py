"""The ``dns`` probe: NSLookupDiagnostics of configured names (engine: agent/connectivity/nslookup.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..connectivity.nslookup import ns_lookup
from .base import COMPLETE, Probe, ProbeConfigError, ProbeResult, Requirements, register


@register
class DnsProbe(Probe):
    """NSLookup of configured names against a configured (or the system's) resolver, on a schedule.

    Its status is ``Complete`` when every name resolved, else the first failing result's status
    (``Error_Timeout``, ``Error_HostNameNotResolved``…); ``Lookups`` holds every result.
    """

    name = "dns"
    requires = Requirements(modules=("dns.asyncquery",))
    default_interval_s = 300.0

    def configure(self, options: dict[str, Any]) -> None:
        names = options.pop("names", [])
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ProbeConfigError("dns: names must be a non-empty list of host names")
        self.names: list[str] = names
        server = options.pop("server", "")
        if not isinstance(server, str):
            raise ProbeConfigError("dns: server must be a string")
        self.server = server or None
        timeout = options.pop("timeout_s", 2.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0.05 <= timeout <= 30:
            raise ProbeConfigError("dns: timeout_s must be between 0.05 and 30")
        self.timeout_s = float(timeout)
        super().configure(options)

    async def run(self) -> ProbeResult:
        lookups = await asyncio.gather(
            *(ns_lookup(n, server=self.server, timeout_s=self.timeout_s) for n in self.names)
        )
        failed = [r for r in lookups if r.status != COMPLETE]
        if failed and len(failed) == len(lookups):
            return failed[0]
        data = {"Lookups": [r.data for r in lookups]}
        # The schedule's status says whether names resolved: the first failing result's status.
        statuses = [res["Status"] for r in lookups for res in r.data.get("Result", [])]
        bad = next((s for s in statuses if s != "Success"), None)
        return ProbeResult(status=bad or COMPLETE, data=data)
