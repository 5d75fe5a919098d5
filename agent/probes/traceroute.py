"""The ``traceroute`` probe: TraceRoute to one configured host (engine: agent/connectivity/trace.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from msgspec import Meta

from protocol import ProbeName

from ..connectivity.icmp import METHOD_TCP
from ..connectivity.trace import trace_route
from .base import Probe, ProbeOptions, ProbeResult, register
from .ping import METHOD_MESSAGE, Host, check_method


class TraceRouteOptions(ProbeOptions, frozen=True):
    host: Host
    max_hops: Annotated[int, Meta(ge=1, le=64)] = 30
    method: str = "auto"

    messages: ClassVar[Mapping[str, str]] = {
        "host": "host is required",
        "max_hops": "max_hops must be a whole number between 1 and 64",
        "method": METHOD_MESSAGE,
    }

    def __post_init__(self) -> None:
        check_method(self.method)
        if self.method == METHOD_TCP:
            raise ValueError("needs ICMP (auto, ICMPRaw or ICMPDatagram)")


@register
class TraceRouteProbe(Probe):
    name = ProbeName.TRACEROUTE
    default_interval_s = 3600.0
    Options = TraceRouteOptions

    def configure(self, options: TraceRouteOptions) -> None:
        self.host = options.host
        self.max_hops = options.max_hops
        self.method = options.method

    async def run(self) -> ProbeResult:
        return await trace_route(self.host, max_hops=self.max_hops, method=self.method)
