"""The ``traceroute`` probe: TraceRoute to one configured host (engine: agent/connectivity/trace.py)."""

from __future__ import annotations

from typing import Any

from ..connectivity.icmp import METHOD_TCP
from ..connectivity.trace import trace_route
from .base import Probe, ProbeConfigError, ProbeResult, register
from .ping import check_method


@register
class TraceRouteProbe(Probe):
    name = "traceroute"
    default_interval_s = 3600.0

    def configure(self, options: dict[str, Any]) -> None:
        self.host = options.pop("host", "")
        if not isinstance(self.host, str) or not self.host:
            raise ProbeConfigError("traceroute: host is required")
        max_hops = options.pop("max_hops", 30)
        if not isinstance(max_hops, int) or isinstance(max_hops, bool) or not 1 <= max_hops <= 64:
            raise ProbeConfigError("traceroute: max_hops must be a whole number between 1 and 64")
        self.max_hops = max_hops
        self.method = check_method("traceroute", options.pop("method", "auto"))
        if self.method == METHOD_TCP:
            raise ProbeConfigError("traceroute: needs ICMP (auto, ICMPRaw or ICMPDatagram)")
        super().configure(options)

    async def run(self) -> ProbeResult:
        return await trace_route(self.host, max_hops=self.max_hops, method=self.method)
