"""The ``usage`` probe: bytes in and out of the WAN interface since the last run.

The WAN interface is the one of the default route unless ``interface`` says otherwise. Each run
reports one interval; the agent keeps hourly totals locally for `homediag-agent usage`. The engine,
and how wraps, resets, reboots and renames are met, is agent/usage/counters.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..usage.counters import measure_line
from .base import Probe, ProbeConfigError, ProbeResult, register


@register
class UsageProbe(Probe):
    name = "usage"
    default_interval_s = 60.0

    def configure(self, options: dict[str, Any]) -> None:
        interface = options.pop("interface", "")
        if not isinstance(interface, str):
            raise ProbeConfigError("usage: interface must be a string")
        self.interface = interface
        super().configure(options)

    def _measure(self) -> ProbeResult:
        if self.state_dir is None:
            return ProbeResult.error("Error_Internal", "no state directory")
        return measure_line(self.state_dir, self.interface)

    async def run(self) -> ProbeResult:
        return await asyncio.get_running_loop().run_in_executor(None, self._measure)
