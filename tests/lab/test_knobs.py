"""Every knob is checked against an independent measurement: ping, iperf3 and kernel counters."""

from __future__ import annotations

import statistics

import pytest

from lab import CLOUD_ADDRESS, GATEWAY_ADDRESS, IperfResult, Lab
from lab.traffic import iperf_block_size

from .helpers import need, ping_rtts_ms, until

pytestmark = pytest.mark.lab


def test_ping_shows_the_delay_within_ten_percent(clean_home: Lab) -> None:
    need("ping")
    clean_home.impair("pc", delay_ms=40)
    rtts, sent = ping_rtts_ms(clean_home, "pc", GATEWAY_ADDRESS, count=10, interval_s=0.05)
    assert len(rtts) == sent == 10
    assert statistics.mean(rtts) == pytest.approx(40, rel=0.10)
    assert min(rtts) >= 36


def test_jitter_spreads_round_trips_around_the_delay(clean_home: Lab) -> None:
    need("ping")
    clean_home.impair("pc", delay_ms=30, jitter_ms=10)
    rtts, _ = ping_rtts_ms(clean_home, "pc", GATEWAY_ADDRESS, count=60, interval_s=0.01)
    # Never early (the kernel holds each packet until its time); late only by scheduling noise,
    # which on a loaded machine can hold one echo back well past the window: judge the 90th
    # percentile, not the single slowest.
    assert min(rtts) >= 19.5 and statistics.quantiles(rtts, n=10)[-1] <= 45
    assert statistics.mean(rtts) == pytest.approx(30, rel=0.15)
    assert statistics.stdev(rtts) > 3  # uniform over +-10 ms: about 5.8


def test_loss_drops_about_the_share_asked_for(clean_home: Lab) -> None:
    need("ping")
    clean_home.impair("phone", loss_pct=30)
    rtts, sent = ping_rtts_ms(clean_home, "phone", GATEWAY_ADDRESS, count=200, interval_s=0.005)
    loss = 1 - len(rtts) / sent
    assert 0.15 < loss < 0.45  # binomial, n=200, p=0.3: more than 3 sigma either side


def test_clearing_restores_the_lan(clean_home: Lab) -> None:
    need("ping")
    clean_home.impair("pc", delay_ms=50, loss_pct=20)
    clean_home.clear_impairment("pc")
    rtts, sent = ping_rtts_ms(clean_home, "pc", GATEWAY_ADDRESS, count=5, interval_s=0.05)
    assert len(rtts) == sent == 5 and max(rtts) < 5


def test_iperf_through_a_20_mbit_wan_measures_20_mbit(clean_home: Lab) -> None:
    clean_home.limit_wan(20)
    # 2.5 MB is a second at 20 Mbit/s: the 16 kB token bucket adds well under 1 %.
    down = clean_home.iperf("isp", "pc", 2_500_000, src_address=CLOUD_ADDRESS)
    up = clean_home.iperf("pc", "isp", 2_500_000)
    for result in (down, up):
        _exact(result, 2_500_000)
        assert result.received_mbit == pytest.approx(20, rel=0.10)


def test_iperf_moves_exactly_the_bytes_asked_for(clean_home: Lab) -> None:
    def rx_bytes() -> int:
        return int(clean_home.exec("tv", ["cat", "/sys/class/net/eth0/statistics/rx_bytes"]).stdout)

    before = rx_bytes()
    result = clean_home.iperf("pc", "tv", 3_000_000)
    received_on_wire = rx_bytes() - before
    _exact(result, 3_000_000)
    # The kernel's own counter: what was sent plus TCP/IP/Ethernet headers (about 5 %), nothing missing.
    assert result.bytes_sent < received_on_wire < result.bytes_sent * 1.10


def _exact(result: IperfResult, nbytes: int) -> None:
    """The receiver gets exactly ``nbytes``; the sender may have one more block in flight when the
    receiving client declares the end (iperf3 3.12, -R): those bytes did cross the wire."""
    assert result.bytes_received == nbytes
    assert nbytes <= result.bytes_sent <= nbytes + iperf_block_size(nbytes)


def test_a_host_leaves_and_comes_back(clean_home: Lab) -> None:
    need("ping")
    tv = clean_home.address("tv")
    clean_home.host_down("tv")
    rtts, _ = ping_rtts_ms(clean_home, "pc", tv, count=1, interval_s=0.2, wait_s=1)
    assert rtts == []
    link = clean_home.exec("tv", ["ip", "-o", "link", "show", "eth0"]).stdout
    assert "NO-CARRIER" in link  # the cable is out at the switch: the TV sees its carrier drop
    clean_home.host_up("tv")
    assert until(
        lambda: ping_rtts_ms(clean_home, "pc", tv, count=1, interval_s=0.2, wait_s=1)[0], timeout_s=5
    )
