"""TR-143 transfers against loopback servers, the busy-household rule, Wi-Fi parsing, findings."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.connectivity import transfer
from agent.connectivity.diagnostics import upload_test_command
from agent.connectivity.segments import finding, percentile
from agent.connectivity.transfer import Meter, download_diagnostics, upload_diagnostics
from agent.connectivity.wireless import link_data, parse_iw_link, parse_proc_wireless, wifi_link
from agent.routes import default_gateway
from agent.usage.interfaces import interface_path
from protocol.catalogue import CATALOGUE, ThroughputParams
from protocol.samples import ThroughputData, WifiData
from protocol.tr181 import UNKNOWN_TIME, vendor

#: TR-106 dateTime in UTC to the microsecond, as TR-143 asks for its times.
DATETIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"

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
    conns = data["PerConnectionResult"]
    assert data["TestBytesReceived"] == sum(c["TestBytesReceived"] for c in conns) > 0
    assert len(conns) == 2 and "PerConnectionResultNumberOfEntries" not in data  # USP: no count
    assert all(c["TotalBytesReceived"] > c["TestBytesReceived"] for c in conns)  # headers too
    assert all(c["TotalBytesSent"] > 0 and "TestBytesSent" not in c for c in conns)
    test = msgspec.convert(data, ThroughputData)
    seconds = test.TestBytesReceived * 8 / test.BOMToEOMThroughputMbps / 1e6  # type: ignore[operator]
    assert 0.3 < seconds <= 0.6  # TR-143's rate is bytes over BOM..EOM, and that is the duration
    assert test.WarmupSeconds == 0.1 and test.ThroughputMbps > 0  # type: ignore[operator]
    assert vendor("ThroughputMbps") in data and "ThroughputMbps" not in data
    increments = data["IncrementalResult"]
    assert len(increments) == 1
    assert sum(i["TestBytesReceived"] for i in increments) <= data["TestBytesReceived"]
    assert increments[0]["StartTime"] < increments[0]["EndTime"] and increments[0]["TotalBytesReceived"] > 0
    assert data["BOMTime"] < data["EOMTime"]
    for name in ("TCPOpenRequestTime", "TCPOpenResponseTime", "ROMTime", "BOMTime", "EOMTime"):
        assert re.match(DATETIME, data[name]), (name, data[name])
    # TR-181: with several connections the TCP open times are the latest across them.
    assert data["TCPOpenRequestTime"] == max(c["TCPOpenRequestTime"] for c in conns)
    assert data["TCPOpenResponseTime"] == max(c["TCPOpenResponseTime"] for c in conns)
    # Full loading: the latest BOM to the earliest EOM, in microseconds.
    assert 0 < data["PeriodOfFullLoading"] <= 600_000
    assert 0 < data["TestBytesReceivedUnderFullLoading"] <= data["TestBytesReceived"]
    assert data["TotalBytesReceivedUnderFullLoading"] <= data["TotalBytesReceived"]
    assert "TotalBytesSentUnderFullLoading" in data
    assert isinstance(data["TimeBasedTestDuration"], int)
    assert data["Interface"] == interface_path("lo") and data["Interface"].startswith("Device.IP.Interface.")
    # On loopback the interface sees both directions of each byte.
    assert data["TotalBytesReceived"] >= data["TestBytesReceived"]


async def test_upload_trusts_the_servers_count(servers: tuple[str, str]) -> None:
    result = await upload_diagnostics(
        servers[1], duration_s=0.3, connections=2, interface="lo", busy_sample_s=0
    )
    assert result.status == "Complete", result.data
    data = result.data
    assert 0 < data[vendor("TestBytesReceivedByServer")] <= data["TestBytesSent"]
    assert data["TestBytesSent"] == sum(c["TestBytesSent"] for c in data["PerConnectionResult"])
    assert all(c["TotalBytesSent"] > c["TestBytesSent"] for c in data["PerConnectionResult"])
    assert 0 < data["TestBytesSentUnderFullLoading"] <= data["TestBytesSent"]
    assert sum(i["TestBytesSent"] for i in data["IncrementalResult"]) <= data["TestBytesSent"]
    assert data[vendor("ThroughputMbps")] > 0


async def test_a_busy_household_is_flagged_or_refused(
    servers: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def busy(_interface: str, _sample_s: float) -> float:
        return 42.0

    monkeypatch.setattr(transfer, "household_traffic_mbit", busy)
    flagged = await download_diagnostics(servers[0], duration_s=0.2, interface="lo", busy_threshold_mbit=5)
    assert flagged.status == "Complete" and flagged.data[vendor("Busy")] is True
    assert "42.0 Mbit/s" in flagged.data[vendor("Warning")]
    refused = await download_diagnostics(
        servers[0], duration_s=0.2, interface="lo", busy_threshold_mbit=5, busy_policy="refuse"
    )
    # TR-143's Status has no "busy": Error_Other, and the reason beside it.
    assert refused.status == "Error_Other" and refused.data[vendor("Reason")] == "HouseholdBusy"
    assert "TestBytesReceived" not in refused.data and "busy" in refused.data[vendor("Message")]


async def test_an_upload_the_server_refuses_is_error_other_with_the_reason() -> None:
    async def teapot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(teapot, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/up"
    async with server:
        up = await upload_diagnostics(url, duration_s=0.3, connections=1, busy_sample_s=0)
        down = await download_diagnostics(url, duration_s=0.3, connections=1, busy_sample_s=0)
    # UploadDiagnostics' Status has no Error_TransferFailed; DownloadDiagnostics' has.
    assert up.status == "Error_Other" and up.data[vendor("Reason")] == "TransferFailed"
    assert down.status == "Error_TransferFailed" and vendor("Reason") not in down.data
    assert "HTTP 418" in up.data[vendor("Message")]


async def test_nothing_listening_is_a_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await download_diagnostics(f"http://127.0.0.1:{port}/", duration_s=0.2, busy_sample_s=0)
    assert result.status == "Error_InitConnectionFailed"
    (conn,) = result.data["PerConnectionResult"][:1]
    # Moments that never came are TR-106's unknown time, not null.
    assert conn["TCPOpenResponseTime"] == conn["BOMTime"] == UNKNOWN_TIME
    assert re.match(DATETIME, conn["TCPOpenRequestTime"])


def test_the_meter_leaves_the_warmup_out() -> None:
    meter = Meter(2.0)
    meter.buckets[:20] = [0] * 5 + [250_000] * 15  # nothing for 0.5 s, then 20 Mbit/s
    assert meter.mbps(2.0, warmup_s=0.5) == pytest.approx(20.0)
    assert meter.mbps(2.0, warmup_s=0.0) == pytest.approx(15.0)
    assert [i["TestBytesReceived"] for i in meter.per_second(2.0)] == [1_250_000, 2_500_000]
    start = meter.start_wall
    assert meter.between(start + 0.5, start + 1.0) == 1_250_000
    assert meter.between(start + 0.45, start + 0.55) == 125_000  # half of a bucket counts half


def test_interface_counters_are_interpolated_between_readings() -> None:
    samples = transfer.InterfaceSamples([(100.0, 1000, 10), (101.0, 3000, 30)])
    assert samples.between(100.25, 100.75) == (1000, 10)
    assert samples.between(99.0, 102.0) == (2000, 20)
    reset = transfer.InterfaceSamples([(100.0, 5000, 50), (101.0, 10, 1)])
    assert reset.between(100.0, 101.0) == (0, 0)  # a counter reset is no negative unsignedLong


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
    wifi = msgspec.convert(
        asyncio.run(wifi_link(proc_path=str(proc))).data, WifiData
    )  # iw may be missing: /proc alone
    assert isinstance(wifi.Stats, msgspec.Struct)
    assert wifi.Stats.SignalStrength == -56 and wifi.Stats.Noise == -95 and wifi.Stats.SNR == 39
    link = transfer_link_data()
    assert link["Stats"] == {
        "SignalStrength": -56,
        "LastDataUplinkRate": 600_000,  # TR-181's range ends at 600000 kbit/s
        vendor("Noise"): -95,
        vendor("SNR"): 39,
    }
    assert link[vendor("SSID")] == "home" and link[vendor("Frequency")] == 5180
    no_noise = msgspec.to_builtins(link_data("wlan0", {"SignalStrength": -60.0, "Noise": 0.0}, {}))
    assert vendor("SNR") not in no_noise["Stats"] and vendor("Noise") not in no_noise["Stats"]
    empty = tmp_path / "none"
    empty.write_text(proc.read_text().splitlines(keepends=True)[0])
    assert asyncio.run(wifi_link(proc_path=str(empty))).status == "Error_NotApplicable"


def transfer_link_data() -> dict[str, Any]:
    iw = parse_iw_link("\tSSID: home\n\tfreq: 5180\n\ttx bitrate: 866.7 MBit/s\n")
    values = {"LinkQuality": 54.0, "SignalStrength": -56.0, "Noise": -95.0}
    built: dict[str, Any] = msgspec.to_builtins(link_data("wlan0", values, iw))
    return built


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
