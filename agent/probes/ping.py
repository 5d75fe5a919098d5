"""The ``ping`` probe: IPPing to one configured host on a schedule (engine: agent/connectivity/ipping.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from msgspec import Meta

from protocol import ProbeName

from ..connectivity.ipping import METHODS, ip_ping
from .base import Probe, ProbeOptions, ProbeResult, register

#: A host name or an address.
Host = Annotated[str, Meta(min_length=1)]
METHOD_MESSAGE = f"method must be one of {', '.join(METHODS)}"


def check_method(method: str) -> None:
    """For an ``Options.__post_init__`` (its ValueError becomes the probe's ProbeConfigError)."""
    if method not in METHODS:
        raise ValueError(METHOD_MESSAGE)


class PingOptions(ProbeOptions, frozen=True):
    host: Host
    count: Annotated[int, Meta(ge=1, le=1000)] = 4
    timeout_s: Annotated[float, Meta(ge=0.01, le=10)] = 1.0
    echo_interval_s: Annotated[float, Meta(ge=0.002, le=10)] = 0.2
    method: str = "auto"

    messages: ClassVar[Mapping[str, str]] = {
        "host": "host is required",
        "count": "count must be an integer in [1, 1000]",
        "timeout_s": "timeout_s must be a number in [0.01, 10]",
        "echo_interval_s": "echo_interval_s must be a number in [0.002, 10]",
        "method": METHOD_MESSAGE,
    }

    def __post_init__(self) -> None:
        check_method(self.method)


@register
class PingProbe(Probe):
    """IPPing to one configured host on a schedule (the ``connectivity`` probe covers several)."""

    name = ProbeName.PING
    default_interval_s = 60.0
    Options = PingOptions

    def configure(self, options: PingOptions) -> None:
        self.host = options.host
        self.count = options.count
        self.timeout_s = options.timeout_s
        self.echo_interval_s = options.echo_interval_s
        self.method = options.method

    async def run(self) -> ProbeResult:
        return await ip_ping(
            self.host,
            count=self.count,
            timeout_s=self.timeout_s,
            interval_s=self.echo_interval_s,
            method=self.method,
        )
