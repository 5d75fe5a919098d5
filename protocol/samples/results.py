"""What a command's ``CommandResult.data`` holds, by command (protocol/catalogue.py).

The diagnostics answer in TR-181 / TR-143 names with their ``Status`` first-class
(``{"Status": ..., **outputs}``); a refused, failed or timed-out command carries ``reason`` only.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from .base import SampleData
from .connectivity import HTTPCheckData, NSLookupData, PingData, ThroughputData, TraceRouteData
from .fields import UNSET, Maybe, Message, Name, ShortText, Status, Url
from .inventory import Printer

__all__ = [
    "AddPrinterResult",
    "HTTPCheckDiagnostics",
    "IPPingDiagnostics",
    "NSLookupDiagnostics",
    "PinnedKeys",
    "PlanSaved",
    "Refusal",
    "RunProbeResult",
    "SupportBundle",
    "TraceRouteDiagnostics",
    "TransferDiagnostics",
]


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Any command the agent refused, that failed or timed out: why, in words."""

    reason: Maybe[Message] = UNSET


class IPPingDiagnostics(PingData, frozen=True, kw_only=True):
    """``ping``: ``Device.IP.Diagnostics.IPPing()`` with its Status."""

    Status: Maybe[Status] = UNSET


class TraceRouteDiagnostics(TraceRouteData, frozen=True, kw_only=True):
    """``traceroute``: ``Device.IP.Diagnostics.TraceRoute()`` with its Status."""

    Status: Maybe[Status] = UNSET


class NSLookupDiagnostics(NSLookupData, frozen=True, kw_only=True):
    """``dns_lookup``: ``Device.DNS.Diagnostics.NSLookupDiagnostics()`` with its Status."""

    Status: Maybe[Status] = UNSET


class HTTPCheckDiagnostics(HTTPCheckData, frozen=True, kw_only=True):
    """``http_check``: one GET, timed, with its Status."""

    Status: Maybe[Status] = UNSET


class TransferDiagnostics(ThroughputData, frozen=True, kw_only=True):
    """``download_test`` / ``upload_test``: Download/UploadDiagnostics (TR-143) with its Status."""

    Status: Maybe[Status] = UNSET


class RunProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    """``run_probe``: one run of a probe; ``data`` is that probe's kind (see ``SAMPLE_DATA``)."""

    probe: Maybe[Name] = UNSET
    status: Maybe[Status] = UNSET
    data: Maybe[dict[str, Any]] = UNSET


class SupportBundle(msgspec.Struct, frozen=True, kw_only=True):
    """``support_bundle``: the agent's status file and its recent log lines (no secrets)."""

    status: Maybe[dict[str, Any]] = UNSET
    log: Maybe[Annotated[list[Annotated[str, Meta(max_length=1024)]], Meta(max_length=1000)]] = UNSET


class PlanSaved(msgspec.Struct, frozen=True, kw_only=True):
    """``set_plan``."""

    saved: Maybe[bool] = UNSET


class PinnedKeys(msgspec.Struct, frozen=True, kw_only=True):
    """``trust_cloud_key`` / ``retire_cloud_key``: the cloud keys the agent pins now."""

    pinned: Maybe[Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=64)]] = UNSET


class AddPrinterResult(SampleData, frozen=True, kw_only=True):
    """``add_printer``: the CUPS queue made for the printer, and its test page."""

    Queue: Maybe[Name] = UNSET
    DeviceURI: Maybe[Url] = UNSET
    Model: Maybe[ShortText] = UNSET
    TestPageJob: Maybe[ShortText] = UNSET
    TestPageState: Maybe[Name] = UNSET
    Status: Maybe[Status] = UNSET
    Message: Maybe[Message] = UNSET


#: ``printer_check`` answers with the printer's summary itself.
PrinterCheck = Printer
