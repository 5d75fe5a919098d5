"""How well the home reaches its gateway and the internet: ``ping``, ``traceroute``, ``dns``,
``http``, ``download``/``upload``, ``wifi`` and ``connectivity`` (agent/connectivity/).

Names are TR-181's (``Device.IP.Diagnostics.IPPing()``, ``TraceRoute()``,
``Device.DNS.Diagnostics.NSLookupDiagnostics()``) and TR-143's (Download/UploadDiagnostics). Their
types are the agent's today: response times are float milliseconds where TR-181 has unsignedInt
(the ``...Detailed`` microsecond integers are exact), ``RTTimes`` a comma-separated string;
issue 19 makes them exact.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .base import SampleData
from .fields import (
    UNSET,
    Address,
    ByteCount,
    Count,
    DateTime,
    Int64,
    Maybe,
    Mbps,
    Message,
    Microseconds,
    Milliseconds,
    Name,
    Percent,
    ShortText,
    Status,
    Url,
)

HTTPStatusCode = Annotated[int, Meta(ge=0, le=999)]
Seconds = Annotated[float, Meta(ge=0, le=3600)]
#: Signal, noise and their difference in dBm (old drivers' 8-bit values are converted).
Decibels = Annotated[float, Meta(ge=-1000, le=1000)]


class PingData(SampleData, frozen=True, kw_only=True):
    """``ping``: ``Device.IP.Diagnostics.IPPing()`` outputs, with ``Method``, ``LossPercent``,
    ``Jitter`` and the ICMP unreachables as extensions."""

    Host: Maybe[ShortText] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    Method: Maybe[Name] = UNSET
    NumberOfRepetitions: Maybe[Count] = UNSET
    SuccessCount: Maybe[Count] = UNSET
    FailureCount: Maybe[Count] = UNSET
    LossPercent: Maybe[Percent] = UNSET
    AverageResponseTime: Maybe[Milliseconds] = UNSET
    MinimumResponseTime: Maybe[Milliseconds] = UNSET
    MaximumResponseTime: Maybe[Milliseconds] = UNSET
    AverageResponseTimeDetailed: Maybe[Microseconds] = UNSET
    MinimumResponseTimeDetailed: Maybe[Microseconds] = UNSET
    MaximumResponseTimeDetailed: Maybe[Microseconds] = UNSET
    Jitter: Maybe[Milliseconds] = UNSET
    UnreachableCount: Maybe[Count] = UNSET
    UnreachableFrom: Maybe[Address] = UNSET


class RouteHop(msgspec.Struct, frozen=True, kw_only=True):
    """``TraceRoute().RouteHops.{i}``; a hop that never answered has an empty ``HostAddress``."""

    Host: Maybe[Name] = UNSET
    HostAddress: Maybe[Address] = UNSET
    ErrorCode: Maybe[Count] = UNSET
    RTTimes: Maybe[ShortText] = UNSET


class TraceRouteData(SampleData, frozen=True, kw_only=True):
    """``traceroute``: ``Device.IP.Diagnostics.TraceRoute()`` outputs."""

    Host: Maybe[ShortText] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    Method: Maybe[Name] = UNSET
    RouteHopsNumberOfEntries: Maybe[Count] = UNSET
    RouteHops: Maybe[Annotated[list[RouteHop], Meta(max_length=64)]] = UNSET
    ResponseTime: Maybe[Milliseconds] = UNSET


class NSLookupResult(msgspec.Struct, frozen=True, kw_only=True):
    """``NSLookupDiagnostics().Result.{i}``: one query's answer, timed."""

    Status: Maybe[Status] = UNSET
    AnswerType: Maybe[Name] = UNSET
    HostNameReturned: Maybe[ShortText] = UNSET
    #: Comma-separated, as TR-181 has it (several addresses can pass its 45 characters).
    IPAddresses: Maybe[ShortText] = UNSET
    DNSServerIP: Maybe[Address] = UNSET
    ResponseTime: Maybe[Milliseconds] = UNSET
    RCode: Maybe[Name] = UNSET
    Message: Maybe[Message] = UNSET


class NSLookupData(SampleData, frozen=True, kw_only=True):
    """One ``Device.DNS.Diagnostics.NSLookupDiagnostics()`` run (the ``dns_lookup`` command)."""

    HostName: Maybe[ShortText] = UNSET
    DNSServer: Maybe[ShortText] = UNSET
    NumberOfRepetitions: Maybe[Count] = UNSET
    SuccessCount: Maybe[Count] = UNSET
    ResultNumberOfEntries: Maybe[Count] = UNSET
    Result: Maybe[Annotated[list[NSLookupResult], Meta(max_length=1024)]] = UNSET


#: The name of the bounds-only Struct before every kind was typed.
NSLookup = NSLookupData


class DNSData(SampleData, frozen=True, kw_only=True):
    """``dns``: one lookup per configured name; when every one failed, the first failure's data."""

    HostName: Maybe[ShortText] = UNSET
    Lookups: Maybe[Annotated[list[NSLookupData], Meta(max_length=256)]] = UNSET


class HTTPCheckData(SampleData, frozen=True, kw_only=True):
    """One GET with its phases timed (agent/connectivity/http_timing.py); failures name TR-143's."""

    URL: Maybe[Url] = UNSET
    DNSResolutionTime: Maybe[Milliseconds] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    TCPConnectTime: Maybe[Milliseconds] = UNSET
    TLSHandshakeTime: Maybe[Milliseconds] = UNSET
    TimeToFirstByte: Maybe[Milliseconds] = UNSET
    HTTPStatusCode: Maybe[HTTPStatusCode] = UNSET
    BytesReceived: Maybe[ByteCount] = UNSET
    TotalTime: Maybe[Milliseconds] = UNSET


class HTTPCheck(HTTPCheckData, frozen=True, kw_only=True):
    """One URL of several in an ``http`` sample, with its own status."""

    Status: Maybe[Status] = UNSET


class HttpData(HTTPCheckData, frozen=True, kw_only=True):
    """``http``: one URL's check, or ``Checks`` when several URLs are configured."""

    Checks: Maybe[Annotated[list[HTTPCheck], Meta(max_length=256)]] = UNSET


class PerConnectionResult(msgspec.Struct, frozen=True, kw_only=True):
    """TR-143 ``PerConnectionResult.{i}``; times are null where that moment never came."""

    TCPOpenRequestTime: Maybe[DateTime | None] = UNSET
    TCPOpenResponseTime: Maybe[DateTime | None] = UNSET
    ROMTime: Maybe[DateTime | None] = UNSET
    BOMTime: Maybe[DateTime | None] = UNSET
    EOMTime: Maybe[DateTime | None] = UNSET
    TestBytes: Maybe[ByteCount] = UNSET
    HTTPStatusCode: Maybe[HTTPStatusCode] = UNSET
    Error: Maybe[Message] = UNSET


class IncrementalResult(msgspec.Struct, frozen=True, kw_only=True):
    """The payload bytes of one second of the test."""

    Interval: Maybe[Count] = UNSET
    TestBytesReceived: Maybe[ByteCount] = UNSET


class ThroughputData(SampleData, frozen=True, kw_only=True):
    """``download`` / ``upload``: ``DownloadDiagnostics()`` and ``UploadDiagnostics()`` (TR-143,
    time-based), with the busy-household check and ``ThroughputMbps`` as extensions."""

    URL: Maybe[Url] = UNSET
    TimeBasedTestDuration: Maybe[Seconds] = UNSET
    NumberOfConnections: Maybe[Count] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    Interface: Maybe[Name] = UNSET
    BackgroundTrafficMbps: Maybe[Mbps] = UNSET
    Busy: Maybe[bool] = UNSET
    Warning: Maybe[Message] = UNSET
    #: The interface's counters over the test: a difference (TR-181 has unsignedLong).
    TotalBytesReceived: Maybe[Int64] = UNSET
    TotalBytesSent: Maybe[Int64] = UNSET
    PerConnectionResult: Maybe[Annotated[list[PerConnectionResult], Meta(max_length=64)]] = UNSET
    TCPOpenRequestTime: Maybe[DateTime | None] = UNSET
    TCPOpenResponseTime: Maybe[DateTime | None] = UNSET
    ROMTime: Maybe[DateTime | None] = UNSET
    BOMTime: Maybe[DateTime | None] = UNSET
    EOMTime: Maybe[DateTime | None] = UNSET
    TestBytesSent: Maybe[ByteCount] = UNSET
    TestBytesReceivedByServer: Maybe[ByteCount] = UNSET
    TestBytesReceived: Maybe[ByteCount] = UNSET
    BOMToEOMThroughputMbps: Maybe[Mbps] = UNSET
    WarmupSeconds: Maybe[Seconds] = UNSET
    ThroughputMbps: Maybe[Mbps] = UNSET
    IncrementalResult: Maybe[Annotated[list[IncrementalResult], Meta(max_length=3600)]] = UNSET
    ConnectionErrors: Maybe[Annotated[list[Message], Meta(max_length=64)]] = UNSET


class WifiData(SampleData, frozen=True, kw_only=True):
    """``wifi``: this host's Wi-Fi link (``Error_NotApplicable`` with a message where it has none).

    ``SignalStrength``, ``Noise`` and the rates follow TR-181's ``WiFi.AssociatedDevice``.
    """

    Interface: Maybe[Name] = UNSET
    LinkQuality: Maybe[Decibels] = UNSET
    SignalStrength: Maybe[Decibels] = UNSET
    Noise: Maybe[Decibels] = UNSET
    SNR: Maybe[Decibels | None] = UNSET
    SSID: Maybe[Name] = UNSET
    #: MHz.
    Frequency: Maybe[Annotated[float, Meta(ge=0, le=1_000_000)]] = UNSET
    #: kbit/s.
    LastDataUplinkRate: Maybe[Count] = UNSET
    LastDataDownlinkRate: Maybe[Count] = UNSET


class TargetSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One pinged host of a ``connectivity`` interval."""

    Host: Maybe[ShortText] = UNSET
    Segment: Maybe[Literal["lan", "internet"]] = UNSET
    Status: Maybe[Status] = UNSET
    Method: Maybe[Name] = UNSET
    Sent: Maybe[Count] = UNSET
    Received: Maybe[Count] = UNSET
    LossPercent: Maybe[Percent] = UNSET
    LatencyP50: Maybe[Milliseconds] = UNSET
    LatencyP95: Maybe[Milliseconds] = UNSET
    Jitter: Maybe[Milliseconds] = UNSET
    Message: Maybe[Message] = UNSET


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """Where trouble sits: ``lan``, ``beyond_gateway``, ``remote``, ``dns`` or ``none``."""

    Where: Maybe[Name] = UNSET
    Message: Maybe[Message] = UNSET


class LANSummary(msgspec.Struct, frozen=True, kw_only=True):
    LossPercent: Maybe[Percent] = UNSET
    LatencyP50: Maybe[Milliseconds] = UNSET
    LatencyP95: Maybe[Milliseconds] = UNSET
    Jitter: Maybe[Milliseconds] = UNSET


class DNSCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The interval's lookup: its first result's status and time (null when it had none)."""

    Status: Maybe[Status | None] = UNSET
    ResponseTime: Maybe[Milliseconds | None] = UNSET


class ConnectivityData(SampleData, frozen=True, kw_only=True):
    """``connectivity``: the segmented path check (LAN, gateway, beyond) of one interval."""

    Gateway: Maybe[ShortText] = UNSET
    Targets: Maybe[Annotated[list[TargetSummary], Meta(max_length=256)]] = UNSET
    Finding: Maybe[Finding] = UNSET
    LAN: Maybe[LANSummary] = UNSET
    LossPercent: Maybe[Percent] = UNSET
    LatencyP50: Maybe[Milliseconds] = UNSET
    LatencyP95: Maybe[Milliseconds] = UNSET
    Jitter: Maybe[Milliseconds] = UNSET
    DNS: Maybe[DNSCheck] = UNSET


__all__ = [
    "ConnectivityData",
    "DNSCheck",
    "DNSData",
    "Finding",
    "HTTPCheck",
    "HTTPCheckData",
    "HttpData",
    "IncrementalResult",
    "LANSummary",
    "NSLookup",
    "NSLookupData",
    "NSLookupResult",
    "PerConnectionResult",
    "PingData",
    "RouteHop",
    "TargetSummary",
    "ThroughputData",
    "TraceRouteData",
    "WifiData",
]
