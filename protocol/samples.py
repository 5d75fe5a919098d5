"""Typed bounds of the samples the cloud folds into its tables.

``Sample.data`` stays free-form JSON (bounded by :mod:`protocol.limits`), but the fields that the
cloud reads into typed columns (hours, byte counts, percentages, milliseconds) are checked here at
decode, with the same names the agent writes (TR-181 style). A field absent or ``null`` is fine:
error samples carry partial data. Unknown fields are ignored, so an agent may add more.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from .const import MAX_BYTE_COUNT, MAX_MBPS, MAX_MILLISECONDS, MAX_UNIX_TIME
from .errors import OutOfBounds

WireTime = Annotated[float, Meta(ge=0, le=MAX_UNIX_TIME)]
ByteCount = Annotated[int, Meta(ge=0, le=MAX_BYTE_COUNT)]
Percent = Annotated[float, Meta(ge=0, le=100)]
Milliseconds = Annotated[float, Meta(ge=0, le=MAX_MILLISECONDS)]
Mbps = Annotated[float, Meta(ge=0, le=MAX_MBPS)]
ShortText = Annotated[str, Meta(max_length=1024)]


class UsageData(msgspec.Struct, frozen=True):
    """``usage``: what the access line moved between two instants."""

    Start: WireTime | None = None
    End: WireTime | None = None
    BytesReceived: ByteCount | None = None
    BytesSent: ByteCount | None = None


class DeviceUsageHour(msgspec.Struct, frozen=True):
    Hour: WireTime | None = None
    PhysAddress: Annotated[str, Meta(max_length=64)] | None = None
    Class: Annotated[str, Meta(max_length=64)] | None = None
    BytesReceived: ByteCount = 0
    BytesSent: ByteCount = 0
    Flows: ByteCount = 0
    RemoteHosts: ByteCount = 0
    SMTPConnections: ByteCount = 0


class DeviceUsageData(msgspec.Struct, frozen=True):
    """``device_usage``: per device, traffic class and hour, running totals."""

    Hours: Annotated[list[DeviceUsageHour], Meta(max_length=20_000)] = []


class DiscoveryData(msgspec.Struct, frozen=True):
    """``discovery``: the home's inventory (Device.Hosts.Host.{i}); each host stays free-form."""

    Hosts: Annotated[list[dict[str, object]], Meta(max_length=1024)] = []


class DNSCheck(msgspec.Struct, frozen=True):
    Status: ShortText | None = None
    ResponseTime: Milliseconds | None = None


class ConnectivityData(msgspec.Struct, frozen=True):
    """``connectivity``: the segmented path check (LAN, gateway, beyond)."""

    Gateway: ShortText | None = None
    LossPercent: Percent | None = None
    LatencyP50: Milliseconds | None = None
    LatencyP95: Milliseconds | None = None
    Jitter: Milliseconds | None = None
    DNS: DNSCheck | None = None


class PingData(msgspec.Struct, frozen=True):
    """``ping``: Device.IP.Diagnostics.IPPing()."""

    Host: ShortText | None = None
    LossPercent: Percent | None = None
    AverageResponseTime: Milliseconds | None = None
    MinimumResponseTime: Milliseconds | None = None
    MaximumResponseTime: Milliseconds | None = None
    Jitter: Milliseconds | None = None


class NSLookupResult(msgspec.Struct, frozen=True):
    Status: ShortText | None = None
    ResponseTime: Milliseconds | None = None


class NSLookup(msgspec.Struct, frozen=True):
    Result: Annotated[list[NSLookupResult], Meta(max_length=1024)] = []


class DNSData(msgspec.Struct, frozen=True):
    """``dns``: Device.DNS.Diagnostics.NSLookupDiagnostics(), one lookup per name."""

    Lookups: Annotated[list[NSLookup], Meta(max_length=256)] = []


class ThroughputData(msgspec.Struct, frozen=True):
    """``download`` / ``upload``: Device.IP.Diagnostics.DownloadDiagnostics() and its upload twin."""

    URL: Annotated[str, Meta(max_length=2048)] | None = None
    ThroughputMbps: Mbps | None = None


#: The probes whose samples the cloud folds, and the bounds of their data.
SAMPLE_DATA: dict[str, type[msgspec.Struct]] = {
    "usage": UsageData,
    "device_usage": DeviceUsageData,
    "discovery": DiscoveryData,
    "connectivity": ConnectivityData,
    "ping": PingData,
    "dns": DNSData,
    "download": ThroughputData,
    "upload": ThroughputData,
}


def check_sample_data(probe: str, data: dict[str, object]) -> None:
    """Raise :class:`OutOfBounds` if a folded probe's data breaks its bounds or types."""
    schema = SAMPLE_DATA.get(probe)
    if schema is None:
        return
    try:
        msgspec.convert(data, schema)
    except msgspec.ValidationError as exc:
        raise OutOfBounds(f"{probe} sample: {exc}") from exc
