"""The ``dns`` probe: NSLookupDiagnostics of configured names (engine: agent/connectivity/nslookup.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from protocol import ProbeName
from protocol.samples.connectivity import DNSData, NSLookupRun

from ..connectivity.nslookup import ns_lookup
from .base import COMPLETE, Probe, ProbeOptions, ProbeResult, Requirements, register
from .ping import Host


class DnsOptions(ProbeOptions, frozen=True):
    names: Annotated[tuple[Host, ...], Meta(min_length=1)]
    #: Empty: the system's resolver.
    server: str = ""
    timeout_s: Annotated[float, Meta(ge=0.05, le=30)] = 2.0

    messages: ClassVar[Mapping[str, str]] = {
        "names": "names must be a non-empty list of host names",
        "server": "server must be a string",
        "timeout_s": "timeout_s must be between 0.05 and 30",
    }


@register
class DnsProbe(Probe):
    """NSLookup of configured names against a configured (or the system's) resolver, on a schedule.

    Its status says whether the lookups ran: ``Complete``, or when no lookup could run at all the
    first one's NSLookupDiagnostics ``Status`` (``Error_DNSServerNotResolved``). How each name went
    is its own ``Result.{i}.Status`` in ``Lookups``: a per-result value (``Error_Timeout``) is not a
    value of the top-level enumeration, so it never becomes the sample's status.
    """

    name = ProbeName.DNS
    requires = Requirements(modules=("dns.asyncquery",))
    default_interval_s = 300.0
    Options = DnsOptions

    def configure(self, options: DnsOptions) -> None:
        self.names = list(options.names)
        self.server = options.server or None
        self.timeout_s = options.timeout_s

    async def run(self) -> ProbeResult:
        lookups = await asyncio.gather(
            *(ns_lookup(n, server=self.server, timeout_s=self.timeout_s) for n in self.names)
        )
        failed = [r for r in lookups if r.status != COMPLETE]
        if failed and len(failed) == len(lookups):
            return failed[0]
        runs = [
            msgspec.structs.replace(msgspec.convert(r.data, NSLookupRun), Status=r.status) for r in lookups
        ]
        return ProbeResult.of(DNSData(Lookups=runs))
