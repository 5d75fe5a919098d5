"""The ``usage`` probe: bytes in and out of the WAN interface since the last run.

The WAN interface is the one of the default route unless ``interface`` says otherwise. Each run
reports one interval; the agent keeps hourly totals locally for `homediag-agent usage`. The engine,
and how wraps, resets, reboots and renames are met, is agent/usage/counters.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import ClassVar

from protocol import ProbeName

from ..usage.counters import measure_line
from .base import Probe, ProbeOptions, ProbeResult, register


class UsageOptions(ProbeOptions, frozen=True):
    #: Empty: the interface of the default route.
    interface: str = ""

    messages: ClassVar[Mapping[str, str]] = {"interface": "interface must be a string"}


@register
class UsageProbe(Probe):
    name = ProbeName.USAGE
    default_interval_s = 60.0
    Options = UsageOptions

    def configure(self, options: UsageOptions) -> None:
        self.interface = options.interface

    def _measure(self) -> ProbeResult:
        if self.state_dir is None:
            return ProbeResult.error("Error_Internal", "no state directory")
        return measure_line(self.state_dir, self.interface)

    async def run(self) -> ProbeResult:
        return await asyncio.get_running_loop().run_in_executor(None, self._measure)
