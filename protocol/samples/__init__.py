"""Typed samples: every report's ``data``, kind by kind, as msgspec Structs both sides share.

    fields        bounded field types (``Maybe[...]``: absent unless the agent has a value), ``given``
    base          ``SampleData``, the base of every kind (``message`` for errors)
    usage         netdev, usage, device_usage, consent; the usage_snapshot command
    connectivity  ping, traceroute, dns, http, download/upload, wifi, connectivity
    inventory     discovery: Hosts with their DNS-SD services, UPnP and printer; discover, printer_check
    results       the other commands' ``CommandResult.data``
    decode        ``SAMPLE_DATA`` / ``RESULT_DATA`` (name -> Struct), ``check_sample_data`` (at
                  decode, from protocol/codec.py), ``decode_data``, ``data_as``, ``salvage``
    errors        ``SampleDataError`` and ``SampleOutOfBounds`` (MalformedMessage / OutOfBounds)
    legacy        older agents' shapes read as today's (vendor renames, integer milliseconds, lists)

``Sample.data`` stays JSON on the wire; the agent builds it from these Structs
(``msgspec.to_builtins``, which leaves out what is ``UNSET``), and the codec checks each known
kind against its Struct at decode, so a mistyped or out-of-bounds field is a protocol error naming
the probe and the field. Unknown fields are ignored and unknown kinds stay free-form, so a newer
agent can add either. The kinds' names are :class:`protocol.probes.ProbeName`.
"""

from .base import SampleData
from .connectivity import (
    ConnectivityData,
    DNSCheck,
    DNSData,
    Finding,
    HTTPCheck,
    HTTPCheckData,
    HttpData,
    IncrementalResult,
    LANSummary,
    NSLookup,
    NSLookupData,
    NSLookupResult,
    PerConnectionResult,
    PingData,
    RouteHop,
    TargetSummary,
    ThroughputData,
    TraceRouteData,
    WifiData,
)
from .decode import (
    RESULT_DATA,
    SAMPLE_DATA,
    check_sample_data,
    data_as,
    decode_data,
    decode_result,
    salvage,
)
from .errors import SampleDataError, SampleOutOfBounds
from .fields import (
    UNSET,
    ByteCount,
    Maybe,
    Mbps,
    Milliseconds,
    Percent,
    ShortText,
    UnsetType,
    WireTime,
    given,
)
from .inventory import (
    DiscoverResult,
    DiscoveryData,
    FoundDevice,
    FoundService,
    Host,
    Marker,
    Printer,
    Service,
    UPnP,
)
from .results import (
    AddPrinterResult,
    HTTPCheckDiagnostics,
    IPPingDiagnostics,
    NSLookupDiagnostics,
    PinnedKeys,
    PlanSaved,
    Refusal,
    RunProbeResult,
    SupportBundle,
    TraceRouteDiagnostics,
    TransferDiagnostics,
)
from .usage import (
    ClassUsage,
    ConsentData,
    DayUsage,
    DeviceBreakdown,
    DeviceUsageData,
    DeviceUsageHour,
    InterfaceStats,
    NetDevData,
    UsageData,
    UsageSnapshot,
)

__all__ = [
    "RESULT_DATA",
    "SAMPLE_DATA",
    "UNSET",
    "AddPrinterResult",
    "ByteCount",
    "ClassUsage",
    "ConnectivityData",
    "ConsentData",
    "DNSCheck",
    "DNSData",
    "DayUsage",
    "DeviceBreakdown",
    "DeviceUsageData",
    "DeviceUsageHour",
    "DiscoverResult",
    "DiscoveryData",
    "Finding",
    "FoundDevice",
    "FoundService",
    "HTTPCheck",
    "HTTPCheckData",
    "HTTPCheckDiagnostics",
    "Host",
    "HttpData",
    "IPPingDiagnostics",
    "IncrementalResult",
    "InterfaceStats",
    "LANSummary",
    "Marker",
    "Maybe",
    "Mbps",
    "Milliseconds",
    "NSLookup",
    "NSLookupData",
    "NSLookupDiagnostics",
    "NSLookupResult",
    "NetDevData",
    "PerConnectionResult",
    "Percent",
    "PingData",
    "PinnedKeys",
    "PlanSaved",
    "Printer",
    "Refusal",
    "RouteHop",
    "RunProbeResult",
    "SampleData",
    "SampleDataError",
    "SampleOutOfBounds",
    "Service",
    "ShortText",
    "SupportBundle",
    "TargetSummary",
    "ThroughputData",
    "TraceRouteData",
    "TraceRouteDiagnostics",
    "TransferDiagnostics",
    "UPnP",
    "UnsetType",
    "UsageData",
    "UsageSnapshot",
    "WifiData",
    "WireTime",
    "check_sample_data",
    "data_as",
    "decode_data",
    "decode_result",
    "given",
    "salvage",
]
