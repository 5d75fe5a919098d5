"""The ``download`` and ``upload`` probes: scheduled TR-143 tests (engine: agent/connectivity/transfer.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from msgspec import Meta

from protocol import ProbeName

from ..connectivity.transfer import transfer_test
from .base import Probe, ProbeOptions, ProbeResult, register

_URL = "url must be the cloud's http:// speed-test URL"
_RANGES = "duration_s in [1, 60] and connections in [1, 16]"


class TransferOptions(ProbeOptions, frozen=True):
    url: str
    duration_s: Annotated[float, Meta(ge=1, le=60)] = 10.0
    connections: Annotated[int, Meta(ge=1, le=16)] = 4
    busy_threshold_mbit: float = 1.0
    busy_policy: Literal["flag", "refuse"] = "refuse"

    messages: ClassVar[Mapping[str, str]] = {
        "url": _URL,
        "duration_s": _RANGES,
        "connections": _RANGES,
        "busy_threshold_mbit": "busy_threshold_mbit must be a number",
        "busy_policy": "busy_policy is flag or refuse",
    }
    strict = False  # these numbers were read with int()/float(): "10" is still 10

    def __post_init__(self) -> None:
        try:
            scheme = urlsplit(self.url).scheme
        except ValueError:
            scheme = ""
        if scheme != "http":
            raise ValueError(_URL)


class _TransferProbe(Probe):
    upload: bool = False
    default_interval_s = 6 * 3600.0
    Options = TransferOptions

    def configure(self, options: TransferOptions) -> None:
        self.url = options.url
        self.duration_s = options.duration_s
        self.connections = options.connections
        self.busy_threshold_mbit = options.busy_threshold_mbit
        self.busy_policy: str = options.busy_policy

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

    name = ProbeName.DOWNLOAD


@register
class UploadProbe(_TransferProbe):
    name = ProbeName.UPLOAD
    upload = True
