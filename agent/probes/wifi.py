"""The ``wifi`` probe: this host's Wi-Fi link on a schedule (engine: agent/connectivity/wireless.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from protocol import ProbeName

from ..connectivity.wireless import PROC_WIRELESS, parse_proc_wireless, wifi_link
from .base import Probe, ProbeOptions, ProbeResult, register


class WifiOptions(ProbeOptions, frozen=True):
    #: Empty: the first Wi-Fi interface.
    interface: str = ""

    messages: ClassVar[Mapping[str, str]] = {"interface": "interface must be a string"}


@register
class WifiProbe(Probe):
    name = ProbeName.WIFI
    default_interval_s = 60.0
    Options = WifiOptions

    def configure(self, options: WifiOptions) -> None:
        self.interface = options.interface or None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            text = Path(PROC_WIRELESS).read_text()
        except OSError:
            text = ""
        return None if parse_proc_wireless(text) else "this host has no Wi-Fi interface"

    async def run(self) -> ProbeResult:
        return await wifi_link(self.interface)
