"""The typed contract of every sample kind: mistyped data is a typed protocol error at decode, and
every Struct round-trips."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

import protocol
from protocol import ProbeName, Sample, TelemetryBatch
from protocol.samples import (
    RESULT_DATA,
    SAMPLE_DATA,
    UNSET,
    SampleDataError,
    SampleOutOfBounds,
    data_as,
    decode_data,
    salvage,
)
from protocol.samples.inventory import Host

KEY = protocol.generate_private_key()


def _decode(probe: str, data: dict[str, Any]) -> TelemetryBatch:
    body = TelemetryBatch(samples=[Sample(probe=probe, at=time.time(), status="Complete", data=data)])
    envelope = protocol.unseal(protocol.seal(KEY, agent="agent-1", body=body), KEY.public_key())
    return protocol.decode_body(envelope, TelemetryBatch)


@pytest.mark.parametrize(
    ("probe", "data", "error", "field"),
    [
        ("usage", {"BytesReceived": "12"}, SampleDataError, "$.BytesReceived"),
        ("ping", {"X_HOMEDIAG-DEV_LossPercent": 120}, SampleOutOfBounds, "$.X_HOMEDIAG-DEV_LossPercent"),
        ("ping", {"AverageResponseTime": -1}, SampleOutOfBounds, "$.AverageResponseTime"),
        ("discovery", {"Hosts": {"Host": {"a": 1}}}, SampleDataError, "$.Hosts.Host"),
        (
            "discovery",
            {"Hosts": [{"Key": "k", "Services": [{"Port": 70000}]}]},
            SampleOutOfBounds,
            "$.DNS.SD.Service[0].Port",
        ),
        (
            "netdev",
            {"Interface": {"eth0": {"BytesSent": -1}}},
            SampleOutOfBounds,
            "$.Interface[0].Stats.BytesSent",
        ),
        ("traceroute", {"RouteHops": [{"ErrorCode": "x"}]}, SampleDataError, "$.RouteHops[0].ErrorCode"),
        ("wifi", {"Stats": {"X_HOMEDIAG-DEV_SNR": "loud"}}, SampleDataError, "$.Stats.X_HOMEDIAG-DEV_SNR"),
        ("wifi", {"Stats": {"SignalStrength": 20}}, SampleOutOfBounds, "$.Stats.SignalStrength"),
        ("http", {"HTTPStatusCode": 2000}, SampleOutOfBounds, "$.HTTPStatusCode"),
        ("download", {"X_HOMEDIAG-DEV_Busy": "yes"}, SampleDataError, "$.X_HOMEDIAG-DEV_Busy"),
        ("download", {"Interface": 5}, SampleDataError, "$.Interface"),
        (
            "dns",
            {"Lookups": [{"Result": [{"ResponseTime": -5}]}]},
            SampleOutOfBounds,
            "$.Lookups[0].Result[0].ResponseTime",
        ),
        ("connectivity", {"Targets": [{"Segment": "moon"}]}, SampleDataError, "$.Targets[0].Segment"),
        (
            "device_usage",
            {"Hours": [{"BytesReceived": 10**17}]},
            SampleOutOfBounds,
            "$.Hours[0].BytesReceived",
        ),
        ("consent", {"active": "maybe"}, SampleDataError, "$.active"),
    ],
)
def test_a_mistyped_field_is_a_typed_protocol_error_at_decode(
    probe: str, data: dict[str, Any], error: type[SampleDataError], field: str
) -> None:
    with pytest.raises(error) as caught:
        _decode(probe, data)
    assert isinstance(caught.value, protocol.MalformedMessage)
    assert caught.value.probe == probe and caught.value.field == field
    assert probe in str(caught.value) and field in str(caught.value)
    if error is SampleOutOfBounds:
        assert isinstance(caught.value, protocol.OutOfBounds) and caught.value.reason == "bounds"


def test_every_shipped_probe_has_a_typed_kind() -> None:
    assert set(SAMPLE_DATA) == {p.value for p in ProbeName}


def test_unknown_kinds_and_fields_stay_free_form() -> None:
    assert decode_data("from_a_newer_agent", {"Anything": [1, "x"]}) is None
    (sample,) = _decode("ping", {"LossPercent": 0.0, "X_NewField": {"a": 1}}).samples
    assert sample.data["X_NewField"] == {"a": 1}


def _example(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """A value for every field of ``kind``, from its own bounds (the smallest each allows)."""

    def sample(t: mi.Type) -> Any:
        if isinstance(t, mi.UnionType):
            return sample(next(x for x in t.types if not isinstance(x, mi.NoneType)))
        if isinstance(t, mi.Metadata):
            return sample(t.type)
        if isinstance(t, mi.StructType):
            return {f.encode_name: sample(f.type) for f in t.fields}
        if isinstance(t, mi.ListType):
            return [sample(t.item_type)]
        if isinstance(t, mi.DictType):
            return {"k": sample(t.value_type)}
        if isinstance(t, mi.LiteralType):
            return t.values[0]
        if isinstance(t, mi.BoolType):
            return True
        if isinstance(t, mi.IntType):
            return max(t.ge or 0, 1) if t.le is None or t.le >= 1 else t.le
        if isinstance(t, mi.FloatType):
            return 1.5 if t.le is None or t.le >= 1.5 else t.le
        if isinstance(t, mi.StrType):
            return "" if t.pattern else "x"
        return None  # Any

    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    return {f.encode_name: sample(f.type) for f in info.fields}


_KINDS: set[type[msgspec.Struct]] = {*SAMPLE_DATA.values(), *RESULT_DATA.values()}


@pytest.mark.parametrize("kind", sorted(_KINDS, key=str))
def test_every_struct_round_trips(kind: type[msgspec.Struct]) -> None:
    example = _example(kind)
    typed = msgspec.convert(example, kind)
    assert msgspec.to_builtins(typed) == example
    assert msgspec.json.decode(msgspec.json.encode(typed), type=kind) == typed
    assert msgspec.to_builtins(kind()) == {}, "a field the agent leaves out is never sent"


def test_data_as_names_the_probe_and_salvage_keeps_what_fits() -> None:
    with pytest.raises(SampleDataError, match="discovery sample"):
        data_as(Host, "discovery", {"Active": "no"})
    host = salvage(Host, {"Key": "k" * 100, "Active": "no", "IPAddress": 5, "HostName": "tv"})
    assert host is not None
    assert host.Key == "k" * 64 and host.Active is UNSET and host.IPAddress is UNSET and host.HostName == "tv"
    assert salvage(Host, 5) is None
