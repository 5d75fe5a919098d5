"""TR-143 transfers against loopback servers, the busy-household rule, Wi-Fi parsing, findings."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.connectivity import transfer
from agent.connectivity.diagnostics import upload_test_command
from agent.connectivity.segments import finding, percentile
from agent.connectivity.transfer import Meter, download_diagnostics, upload_diagnostics
from agent.connectivity.wireless import parse_iw_link, parse_proc_wireless, wifi_link
from agent.routes import default_gateway
from protocol.catalogue import CATALOGUE, ThroughputParams

CHUNK = bytes(64 * 1024)


async def _download(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    try:
        while True:
            writer.write(CHUNK)
            await writer.drain()
            await asyncio.sleep(0.001)  # about 64 MB/s at most: a "line" the test can measure
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _upload(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    received = 0
    loop = asyncio.get_running_loop()
    first = last = 0.0
    while True:  # chunked: size line, data, CRLF; a zero size ends it
        size = int((await reader.readline()).strip(), 16)
        if size == 0:
            await reader.readline()
            break
        await reader.readexactly(size + 2)
        first = first or loop.time()
        last = loop.time()
        received += size
    body = json.dumps({"bytes": received, "seconds": last - first}).encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    writer.close()


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, str]]:
    down = await asyncio.start_server(_download, "127.0.0.1", 0)
    up = await asyncio.start_server(_upload, "127.0.0.1", 0)
    try:
        yield (
            f"http://127.0.0.1:{down.sockets[0].getsockname()[1]}/download",
            f"http://127.0.0.1:{up.sockets[0].getsockname()[1]}/upload",
        )
    finally:
        for server in (down, up):
            server.close()
            await server.wait_closed()


async def test_download_counts_what_arrived_in_the_window(servers: tuple[str, str]) -> None:
    result = await download_diagnostics(
        servers[0], duration_s=0.5, connections=2, interface="lo", busy_sample_s=0
    )
    data = result.data
    assert result.status == "Complete"
    assert data["TestBytesReceived"] == sum(c["TestBytes"] for c in data["PerConnectionResult"]) > 0
    seconds = data["TestBytesReceived"] * 8 / data["BOMToEOMThroughputMbps"] / 1e6
    assert 0.3 < seconds <= 0.6  # TR-143's rate is bytes over BOM..EOM, and that is the duration
    assert data["WarmupSeconds"] == 0.1 and data["ThroughputMbps"] > 0
    assert sum(i["TestBytesReceived"] for i in data["IncrementalResult"]) <= data["TestBytesReceived"]
    assert data["BOMTime"] < data["EOMTime"]
    # On loopback the interface sees both directions of each byte.
    assert data["TotalBytesReceived"] >= data["TestBytesReceived"]


async def test_upload_trusts_the_servers_count(servers: tuple[str, str]) -> None:
    result = await upload_diagnostics(
        servers[1], duration_s=0.3, connections=2, interface="lo", busy_sample_s=0
    )
    assert result.status == "Complete", result.data
    assert 0 < result.data["TestBytesReceivedByServer"] <= result.data["TestBytesSent"]
    assert result.data["ThroughputMbps"] > 0


async def test_a_busy_household_is_flagged_or_refused(
    servers: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def busy(_interface: str, _sample_s: float) -> float:
        return 42.0

    monkeypatch.setattr(transfer, "household_traffic_mbit", busy)
    flagged = await download_diagnostics(servers[0], duration_s=0.2, interface="lo", busy_threshold_mbit=5)
    assert flagged.status == "Complete" and flagged.data["Busy"] is True
    assert "42.0 Mbit/s" in flagged.data["Warning"]
    refused = await download_diagnostics(
        servers[0], duration_s=0.2, interface="lo", busy_threshold_mbit=5, busy_policy="refuse"
    )
    assert refused.status == "Error_HouseholdBusy" and "TestBytesReceived" not in refused.data


async def test_nothing_listening_is_a_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await download_diagnostics(f"http://127.0.0.1:{port}/", duration_s=0.2, busy_sample_s=0)
    assert result.status == "Error_InitConnectionFailed"


def test_the_meter_leaves_the_warmup_out() -> None:
    meter = Meter(2.0)
    meter.buckets[:20] = [0] * 5 + [250_000] * 15  # nothing for 0.5 s, then 20 Mbit/s
    assert meter.mbps(2.0, warmup_s=0.5) == pytest.approx(20.0)
    assert meter.mbps(2.0, warmup_s=0.0) == pytest.approx(15.0)
    assert [i["TestBytesReceived"] for i in meter.per_second(2.0)] == [1_250_000, 2_500_000]


def test_wifi_from_proc_and_iw(tmp_path: Path) -> None:
    proc = tmp_path / "wireless"
    proc.write_text(
        "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
        " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
        " wlan0: 0000   54.  -56.  -95.        0      0      0      0      0        0\n"
    )
    assert parse_proc_wireless(proc.read_text()) == {
        "wlan0": {"LinkQuality": 54.0, "SignalStrength": -56.0, "Noise": -95.0}
    }
    iw = (
        "Connected to aa:bb\n\tSSID: home\n\tfreq: 5180\n\tsignal: -56 dBm\n"
        "\ttx bitrate: 866.7 MBit/s VHT-MCS 9\n"
    )
    assert parse_iw_link(iw) == {
        "SSID": "home",
        "Frequency": 5180.0,
        "LastDataUplinkRate": 866700,
        "SignalStrength": -56,
    }
    empty = tmp_path / "none"
    empty.write_text(proc.read_text().splitlines(keepends=True)[0])
    assert asyncio.run(wifi_link(proc_path=str(empty))).status == "Error_NotApplicable"


def test_default_gateway_from_the_route_table(tmp_path: Path) -> None:
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0100D50A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    )
    assert default_gateway(str(table)) == "10.213.0.1"
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5 and percentile([5.0], 0.95) == 5.0


def _s(host: str, loss: float = 0.0, p50: float = 1.0, jitter: float = 0.1) -> dict[str, object]:
    return {
        "Host": host,
        "Received": 10,
        "LossPercent": loss,
        "LatencyP50": p50,
        "LatencyP95": p50,
        "Jitter": jitter,
    }


@pytest.mark.parametrize(
    ("lan", "targets", "dns", "where"),
    [
        (_s("gw"), [_s("a", p50=20), _s("b", p50=25)], {"Status": "Success", "ResponseTime": 5}, "none"),
        (_s("gw", loss=20), [_s("a", loss=20)], None, "lan"),
        (_s("gw"), [_s("a", p50=300), _s("b", loss=10)], None, "beyond_gateway"),
        (_s("gw"), [_s("a"), _s("b", loss=50)], None, "remote"),
        (_s("gw"), [_s("a")], {"Status": "Error_Timeout"}, "dns"),
        (_s("gw"), [_s("a")], {"Status": "Success", "ResponseTime": 900}, "dns"),
    ],
)
def test_findings_place_the_trouble(
    lan: dict[str, object], targets: list[dict[str, object]], dns: dict[str, object] | None, where: str
) -> None:
    got = finding(lan, targets, dns, loss_pct=2, latency_ms=100, jitter_limit_ms=30, dns_ms=300)
    assert got["Where"] == where, got


async def test_an_upload_to_a_server_that_stops_reading_ends_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    stalled: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        stalled.append(writer)  # and never reads again: our writes back up, can_write stays clear

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/up"
    monkeypatch.setattr(transfer, "UPLOAD_GRACE_S", 0.5, raising=False)
    try:
        result = await asyncio.wait_for(
            upload_diagnostics(url, duration_s=0.5, interface="lo", busy_sample_s=0),
            5.0,
        )
    finally:
        for writer in stalled:
            writer.close()
        server.close()
        await server.wait_closed()
    assert "Error_NoResponse" in str(result.data["PerConnectionResult"]), "within the 5 s of wait_for"


async def test_a_30_s_upload_test_fits_its_catalogue_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    graces: list[float] = []

    async def connection(*_args: Any, grace_s: float, **_kw: Any) -> tuple[transfer.Connection, bytes]:
        graces.append(grace_s)
        return transfer.Connection(error="Error_Timeout: no TCP connection"), b""

    monkeypatch.setattr(transfer, "_run_connection", connection)
    await upload_test_command(ThroughputParams(url="http://127.0.0.1:9/up", duration_s=30))
    busy_sample_s, warmup_s = 1.0, 2.0
    assert graces and 30 + max(graces) + busy_sample_s + warmup_s < CATALOGUE["upload_test"].timeout_s
