"""The connectivity kinds' Structs hold TR-181's types: whole milliseconds, lists, dateTimes, references."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from protocol.samples import (
    IPPingDiagnostics,
    NSLookupResult,
    PerConnectionResult,
    PingData,
    RouteHop,
    SampleData,
    ThroughputData,
    TransferDiagnostics,
    WifiData,
    data_as,
)
from protocol.samples.connectivity import DNSData, WifiStats
from protocol.samples.errors import SampleDataError
from protocol.tr181 import UNKNOWN_TIME, VENDOR_PREFIX, vendor


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (PingData, {"AverageResponseTime": 1.5}),
        (PingData, {"MinimumResponseTimeDetailed": 12.5}),
        (RouteHop, {"RTTimes": "1,2,3"}),
        (RouteHop, {"RTTimes": [1.2, 2.0]}),
        (NSLookupResult, {"ResponseTime": 0.7}),
        (NSLookupResult, {"IPAddresses": "10.0.0.1,10.0.0.2"}),
        (ThroughputData, {"TimeBasedTestDuration": 10.0}),
        (ThroughputData, {"TCPOpenRequestTime": None}),
        (ThroughputData, {"Interface": "eth0"}),
        (PerConnectionResult, {"BOMTime": None}),
        (WifiStats, {"SignalStrength": -56.5}),
        (WifiStats, {vendor("SNR"): None}),
    ],
)
def test_the_old_types_are_refused(kind: type[msgspec.Struct], data: dict[str, Any]) -> None:
    # The Structs take only the model's types; old agents' shapes are upgraded before, in legacy.py.
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(data, kind)


def test_a_float_millisecond_is_a_typed_error_naming_the_field() -> None:
    with pytest.raises(SampleDataError) as caught:
        data_as(IPPingDiagnostics, "ping", {"MaximumResponseTime": 3.25})
    assert caught.value.field == "$.MaximumResponseTime"


def test_the_model_types_are_taken() -> None:
    ping = msgspec.convert(
        {"AverageResponseTime": 0, "MinimumResponseTime": 0, "AverageResponseTimeDetailed": 0}, PingData
    )
    assert ping.AverageResponseTime == 0 and ping.AverageResponseTimeDetailed == 0
    hop = msgspec.convert({"RTTimes": [1, 0, 3]}, RouteHop)
    assert hop.RTTimes == [1, 0, 3]
    test = msgspec.convert(
        {
            "Interface": "Device.IP.Interface.2",
            "TCPOpenRequestTime": UNKNOWN_TIME,
            "TimeBasedTestDuration": 10,
        },
        ThroughputData,
    )
    assert test.Interface == "Device.IP.Interface.2" and test.TCPOpenRequestTime == UNKNOWN_TIME


def test_names_the_model_lacks_travel_with_the_vendor_prefix() -> None:
    ping = PingData(Method="ICMPRaw", LossPercent=25.0, Jitter=0.5, UnreachableCount=1, message="m")
    wire = msgspec.to_builtins(ping)
    assert wire == {
        vendor("Method"): "ICMPRaw",
        vendor("LossPercent"): 25.0,
        vendor("Jitter"): 0.5,
        vendor("UnreachableCount"): 1,
        vendor("Message"): "m",
    }
    transfer = msgspec.to_builtins(
        TransferDiagnostics(
            Status="Error_Other",
            Reason="HouseholdBusy",
            Busy=True,
            ThroughputMbps=1.0,
            URL="http://x/",
            TestBytesReceived=5,
        )
    )
    assert transfer == {
        "Status": "Error_Other",
        "TestBytesReceived": 5,
        vendor("Reason"): "HouseholdBusy",
        vendor("Busy"): True,
        vendor("ThroughputMbps"): 1.0,
        vendor("URL"): "http://x/",
    }
    wifi = msgspec.to_builtins(WifiData(Stats=WifiStats(SignalStrength=-60, Noise=-95, SNR=35), SSID="home"))
    assert wifi == {
        "Stats": {"SignalStrength": -60, vendor("Noise"): -95, vendor("SNR"): 35},
        vendor("SSID"): "home",
    }


def _vendor_free_names(kind: type[msgspec.Struct]) -> set[str]:
    """The wire names of ``kind`` and its nested Structs that are not vendor extensions."""
    names: set[str] = set()
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)

    def nested(t: msgspec.inspect.Type) -> list[type[msgspec.Struct]]:
        if isinstance(t, msgspec.inspect.StructType):
            return [t.cls]
        if isinstance(t, msgspec.inspect.UnionType):
            return [c for m in t.types for c in nested(m)]
        if isinstance(t, msgspec.inspect.ListType):
            return nested(t.item_type)
        if isinstance(t, msgspec.inspect.Metadata):
            return nested(t.type)
        return []

    for f in info.fields:
        if not f.encode_name.startswith(VENDOR_PREFIX):
            names.add(f.encode_name)
        for inner in nested(f.type):
            names |= _vendor_free_names(inner)
    return names


def test_the_unprefixed_names_are_the_models() -> None:
    # IPPing() outputs (and the inputs echoed back): nothing of ours without the prefix.
    assert _vendor_free_names(IPPingDiagnostics) == {
        "Status",
        "Host",
        "IPAddressUsed",
        "NumberOfRepetitions",
        "SuccessCount",
        "FailureCount",
        *(f"{m}ResponseTime{d}" for m in ("Average", "Minimum", "Maximum") for d in ("", "Detailed")),
    }
    assert vendor("Message") not in _vendor_free_names(SampleData)
    assert "message" not in _vendor_free_names(DNSData)
