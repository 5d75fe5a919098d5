"""Line usage: deltas across wraps, resets, reboots, renames and clock jumps; hours; cycles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.routes import default_route_interface
from agent.usage import (
    LocalUsage,
    MeterState,
    Reading,
    UsageDelta,
    cycle_report,
    delta,
)
from protocol import MalformedMessage
from protocol.cycles import cycle_bounds, split_by_hour


def _r(
    rx: int, tx: int, at: float, *, iface: str = "eth0", mac: str = "aa:bb:cc:00:00:01", boot: float = 1000.0
):
    return Reading(iface, mac, rx, tx, boot, at)


def test_plain_delta_and_first_reading() -> None:
    assert delta(None, _r(5, 5, 10)) is None
    change = delta(_r(100, 50, 10), _r(1100, 550, 70))
    assert change == UsageDelta(10, 70, "eth0", 1000, 500, [])


def test_wrap_of_a_32_bit_counter() -> None:
    change = delta(_r(2**32 - 100, 0, 10), _r(400, 0, 20))
    assert change is not None
    assert change.bytes_rx == 500
    assert change.events == ["rx_wrapped"]


def test_reset_without_reboot_counts_since_the_reset() -> None:
    change = delta(_r(5_000_000, 7_000_000, 10), _r(1000, 2000, 20))
    assert change is not None
    assert (change.bytes_rx, change.bytes_tx) == (1000, 2000)
    assert change.events == ["rx_reset", "tx_reset"]


def test_reboot_counts_since_boot() -> None:
    change = delta(_r(9_000_000, 9_000_000, 10), _r(300, 400, 500, boot=2000.0))
    assert change is not None
    assert (change.bytes_rx, change.bytes_tx, change.events) == (300, 400, ["reboot"])


def test_rename_keeps_counting_another_device_restarts_the_baseline() -> None:
    renamed = delta(_r(100, 100, 10), _r(300, 300, 20, iface="wan0"))
    assert renamed is not None
    assert (renamed.bytes_rx, renamed.events) == (200, ["interface_renamed"])
    assert delta(_r(100, 100, 10), _r(300, 300, 20, iface="wan0", mac="aa:bb:cc:00:00:02")) is None


def test_clock_backwards_counts_nothing_and_says_so() -> None:
    change = delta(_r(100, 100, 100), _r(900, 900, 50))
    assert change is not None
    assert (change.bytes_rx, change.events) == (0, ["clock_backwards"])


@given(
    start=st.floats(0, 4e9, allow_nan=False),
    length=st.floats(0, 3 * 86400, allow_nan=False),
    rx=st.integers(0, 2**50),
    tx=st.integers(0, 2**50),
)
def test_hour_split_keeps_totals(start: float, length: float, rx: int, tx: int) -> None:
    rows = split_by_hour(start, start + length, rx, tx)
    assert sum(r for _, r, _ in rows) == rx
    assert sum(t for _, _, t in rows) == tx
    assert all(h % 3600 == 0 for h, _, _ in rows)
    assert all(r >= 0 and t >= 0 for _, r, t in rows)


def test_cycle_boundary_in_buenos_aires() -> None:
    # 23:59 and 00:01 local (UTC-3) around the start of the cycle on the 15th.
    before = datetime(2026, 11, 15, 2, 59, tzinfo=UTC)
    after = datetime(2026, 11, 15, 3, 1, tzinfo=UTC)
    tz = "America/Argentina/Buenos_Aires"
    assert (
        cycle_bounds(before, 15, tz)[1]
        == cycle_bounds(after, 15, tz)[0]
        == datetime(2026, 11, 15, 3, tzinfo=UTC)
    )
    assert cycle_bounds(datetime(2026, 2, 20, tzinfo=UTC), 31, "UTC")[0] == datetime(2026, 1, 31, tzinfo=UTC)
    assert cycle_bounds(datetime(2026, 3, 2, tzinfo=UTC), 31, "UTC")[0] == datetime(2026, 2, 28, tzinfo=UTC)


def test_state_and_local_hours_survive_a_restart(tmp_path: Path) -> None:
    state = MeterState(tmp_path / "meter.json")
    assert state.load() is None
    state.save(_r(1, 2, 3.0))
    assert MeterState(tmp_path / "meter.json").load() == _r(1, 2, 3.0)
    local = LocalUsage(tmp_path / "usage.sqlite")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()
    local.add(UsageDelta(now - 30, now + 30, "eth0", 600, 60))
    local.add(UsageDelta(now + 30, now + 90, "eth0", 400, 40))
    report = cycle_report(tmp_path, now + 100)
    assert (report["bytes_rx"], report["bytes_tx"]) == (1000, 100)
    assert report["timezone"] == "UTC"
    assert report["daily"] == [{"date": "2026-11-20", "bytes_rx": 1000, "bytes_tx": 100}]


def test_default_route_interface(tmp_path: Path) -> None:
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "br-lan\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
        "wan\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n"
    )
    assert default_route_interface(str(table)) == "wan"
    assert default_route_interface(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("day", [0, 32])
def test_bad_start_day(day: int) -> None:
    with pytest.raises(MalformedMessage, match="start day"):
        cycle_bounds(datetime(2026, 1, 1, tzinfo=UTC), day, "UTC")
