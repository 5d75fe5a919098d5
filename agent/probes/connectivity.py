"""The ``connectivity`` probe: the gateway and configured internet targets sampled every interval,
with a finding that says where trouble sits (engine: agent/connectivity/segments.py)."""

from __future__ import annotations

from typing import Any

from ..connectivity.segments import sample
from .base import Probe, ProbeConfigError, ProbeResult, register
from .ping import check_method


@register
class ConnectivityProbe(Probe):
    name = "connectivity"
    default_interval_s = 60.0

    def configure(self, options: dict[str, Any]) -> None:
        gateway = options.pop("gateway", "")
        targets = options.pop("targets", [])
        names = options.pop("dns_names", [])
        server = options.pop("dns_server", "")
        if not isinstance(gateway, str) or not isinstance(server, str):
            raise ProbeConfigError("connectivity: gateway and dns_server are strings")
        for what, value in (("targets", targets), ("dns_names", names)):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ProbeConfigError(f"connectivity: {what} must be a list of host names or addresses")
        self.gateway = gateway or None
        self.targets: list[str] = targets
        self.dns_names: list[str] = names
        self.dns_server = server or None
        try:
            self.count = int(options.pop("count", 20))
            self.echo_interval_s = float(options.pop("echo_interval_s", 0.5))
            self.timeout_s = float(options.pop("timeout_s", 1.0))
            self.loss_pct = float(options.pop("loss_threshold_pct", 2.0))
            self.latency_ms = float(options.pop("latency_threshold_ms", 100.0))
            self.jitter_ms = float(options.pop("jitter_threshold_ms", 30.0))
            self.dns_ms = float(options.pop("dns_threshold_ms", 300.0))
        except (TypeError, ValueError) as exc:
            raise ProbeConfigError(f"connectivity: {exc}") from exc
        self.method = check_method("connectivity", options.pop("method", "auto"))
        if not 1 <= self.count <= 1000 or not 0.002 <= self.echo_interval_s <= 10:
            raise ProbeConfigError("connectivity: count in [1, 1000], echo_interval_s in [0.002, 10]")
        if self.count * self.echo_interval_s + self.timeout_s > self.interval_s:
            raise ProbeConfigError("connectivity: count * echo_interval_s must fit in interval_s")
        super().configure(options)

    async def run(self) -> ProbeResult:
        return await sample(
            self.gateway,
            self.targets,
            dns_names=self.dns_names,
            dns_server=self.dns_server,
            count=self.count,
            echo_interval_s=self.echo_interval_s,
            timeout_s=self.timeout_s,
            method=self.method,
            loss_pct=self.loss_pct,
            latency_ms=self.latency_ms,
            jitter_limit_ms=self.jitter_ms,
            dns_ms=self.dns_ms,
        )
