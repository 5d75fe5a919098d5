"""The ``http`` probe: HTTP checks of configured URLs (engine: agent/connectivity/http_timing.py)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from ..connectivity.http_timing import http_check
from .base import Probe, ProbeConfigError, ProbeResult, register


@register
class HttpProbe(Probe):
    """HTTP checks of configured URLs on a schedule."""

    name = "http"
    default_interval_s = 300.0

    def configure(self, options: dict[str, Any]) -> None:
        urls = options.pop("urls", [])
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ProbeConfigError("http: urls must be a non-empty list")
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                raise ProbeConfigError(f"http: {url} is not an http(s) URL")
        self.urls: list[str] = urls
        super().configure(options)

    async def run(self) -> ProbeResult:
        checks = await asyncio.gather(*(http_check(u) for u in self.urls))
        if len(checks) == 1:
            return checks[0]
        return ProbeResult(data={"Checks": [{"Status": c.status, **c.data} for c in checks]})
