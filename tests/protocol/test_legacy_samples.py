"""Older agents' shapes are read as today's: the generic rules of protocol/samples/legacy.py,
on Structs built the way the sample kinds are (vendor names, TR-181 integer milliseconds)."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from msgspec import Meta

from protocol.samples import check_sample_data
from protocol.samples.fields import UNSET, Count, DateTime, Maybe, Percent
from protocol.samples.legacy import RESHAPE, upgrade
from protocol.tr181 import UNKNOWN_TIME, vendor


class Hop(msgspec.Struct, frozen=True, kw_only=True):
    RTTimes: Maybe[Annotated[list[Count], Meta(max_length=3)]] = UNSET


class Conn(msgspec.Struct, frozen=True, kw_only=True):
    TCPOpenRequestTime: Maybe[DateTime] = UNSET
    SNR: Maybe[int] = UNSET


class Kind(msgspec.Struct, frozen=True, kw_only=True):
    AverageResponseTime: Maybe[Count] = UNSET
    LossPercent: Maybe[Percent] = msgspec.field(default=UNSET, name=vendor("LossPercent"))
    IPAddress: Maybe[str] = UNSET
    Hops: Maybe[list[Hop]] = UNSET
    Conn: Maybe[Conn] = UNSET
    Note: Maybe[str | None] = UNSET


OLD = {
    "AverageResponseTime": 1.6,
    "LossPercent": 25.0,
    "IPAddress": ["192.0.2.7", "2001:db8::7"],
    "Hops": [{"RTTimes": "1.2,3.5,0.4"}, {"RTTimes": ""}],
    "Conn": {"TCPOpenRequestTime": None, "SNR": None},
    "Note": None,
}


def test_an_old_shape_reads_as_todays() -> None:
    value = msgspec.convert(upgrade(Kind, OLD), Kind)
    assert value.AverageResponseTime == 2
    assert value.LossPercent == 25.0
    assert value.IPAddress == "192.0.2.7"
    assert value.Hops == [Hop(RTTimes=[1, 4, 0]), Hop(RTTimes=[])]
    # A time that never came is TR-106's unknown time; a null the field no longer takes is left out.
    assert value.Conn == Conn(TCPOpenRequestTime=UNKNOWN_TIME)
    assert value.Note is None  # a field that still takes null keeps it


def test_todays_shape_is_left_as_it_is() -> None:
    today = msgspec.to_builtins(msgspec.convert(upgrade(Kind, OLD), Kind))
    assert upgrade(Kind, today) == today
    assert vendor("LossPercent") in today and "LossPercent" not in today


def test_the_prefixed_name_wins_over_the_old_one() -> None:
    both = {"LossPercent": 90.0, vendor("LossPercent"): 10.0}
    assert msgspec.convert(upgrade(Kind, both), Kind).LossPercent == 10.0


def test_what_no_rule_explains_is_still_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(upgrade(Kind, {"Hops": [{"RTTimes": "fast"}]}), Kind)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(upgrade(Kind, {"AverageResponseTime": -3.0}), Kind)


def test_a_registered_reshape_runs_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RESHAPE, "toy", lambda data: {"IPAddress": data["Address"]})
    assert upgrade(Kind, {"Address": ["192.0.2.9"]}, "toy") == {"IPAddress": "192.0.2.9"}


#: Samples as agents before the exact types sent them (25d401f), with what today's shape keeps.
OLD_SAMPLES = [
    ("download", {"Interface": "eth0", "TotalBytesSent": -5}, {}),
    (
        "upload",
        {"PerConnectionResult": [{"TestBytes": 5, "TCPOpenRequestTime": None}]},
        {"PerConnectionResult": [{"TestBytesSent": 5, "TCPOpenRequestTime": UNKNOWN_TIME}]},
    ),
    (
        "wifi",
        {
            "Interface": "wlan0",
            "SignalStrength": -56.0,
            "Noise": -95.0,
            "SNR": None,
            "LastDataUplinkRate": 866700,
        },
        {"Stats": {"SignalStrength": -56, "LastDataUplinkRate": 600_000, vendor("Noise"): -95}},
    ),
    (
        "dns",
        {"Lookups": [{"Result": [{"IPAddresses": "192.0.2.1,192.0.2.2", "ResponseTime": 0.3}]}]},
        {"Lookups": [{"Result": [{"IPAddresses": ["192.0.2.1", "192.0.2.2"], "ResponseTime": 1}]}]},
    ),
    (
        "ping",
        {"LossPercent": 0.0, "AverageResponseTime": 2.4, "message": "x"},
        {vendor("LossPercent"): 0.0, "AverageResponseTime": 2, vendor("Message"): "x"},
    ),
]


@pytest.mark.parametrize(("probe", "old", "today"), OLD_SAMPLES, ids=[c[0] for c in OLD_SAMPLES])
def test_an_older_agents_sample_is_accepted_in_todays_shape(
    probe: str, old: dict[str, object], today: dict[str, object]
) -> None:
    assert check_sample_data(probe, old) == today


def test_todays_samples_are_not_copied_or_upgraded() -> None:
    """The decode of today's shape is the plain Struct check: the data is handed back as it came."""
    today = {vendor("LossPercent"): 0.0, "AverageResponseTime": 2, "SuccessCount": 3}
    assert check_sample_data("ping", today) is today
    old = {"LossPercent": 0.0, "AverageResponseTime": 2}
    assert check_sample_data("ping", old) == {vendor("LossPercent"): 0.0, "AverageResponseTime": 2}
