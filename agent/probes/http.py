"""The ``http`` probe: HTTP checks of configured URLs (engine: agent/connectivity/http_timing.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from protocol import ProbeName
from protocol.samples import HTTPCheck, HttpData

from ..connectivity.http_timing import http_check
from .base import Probe, ProbeOptions, ProbeResult, register


class HttpOptions(ProbeOptions, frozen=True):
    urls: Annotated[tuple[str, ...], Meta(min_length=1)]

    messages: ClassVar[Mapping[str, str]] = {"urls": "urls must be a non-empty list"}

    def __post_init__(self) -> None:
        for url in self.urls:
            try:
                scheme = urlsplit(url).scheme
            except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
                raise ValueError(f"{url} is not a URL: {exc}") from exc
            if scheme not in ("http", "https"):
                raise ValueError(f"{url} is not an http(s) URL")


@register
class HttpProbe(Probe):
    """HTTP checks of configured URLs on a schedule."""

    name = ProbeName.HTTP
    default_interval_s = 300.0
    Options = HttpOptions

    def configure(self, options: HttpOptions) -> None:
        self.urls = list(options.urls)

    async def run(self) -> ProbeResult:
        checks = await asyncio.gather(*(http_check(u) for u in self.urls))
        if len(checks) == 1:
            return checks[0]
        each = [msgspec.convert({**c.data, "Status": c.status}, HTTPCheck) for c in checks]
        return ProbeResult.of(HttpData(Checks=each))
