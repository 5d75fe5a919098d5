"""How well the home reaches its gateway and the internet: ``ping``, ``traceroute``, ``dns``,
``http``, ``download``/``upload``, ``wifi`` and ``connectivity`` (agent/connectivity/).

Names and types are TR-181 2.19's (``Device.IP.Diagnostics.IPPing()``, ``TraceRoute()``,
``Device.DNS.Diagnostics.NSLookupDiagnostics()``, ``Device.WiFi.EndPoint.{i}.``) and TR-143's
(Download/UploadDiagnostics): response times are ``unsignedInt`` milliseconds with the
``...Detailed`` microseconds beside them, ``RTTimes`` and ``IPAddresses`` lists, times TR-106
``dateTime`` (the unknown time, never null), ``Interface`` a path reference
(``Device.IP.Interface.1``). A table in a command's outputs (``RouteHops``, ``Result``,
``PerConnectionResult``) is a JSON array with no ``...NumberOfEntries`` beside it: the USP model's
command outputs have none (the array's length is the count). What the model lacks
travels as a vendor extension (``X_HOMEDIAG-DEV_LossPercent``, :func:`protocol.tr181.vendor`); the
Python attribute keeps the short name, so code reading the Struct does not care. ``http`` and
``connectivity`` are vendor objects (``protocol.tr181.OBJECT_OF``): every name in them is ours.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ..tr181 import vendor
from .base import SampleData
from .fields import (
    UNSET,
    Address,
    ByteCount,
    Count,
    Counter64,
    DateTime,
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
#: TR-181 ``unsignedInt`` milliseconds (IPPing's, TraceRoute's, NSLookup's response times).
ResponseTime = Annotated[int, Meta(ge=0, le=2**32 - 1)]
#: TR-143 ``TimeBasedTestDuration``: ``unsignedInt(0:999)`` seconds.
TestSeconds = Annotated[int, Meta(ge=0, le=999)]
#: TR-181 ``int(-200:0)`` dBm (``EndPoint.{i}.Stats.SignalStrength``, ``AssociatedDevice.Noise``).
Dbm = Annotated[int, Meta(ge=-200, le=0)]
#: ``EndPoint.{i}.Stats.LastData...Rate``: ``unsignedInt(1000:600000)`` kbit/s.
DataRate = Annotated[int, Meta(ge=1000, le=600_000)]
#: A reference to ``Device.IP.Interface.{i}.`` (TR-181 ``string(:256)``, a path).
InterfacePath = Annotated[str, Meta(max_length=256, pattern=r"^(Device\.IP\.Interface\.\d+)?$")]


class PingData(SampleData, frozen=True, kw_only=True):
    """``ping``: ``Device.IP.Diagnostics.IPPing()`` outputs; the response times are zero, and
    present, when nothing answered (TR-181: they "MUST be zero")."""

    Host: Maybe[ShortText] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    Method: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("Method"))
    NumberOfRepetitions: Maybe[Count] = UNSET
    SuccessCount: Maybe[Count] = UNSET
    FailureCount: Maybe[Count] = UNSET
    LossPercent: Maybe[Percent] = msgspec.field(default=UNSET, name=vendor("LossPercent"))
    AverageResponseTime: Maybe[ResponseTime] = UNSET
    MinimumResponseTime: Maybe[ResponseTime] = UNSET
    MaximumResponseTime: Maybe[ResponseTime] = UNSET
    AverageResponseTimeDetailed: Maybe[Microseconds] = UNSET
    MinimumResponseTimeDetailed: Maybe[Microseconds] = UNSET
    MaximumResponseTimeDetailed: Maybe[Microseconds] = UNSET
    #: Float milliseconds: a vendor figure, with the precision a jitter needs.
    Jitter: Maybe[Milliseconds] = msgspec.field(default=UNSET, name=vendor("Jitter"))
    UnreachableCount: Maybe[Count] = msgspec.field(default=UNSET, name=vendor("UnreachableCount"))
    UnreachableFrom: Maybe[Address] = msgspec.field(default=UNSET, name=vendor("UnreachableFrom"))


class RouteHop(msgspec.Struct, frozen=True, kw_only=True):
    """``TraceRoute().RouteHops.{i}``; a hop that never answered has an empty ``HostAddress``.

    ``RTTimes`` has one item per try: 0 for no answer, at least 1 for an answer (TR-181 rounds
    times under 1 ms up to 1)."""

    Host: Maybe[Name] = UNSET
    HostAddress: Maybe[Address] = UNSET
    ErrorCode: Maybe[Count] = UNSET
    RTTimes: Maybe[Annotated[list[ResponseTime], Meta(max_length=16)]] = UNSET


class TraceRouteData(SampleData, frozen=True, kw_only=True):
    """``traceroute``: ``Device.IP.Diagnostics.TraceRoute()`` outputs (``ResponseTime`` is zero
    when the route could not be determined)."""

    Host: Maybe[ShortText] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    Method: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("Method"))
    RouteHops: Maybe[Annotated[list[RouteHop], Meta(max_length=64)]] = UNSET
    ResponseTime: Maybe[ResponseTime] = UNSET


class NSLookupResult(msgspec.Struct, frozen=True, kw_only=True):
    """``NSLookupDiagnostics().Result.{i}``: one query's answer, timed (0 ms: no answer)."""

    Status: Maybe[Status] = UNSET
    AnswerType: Maybe[Name] = UNSET
    HostNameReturned: Maybe[ShortText] = UNSET
    #: A TR-181 list of addresses: a JSON array (each address ``string(:45)``).
    IPAddresses: Maybe[Annotated[list[Address], Meta(max_length=64)]] = UNSET
    DNSServerIP: Maybe[Address] = UNSET
    ResponseTime: Maybe[ResponseTime] = UNSET
    RCode: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("RCode"))
    Message: Maybe[Message] = msgspec.field(default=UNSET, name=vendor("Message"))


class NSLookupData(SampleData, frozen=True, kw_only=True):
    """One ``Device.DNS.Diagnostics.NSLookupDiagnostics()`` run (the ``dns_lookup`` command)."""

    HostName: Maybe[ShortText] = UNSET
    DNSServer: Maybe[ShortText] = UNSET
    NumberOfRepetitions: Maybe[Count] = UNSET
    SuccessCount: Maybe[Count] = UNSET
    Result: Maybe[Annotated[list[NSLookupResult], Meta(max_length=1024)]] = UNSET


#: The name of the bounds-only Struct before every kind was typed.
NSLookup = NSLookupData


class NSLookupRun(NSLookupData, frozen=True, kw_only=True):
    """One name's NSLookupDiagnostics in a ``dns`` sample, with that run's own ``Status``."""

    Status: Maybe[Status] = UNSET


class DNSData(SampleData, frozen=True, kw_only=True):
    """``dns``: one NSLookupDiagnostics per configured name. The sample's status says whether the
    lookups ran (``Complete``), not how they went: that is each ``Result.{i}.Status``."""

    HostName: Maybe[ShortText] = UNSET
    Lookups: Maybe[Annotated[list[NSLookupRun], Meta(max_length=256)]] = UNSET


class HTTPCheckData(SampleData, frozen=True, kw_only=True):
    """One GET with its phases timed (agent/connectivity/http_timing.py); failures name TR-143's.
    A vendor object: float milliseconds, our names."""

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
    """TR-143 ``PerConnectionResult.{i}``: a moment that never came is TR-106's unknown time.

    Download fills ``TestBytesReceived``, upload ``TestBytesSent``; the totals are the bytes this
    connection moved each way (HTTP headers included), as one connection has no interface counters
    of its own."""

    TCPOpenRequestTime: Maybe[DateTime] = UNSET
    TCPOpenResponseTime: Maybe[DateTime] = UNSET
    ROMTime: Maybe[DateTime] = UNSET
    BOMTime: Maybe[DateTime] = UNSET
    EOMTime: Maybe[DateTime] = UNSET
    TestBytesReceived: Maybe[Counter64] = UNSET
    TestBytesSent: Maybe[Counter64] = UNSET
    TotalBytesReceived: Maybe[Counter64] = UNSET
    TotalBytesSent: Maybe[Counter64] = UNSET
    HTTPStatusCode: Maybe[HTTPStatusCode] = msgspec.field(default=UNSET, name=vendor("HTTPStatusCode"))
    Error: Maybe[Message] = msgspec.field(default=UNSET, name=vendor("Error"))


class IncrementalResult(msgspec.Struct, frozen=True, kw_only=True):
    """TR-143 ``IncrementalResult.{i}``: one second of the test, payload and interface bytes."""

    TestBytesReceived: Maybe[Counter64] = UNSET
    TestBytesSent: Maybe[Counter64] = UNSET
    TotalBytesReceived: Maybe[Counter64] = UNSET
    TotalBytesSent: Maybe[Counter64] = UNSET
    StartTime: Maybe[DateTime] = UNSET
    EndTime: Maybe[DateTime] = UNSET


class ThroughputData(SampleData, frozen=True, kw_only=True):
    """``download`` / ``upload``: ``DownloadDiagnostics()`` and ``UploadDiagnostics()`` (TR-143,
    time-based), with the busy-household check and ``ThroughputMbps`` as extensions.

    ``TCPOpen...Time`` are the latest over the connections, ``ROMTime``/``BOMTime`` the earliest,
    ``EOMTime`` the latest (TR-181); ``PeriodOfFullLoading`` (µs) runs from the latest
    ``BOMTime`` to the earliest ``EOMTime`` of the connections, and the ``...UnderFullLoading``
    counters count that period only."""

    URL: Maybe[Url] = msgspec.field(default=UNSET, name=vendor("URL"))
    TimeBasedTestDuration: Maybe[TestSeconds] = UNSET
    NumberOfConnections: Maybe[Count] = UNSET
    IPAddressUsed: Maybe[Address] = UNSET
    Interface: Maybe[InterfacePath] = UNSET
    BackgroundTrafficMbps: Maybe[Mbps] = msgspec.field(default=UNSET, name=vendor("BackgroundTrafficMbps"))
    Busy: Maybe[bool] = msgspec.field(default=UNSET, name=vendor("Busy"))
    Warning: Maybe[Message] = msgspec.field(default=UNSET, name=vendor("Warning"))
    #: Why the status is what it is, where TR-143's enumeration has no word for it
    #: (``HouseholdBusy``, ``TransferFailed`` on upload): the status is then ``Error_Other``.
    Reason: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("Reason"))
    #: The interface's counters over the test (TR-181 ``unsignedLong``; a reset reads as 0).
    TotalBytesReceived: Maybe[Counter64] = UNSET
    TotalBytesSent: Maybe[Counter64] = UNSET
    PerConnectionResult: Maybe[Annotated[list[PerConnectionResult], Meta(max_length=64)]] = UNSET
    TCPOpenRequestTime: Maybe[DateTime] = UNSET
    TCPOpenResponseTime: Maybe[DateTime] = UNSET
    ROMTime: Maybe[DateTime] = UNSET
    BOMTime: Maybe[DateTime] = UNSET
    EOMTime: Maybe[DateTime] = UNSET
    TestBytesSent: Maybe[Counter64] = UNSET
    TestBytesReceivedByServer: Maybe[Counter64] = msgspec.field(
        default=UNSET, name=vendor("TestBytesReceivedByServer")
    )
    TestBytesReceived: Maybe[Counter64] = UNSET
    PeriodOfFullLoading: Maybe[Count] = UNSET
    TestBytesReceivedUnderFullLoading: Maybe[Counter64] = UNSET
    TestBytesSentUnderFullLoading: Maybe[Counter64] = UNSET
    TotalBytesReceivedUnderFullLoading: Maybe[Counter64] = UNSET
    TotalBytesSentUnderFullLoading: Maybe[Counter64] = UNSET
    BOMToEOMThroughputMbps: Maybe[Mbps] = msgspec.field(default=UNSET, name=vendor("BOMToEOMThroughputMbps"))
    WarmupSeconds: Maybe[Seconds] = msgspec.field(default=UNSET, name=vendor("WarmupSeconds"))
    ThroughputMbps: Maybe[Mbps] = msgspec.field(default=UNSET, name=vendor("ThroughputMbps"))
    IncrementalResult: Maybe[Annotated[list[IncrementalResult], Meta(max_length=3600)]] = UNSET
    ConnectionErrors: Maybe[Annotated[list[Message], Meta(max_length=64)]] = msgspec.field(
        default=UNSET, name=vendor("ConnectionErrors")
    )


class WifiStats(msgspec.Struct, frozen=True, kw_only=True):
    """``WiFi.EndPoint.{i}.Stats.``, with the noise and SNR (``AssociatedDevice``'s) as extensions;
    SNR is left out when the driver gives no noise."""

    SignalStrength: Maybe[Dbm] = UNSET
    LastDataDownlinkRate: Maybe[DataRate] = UNSET
    LastDataUplinkRate: Maybe[DataRate] = UNSET
    Noise: Maybe[Dbm] = msgspec.field(default=UNSET, name=vendor("Noise"))
    SNR: Maybe[Count] = msgspec.field(default=UNSET, name=vendor("SNR"))


class WifiData(SampleData, frozen=True, kw_only=True):
    """``wifi``: this host's Wi-Fi station link as ``Device.WiFi.EndPoint.{i}.`` (``Stats``);
    ``Error_NotApplicable`` with a message where it has none. The model keeps the SSID and the
    radio in other tables: here they are extensions, as is the IP interface they carry."""

    Interface: Maybe[InterfacePath] = msgspec.field(default=UNSET, name=vendor("Interface"))
    Stats: Maybe[WifiStats] = UNSET
    LinkQuality: Maybe[Annotated[int, Meta(ge=0, le=1000)]] = msgspec.field(
        default=UNSET, name=vendor("LinkQuality")
    )
    SSID: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("SSID"))
    #: MHz.
    Frequency: Maybe[Annotated[int, Meta(ge=0, le=1_000_000)]] = msgspec.field(
        default=UNSET, name=vendor("Frequency")
    )


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
    "NSLookupRun",
    "PerConnectionResult",
    "PingData",
    "RouteHop",
    "TargetSummary",
    "ThroughputData",
    "TraceRouteData",
    "WifiData",
    "WifiStats",
]
