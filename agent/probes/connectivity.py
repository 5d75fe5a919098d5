"""The ``connectivity`` probe: the gateway and configured internet targets sampled every interval,
with a finding that says where trouble sits (engine: agent/connectivity/segments.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from msgspec import Meta

from protocol import ProbeName

from ..connectivity.segments import sample
from .base import Probe, ProbeConfigError, ProbeOptions, ProbeResult, register
from .ping import METHOD_MESSAGE, Host, check_method

_HOSTS = "must be a list of host names or addresses"
_RANGES = "count in [1, 1000], echo_interval_s in [0.002, 10]"


class ConnectivityOptions(ProbeOptions, frozen=True):
    #: Empty: the default route's gateway.
    gateway: str = ""
    targets: tuple[Host, ...] = ()
    dns_names: tuple[Host, ...] = ()
    #: Empty: the system's resolver.
    dns_server: str = ""
    count: Annotated[int, Meta(ge=1, le=1000)] = 20
    echo_interval_s: Annotated[float, Meta(ge=0.002, le=10)] = 0.5
    timeout_s: float = 1.0
    loss_threshold_pct: float = 2.0
    latency_threshold_ms: float = 100.0
    jitter_threshold_ms: float = 30.0
    dns_threshold_ms: float = 300.0
    method: str = "auto"

    messages: ClassVar[Mapping[str, str]] = {
        "gateway": "gateway and dns_server are strings",
        "dns_server": "gateway and dns_server are strings",
        "targets": f"targets {_HOSTS}",
        "dns_names": f"dns_names {_HOSTS}",
        "count": _RANGES,
        "echo_interval_s": _RANGES,
        "timeout_s": "timeout_s must be a number",
        "loss_threshold_pct": "loss_threshold_pct must be a number",
        "latency_threshold_ms": "latency_threshold_ms must be a number",
        "jitter_threshold_ms": "jitter_threshold_ms must be a number",
        "dns_threshold_ms": "dns_threshold_ms must be a number",
        "method": METHOD_MESSAGE,
    }
    strict = False  # these numbers were read with int()/float(): "20" is still 20

    def __post_init__(self) -> None:
        check_method(self.method)


@register
class ConnectivityProbe(Probe):
    name = ProbeName.CONNECTIVITY
    default_interval_s = 60.0
    Options = ConnectivityOptions

    def configure(self, options: ConnectivityOptions) -> None:
        self.gateway = options.gateway or None
        self.targets = list(options.targets)
        self.dns_names = list(options.dns_names)
        self.dns_server = options.dns_server or None
        self.count = options.count
        self.echo_interval_s = options.echo_interval_s
        self.timeout_s = options.timeout_s
        self.loss_pct = options.loss_threshold_pct
        self.latency_ms = options.latency_threshold_ms
        self.jitter_ms = options.jitter_threshold_ms
        self.dns_ms = options.dns_threshold_ms
        self.method = options.method
        if self.count * self.echo_interval_s + self.timeout_s > self.interval_s:
            raise ProbeConfigError("connectivity: count * echo_interval_s must fit in interval_s")

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
