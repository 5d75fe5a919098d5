"""The ``ping`` probe: IPPing to one configured host on a schedule (engine: agent/connectivity/ipping.py)."""

from __future__ import annotations

from typing import Any

from ..connectivity.ipping import METHODS, ip_ping
from .base import Probe, ProbeConfigError, ProbeResult, register


def check_method(name: str, method: Any) -> str:
    if method not in METHODS:
        raise ProbeConfigError(f"{name}: method must be one of {', '.join(METHODS)}")
    return str(method)


@register
class PingProbe(Probe):
    """IPPing to one configured host on a schedule (the ``connectivity`` probe covers several)."""

    name = "ping"
    default_interval_s = 60.0

    def configure(self, options: dict[str, Any]) -> None:
        self.host = options.pop("host", "")
        if not isinstance(self.host, str) or not self.host:
            raise ProbeConfigError("ping: host is required")
        self.count = _number(options.pop("count", 4), "ping: count", 1, 1000, integer=True)
        self.timeout_s = _number(options.pop("timeout_s", 1.0), "ping: timeout_s", 0.01, 10)
        self.echo_interval_s = _number(
            options.pop("echo_interval_s", 0.2), "ping: echo_interval_s", 0.002, 10
        )
        self.method = check_method("ping", options.pop("method", "auto"))
        super().configure(options)

    async def run(self) -> ProbeResult:
        return await ip_ping(
            self.host,
            count=int(self.count),
            timeout_s=self.timeout_s,
            interval_s=self.echo_interval_s,
            method=self.method,
        )


def _number(value: Any, what: str, low: float, high: float, *, integer: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not low <= value <= high or (integer and not isinstance(value, int)):
        raise ProbeConfigError(f"{what} must be {'an integer' if integer else 'a number'} in [{low}, {high}]")
    return float(value)
