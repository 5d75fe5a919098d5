"""The ``download`` and ``upload`` probes: scheduled TR-143 tests (engine: agent/connectivity/transfer.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..connectivity.transfer import transfer_test
from .base import Probe, ProbeConfigError, ProbeResult, register


class _TransferProbe(Probe):
    upload: bool = False
    default_interval_s = 6 * 3600.0

    def configure(self, options: dict[str, Any]) -> None:
        url = options.pop("url", "")
        if not isinstance(url, str) or urlsplit(url).scheme != "http":
            raise ProbeConfigError(f"{self.name}: url must be the cloud's http:// speed-test URL")
        self.url = url
        try:
            self.duration_s = float(options.pop("duration_s", 10.0))
            self.connections = int(options.pop("connections", 4))
            self.busy_threshold_mbit = float(options.pop("busy_threshold_mbit", 1.0))
        except (TypeError, ValueError) as exc:
            raise ProbeConfigError(f"{self.name}: {exc}") from exc
        self.busy_policy = str(options.pop("busy_policy", "refuse"))
        if not 1 <= self.duration_s <= 60 or not 1 <= self.connections <= 16:
            raise ProbeConfigError(f"{self.name}: duration_s in [1, 60] and connections in [1, 16]")
        if self.busy_policy not in ("flag", "refuse"):
            raise ProbeConfigError(f"{self.name}: busy_policy is flag or refuse")
        super().configure(options)

    async def run(self) -> ProbeResult:
        return await transfer_test(
            self.url,
            upload=self.upload,
            duration_s=self.duration_s,
            connections=self.connections,
            busy_threshold_mbit=self.busy_threshold_mbit,
            busy_policy=self.busy_policy,
        )


@register
class DownloadProbe(_TransferProbe):
    """Scheduled DownloadDiagnostics; refuses by default while the household is busy."""

    name = "download"


@register
class UploadProbe(_TransferProbe):
    name = "upload"
    upload = True
