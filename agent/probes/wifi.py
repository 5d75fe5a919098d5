"""The ``wifi`` probe: this host's Wi-Fi link on a schedule (engine: agent/connectivity/wireless.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..connectivity.wireless import PROC_WIRELESS, parse_proc_wireless, wifi_link
from .base import Probe, ProbeConfigError, ProbeResult, register


@register
class WifiProbe(Probe):
    name = "wifi"
    default_interval_s = 60.0

    def configure(self, options: dict[str, Any]) -> None:
        interface = options.pop("interface", "")
        if not isinstance(interface, str):
            raise ProbeConfigError("wifi: interface must be a string")
        self.interface = interface or None
        super().configure(options)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            text = Path(PROC_WIRELESS).read_text()
        except OSError:
            text = ""
        return None if parse_proc_wireless(text) else "this host has no Wi-Fi interface"

    async def run(self) -> ProbeResult:
        return await wifi_link(self.interface)
