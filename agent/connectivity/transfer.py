"""DownloadDiagnostics and UploadDiagnostics (TR-143, time-based) against the cloud's speed-test endpoints.

Several TCP connections run in parallel for a fixed duration. Each is an ``asyncio.Protocol`` that
counts bytes as they arrive and keeps none of them, so memory stays flat at any speed. Outputs use
TR-143's names (section 4.1, and the time-based test of its amendment): per connection and overall
``TCPOpenRequestTime``, ``TCPOpenResponseTime``, ``ROMTime`` (request sent), ``BOMTime`` (first byte
of the answer), ``EOMTime`` (last byte), ``TestBytesReceived`` / ``TestBytesSent`` (HTTP payload),
``TotalBytesReceived`` / ``TotalBytesSent`` (the interface's counters over the test, headers and
other traffic included; read once a second, so ``IncrementalResult.{i}`` has them per second and
the ``...UnderFullLoading`` counters are interpolated to the full-loading period), and the vendor
``ThroughputMbps``. Times are TR-106 ``dateTime`` in UTC with microseconds; a moment that never
came is the unknown time. ``Interface`` is the ``Device.IP.Interface.{i}`` reference.

A line busy with the household's own traffic makes any result wrong, and the test would disturb the
household: the interface's counters are sampled for ``busy_sample_s`` first. Above
``busy_threshold_mbit`` the result says so (``Busy: true`` with ``BackgroundTrafficMbps``), or, with
``busy_policy="refuse"``, the test does not run. TR-143's Status has no value for that, nor for an
upload the server answered with an HTTP error: both are ``Error_Other`` with the vendor ``Reason``
(``HouseholdBusy``, ``TransferFailed``) saying which.

Upload sends a chunked POST and trusts the *server's* count of what arrived (its answer is
``{"bytes": n, "seconds": s}``): bytes written locally may still sit in the socket buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import psutil

from protocol.samples import UNSET, IncrementalResult, PerConnectionResult, ThroughputData
from protocol.tr181 import UNKNOWN_TIME

from ..result import COMPLETE, ProbeResult, wire
from ..routes import default_route_interface
from ..usage.interfaces import interface_path
from .ipping import UNREACHABLE_ERRNOS, resolve_ipv4

MAX_HEADER_BYTES = 16 * 1024
UPLOAD_CHUNK_BYTES = 64 * 1024
#: How long the server has to answer once the upload's time is over: bounded, so that a 30 s
#: upload_test ends well inside its 60 s catalogue timeout (protocol/catalogue.py).
UPLOAD_GRACE_S = 5.0
_UPLOAD_CHUNK = b"%x\r\n" % UPLOAD_CHUNK_BYTES + bytes(UPLOAD_CHUNK_BYTES) + b"\r\n"
_LAST_CHUNK = b"0\r\n\r\n"
#: TR-181 ``unsignedInt`` (``PeriodOfFullLoading`` in microseconds: about 71 minutes at most).
_MAX_UNSIGNED_INT = 2**32 - 1
#: TR-143 ``TimeBasedTestDuration`` is ``unsignedInt(0:999)`` seconds.
_MAX_TEST_SECONDS = 999
#: Reasons (vendor ``Reason``) for outcomes TR-143's Status enumeration has no value for.
HOUSEHOLD_BUSY = "HouseholdBusy"
TRANSFER_FAILED = "TransferFailed"


def iso(ts: float | None) -> str:
    """A TR-106 ``dateTime`` in UTC to the microsecond; the unknown time for a moment that never came."""
    if ts is None:
        return UNKNOWN_TIME
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Connection:
    """One TCP connection of a test, with TR-143's timestamps (``time.time()``)."""

    tcp_open_request: float = 0.0
    tcp_open_response: float | None = None
    rom: float | None = None
    bom: float | None = None
    eom: float | None = None
    test_bytes: int = 0
    #: Every byte this connection moved each way, HTTP headers and framing included.
    total_received: int = 0
    total_sent: int = 0
    http_status: int = 0
    error: str = ""
    upload: bool = False

    def result(self) -> PerConnectionResult:
        return PerConnectionResult(
            TCPOpenRequestTime=iso(self.tcp_open_request),
            TCPOpenResponseTime=iso(self.tcp_open_response),
            ROMTime=iso(self.rom),
            BOMTime=iso(self.bom),
            EOMTime=iso(self.eom),
            TestBytesReceived=self.test_bytes if not self.upload else UNSET,
            TestBytesSent=self.test_bytes if self.upload else UNSET,
            TotalBytesReceived=self.total_received,
            TotalBytesSent=self.total_sent,
            HTTPStatusCode=self.http_status,
            Error=self.error or UNSET,
        )

    def public(self) -> dict[str, Any]:
        return wire(self.result())


class Meter:
    """Payload bytes of all connections in ``BUCKET_S`` slots since the test started.

    TCP's first moments (slow start overshooting the line's queue, the losses and the recovery
    that follow, a connection that opens late) say little about the line, so ``ThroughputMbps`` is
    taken over the test after ``warmup_s``, as speed tests commonly do; TR-143's own totals (BOM to
    EOM) stay as they are, and ``IncrementalResult`` shows every second, so the choice is visible.
    """

    BUCKET_S = 0.1

    def __init__(self, duration_s: float) -> None:
        self.start = time.monotonic()
        self.start_wall = time.time()
        self.buckets = [0] * (int(duration_s / self.BUCKET_S) + 2)

    def add(self, nbytes: int) -> None:
        slot = int((time.monotonic() - self.start) / self.BUCKET_S)
        if slot < len(self.buckets):
            self.buckets[slot] += nbytes

    def mbps(self, duration_s: float, warmup_s: float) -> float:
        first = round(warmup_s / self.BUCKET_S)
        last = max(first + 1, int(duration_s / self.BUCKET_S))
        return sum(self.buckets[first:last]) * 8 / ((last - first) * self.BUCKET_S) / 1e6

    def between(self, start: float, end: float) -> int:
        """Payload bytes from wall time ``start`` to ``end`` (a bucket cut by an end counts in part)."""
        a, b = (start - self.start_wall) / self.BUCKET_S, (end - self.start_wall) / self.BUCKET_S
        total = 0.0
        for slot, nbytes in enumerate(self.buckets):
            overlap = min(b, slot + 1) - max(a, slot)
            if overlap > 0:
                total += nbytes * overlap
        return round(total)

    def incremental(
        self, duration_s: float, counters: InterfaceSamples | None = None, *, upload: bool = False
    ) -> list[IncrementalResult]:
        """TR-143's ``IncrementalResult.{i}``: one per second of the test."""
        per = round(1 / self.BUCKET_S)
        seconds = max(1, int(duration_s))
        out = []
        for i in range(seconds):
            # The last interval ends with the test (a 2.5 s test: 0-1, 1-2, 2-2.5).
            last = min(i + 1.0, duration_s) if duration_s > i else i + 1.0
            start, end = self.start_wall + i, self.start_wall + last
            test = sum(self.buckets[i * per : (i + 1) * per])
            totals = counters.between(start, end) if counters is not None else None
            out.append(
                IncrementalResult(
                    TestBytesReceived=test if not upload else UNSET,
                    TestBytesSent=test if upload else UNSET,
                    TotalBytesReceived=totals[0] if totals else UNSET,
                    TotalBytesSent=totals[1] if totals else UNSET,
                    StartTime=iso(start),
                    EndTime=iso(end),
                )
            )
        return out

    def per_second(self, duration_s: float) -> list[dict[str, Any]]:
        return [wire(r) for r in self.incremental(duration_s)]


@dataclass
class InterfaceSamples:
    """The interface's (received, sent) byte counters at moments of the test (wall time), read
    about once a second; a moment between two readings is interpolated."""

    readings: list[tuple[float, int, int]] = field(default_factory=list)

    def at(self, when: float) -> tuple[float, float] | None:
        points = self.readings
        if not points:
            return None
        if when <= points[0][0]:
            return float(points[0][1]), float(points[0][2])
        for (t0, rx0, tx0), (t1, rx1, tx1) in itertools.pairwise(points):
            if t0 <= when <= t1:
                share = (when - t0) / (t1 - t0) if t1 > t0 else 1.0
                return rx0 + (rx1 - rx0) * share, tx0 + (tx1 - tx0) * share
        return float(points[-1][1]), float(points[-1][2])

    def between(self, start: float, end: float) -> tuple[int, int] | None:
        """Bytes (received, sent) through the interface from ``start`` to ``end``; 0 after a reset."""
        a, b = self.at(start), self.at(end)
        if a is None or b is None:
            return None
        return max(0, round(b[0] - a[0])), max(0, round(b[1] - a[1]))


class _Http(asyncio.Protocol):
    """Sends a request, parses the status line, counts the body; the body is never kept."""

    def __init__(self, conn: Connection, request: bytes, upload: bool, meter: Meter | None = None) -> None:
        self.conn = conn
        self.meter = meter
        self.request = request
        self.upload = upload
        self.header = bytearray()
        self.headers_done = False
        self.body = bytearray()  # only the upload's small JSON answer is kept
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.can_write = asyncio.Event()
        self.can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.tcp_open_response = time.time()
        transport.write(self.request)
        self.conn.total_sent += len(self.request)
        self.conn.rom = time.time()

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.conn.total_received += len(data)
        if not self.upload and self.conn.bom is None:
            self.conn.bom = now
        if not self.headers_done:
            self.header += data
            end = self.header.find(b"\r\n\r\n")
            if end < 0:
                if len(self.header) > MAX_HEADER_BYTES and self.transport is not None:
                    self.conn.error = "oversized response header"
                    self.transport.abort()
                return
            self.headers_done = True
            status = self.header[: self.header.find(b"\r\n")].split(b" ")
            self.conn.http_status = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
            data = bytes(self.header[end + 4 :])
            self.header.clear()
        if self.upload:
            if len(self.body) < MAX_HEADER_BYTES:
                self.body += data
        elif data:
            # Chunked framing is counted too: about 10 bytes in 64 KiB, 0.015 %.
            self.conn.test_bytes += len(data)
            self.conn.eom = now
            if self.meter is not None:
                self.meter.add(len(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self.can_write.set()
        if not self.closed.done():
            self.closed.set_result(None)


def _interface_counters(interface: str) -> tuple[int, int] | None:
    counters = psutil.net_io_counters(pernic=True).get(interface)
    return (counters.bytes_recv, counters.bytes_sent) if counters else None


async def household_traffic_mbit(interface: str, sample_s: float) -> float | None:
    """Bits per second through ``interface`` (both directions, the larger) over ``sample_s``."""
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, _interface_counters, interface)
    await asyncio.sleep(sample_s)
    after = await loop.run_in_executor(None, _interface_counters, interface)
    if before is None or after is None:
        return None
    return max(after[0] - before[0], after[1] - before[1]) * 8 / sample_s / 1e6


async def _run_connection(
    address: str,
    port: int,
    request: bytes,
    *,
    upload: bool,
    stop_at: float,
    grace_s: float,
    meter: Meter | None = None,
) -> tuple[Connection, bytes]:
    loop = asyncio.get_running_loop()
    conn = Connection(tcp_open_request=time.time(), upload=upload)
    try:
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Http(conn, request, upload, meter), address, port),
            max(0.1, stop_at - time.monotonic()),
        )
    except TimeoutError:
        conn.error = "Error_Timeout: no TCP connection"
        return conn, b""
    except ConnectionRefusedError:
        conn.error = "Error_InitConnectionFailed: connection refused"
        return conn, b""
    except OSError as exc:
        kind = "Error_NoRouteToHost" if exc.errno in UNREACHABLE_ERRNOS else "Error_InitConnectionFailed"
        conn.error = f"{kind}: {exc.strerror or exc}"
        return conn, b""
    try:
        if upload:
            conn.bom = time.time()
            while time.monotonic() < stop_at and not protocol.closed.done():
                try:
                    # A server that stops reading must not keep us past the test's end.
                    await asyncio.wait_for(protocol.can_write.wait(), max(0.0, stop_at - time.monotonic()))
                except TimeoutError:
                    break
                transport.write(_UPLOAD_CHUNK)
                conn.test_bytes += UPLOAD_CHUNK_BYTES
                conn.total_sent += len(_UPLOAD_CHUNK)
                if meter is not None:
                    meter.add(UPLOAD_CHUNK_BYTES)
                if not protocol.can_write.is_set():
                    continue
                await asyncio.sleep(0)
            conn.eom = time.time()
            if not protocol.closed.done():
                transport.write(_LAST_CHUNK)
                conn.total_sent += len(_LAST_CHUNK)
            # The server answers once everything we queued has arrived.
            await asyncio.wait_for(asyncio.shield(protocol.closed), grace_s)
        else:
            with_timeout = max(0.0, stop_at - time.monotonic())
            await asyncio.wait([protocol.closed], timeout=with_timeout)
    except TimeoutError:
        conn.error = "Error_NoResponse: the server did not answer the upload"
    finally:
        transport.abort()
    return conn, bytes(protocol.body)


async def _read_counters(interface: str, into: InterfaceSamples) -> None:
    """One reading of ``interface``'s counters, stamped with the wall time."""
    counters = await asyncio.get_running_loop().run_in_executor(None, _interface_counters, interface)
    if counters is not None:
        into.readings.append((time.time(), *counters))


async def _sample_counters(interface: str, into: InterfaceSamples, every_s: float = 1.0) -> None:
    """Read the counters every ``every_s`` until cancelled (the test's end)."""
    while True:
        await _read_counters(interface, into)
        await asyncio.sleep(every_s)


async def transfer_test(
    url: str,
    *,
    upload: bool,
    duration_s: float = 10.0,
    connections: int = 4,
    interface: str | None = None,
    busy_threshold_mbit: float = 1.0,
    busy_sample_s: float = 1.0,
    busy_policy: str = "flag",
    warmup_s: float | None = None,
) -> ProbeResult:
    """One time-based TR-143 test; ``warmup_s`` defaults to a fifth of the duration, at most 2 s."""
    if warmup_s is None:
        warmup_s = min(2.0, round(duration_s / 5, 1))
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return ProbeResult.error(
            "Error_Other", f"only http:// speed-test URLs are supported: {url}", ThroughputData(URL=url)
        )
    data: dict[str, Any] = {
        "URL": url,
        "TimeBasedTestDuration": min(_MAX_TEST_SECONDS, max(0, round(duration_s))),
        "NumberOfConnections": connections,
    }
    address = await resolve_ipv4(parts.hostname)
    if address is None:
        return ProbeResult.error(
            "Error_CannotResolveHostName", f"{parts.hostname} does not resolve", ThroughputData(**data)
        )
    data["IPAddressUsed"] = address
    interface = interface or default_route_interface()
    data["Interface"] = interface_path(interface) if interface else ""
    if interface and busy_sample_s > 0:
        background = await household_traffic_mbit(interface, busy_sample_s)
        if background is not None:
            busy = background > busy_threshold_mbit
            data |= {"BackgroundTrafficMbps": round(background, 3), "Busy": busy}
            if busy:
                message = (
                    f"household traffic was {background:.1f} Mbit/s before the test "
                    f"(threshold {busy_threshold_mbit} Mbit/s): the result understates the line"
                )
                if busy_policy == "refuse":
                    data["Reason"] = HOUSEHOLD_BUSY
                    return ProbeResult.error(
                        "Error_Other", "household traffic is busy", ThroughputData(**data)
                    )
                data["Warning"] = message
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if upload:
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: homediag-agent\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        )
    else:
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: homediag-agent\r\n"
            "Connection: close\r\n\r\n"
        )
    counters = InterfaceSamples() if interface else None
    sampler: asyncio.Task[None] | None = None
    if interface and counters is not None:
        await _read_counters(interface, counters)
        sampler = asyncio.create_task(_sample_counters(interface, counters))
    meter = Meter(duration_s)
    stop_at = meter.start + duration_s
    try:
        outcomes = await asyncio.gather(
            *(
                _run_connection(
                    address,
                    port,
                    head.encode(),
                    upload=upload,
                    stop_at=stop_at,
                    grace_s=UPLOAD_GRACE_S,
                    meter=meter,
                )
                for _ in range(connections)
            )
        )
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
    if interface and counters is not None:
        await _read_counters(interface, counters)
    conns = [c for c, _ in outcomes]
    if counters is not None and len(counters.readings) >= 2:
        first, last = counters.readings[0], counters.readings[-1]
        data["TotalBytesReceived"] = max(0, last[1] - first[1])
        data["TotalBytesSent"] = max(0, last[2] - first[2])
    data["PerConnectionResult"] = [c.result() for c in conns]
    started = [c for c in conns if c.tcp_open_response is not None]
    if not started:
        first_error = conns[0].error or "Error_Other: no connection"
        status, _, message = first_error.partition(": ")
        return ProbeResult.error(
            status if status.startswith("Error_") else "Error_Other", message, ThroughputData(**data)
        )
    # TR-181: with several connections the TCP open times are the latest across them.
    data["TCPOpenRequestTime"] = iso(max(c.tcp_open_request for c in started))
    data["TCPOpenResponseTime"] = iso(max(c.tcp_open_response or 0.0 for c in started))
    data["ROMTime"] = iso(min(c.rom or 0.0 for c in started))
    bad = [c.http_status for c in started if c.http_status and c.http_status != 200]
    if bad:
        message = f"the server answered HTTP {bad[0]}"
        if upload:  # UploadDiagnostics' Status has no Error_TransferFailed
            data["Reason"] = TRANSFER_FAILED
            return ProbeResult.error("Error_Other", message, ThroughputData(**data))
        return ProbeResult.error("Error_TransferFailed", message, ThroughputData(**data))
    boms = [c.bom for c in started if c.bom is not None]
    eoms = [c.eom for c in started if c.eom is not None]
    if not boms or not eoms:
        return ProbeResult.error("Error_NoResponse", "no data moved", ThroughputData(**data))
    bom, eom = min(boms), max(eoms)
    data["BOMTime"], data["EOMTime"] = iso(bom), iso(eom)
    data |= _full_loading(max(boms), min(eoms), meter, counters, upload=upload)
    if upload:
        server_bytes, server_mbps = _server_counts([b for _, b in outcomes])
        data["TestBytesSent"] = sum(c.test_bytes for c in started)
        data["TestBytesReceivedByServer"] = server_bytes
        data["ThroughputMbps"] = round(server_mbps, 3)
    else:
        received = sum(c.test_bytes for c in started)
        data["TestBytesReceived"] = received
        data["BOMToEOMThroughputMbps"] = round(received * 8 / max(eom - bom, 1e-6) / 1e6, 3)
        data["WarmupSeconds"] = warmup_s
        data["ThroughputMbps"] = round(meter.mbps(duration_s, warmup_s), 3)
    increments = meter.incremental(duration_s, counters, upload=upload)
    data["IncrementalResult"] = increments
    errors = [c.error for c in conns if c.error]
    if errors:
        data["ConnectionErrors"] = errors
    return ProbeResult.of(ThroughputData(**data), COMPLETE)


def _full_loading(
    start: float, end: float, meter: Meter, counters: InterfaceSamples | None, *, upload: bool
) -> dict[str, Any]:
    """TR-143's full-loading figures: from the latest BOMTime to the earliest EOMTime of the
    connections, when all of them were moving data (zero when that period is empty)."""
    start = min(end, start)
    test = meter.between(start, end)
    out: dict[str, Any] = {
        "PeriodOfFullLoading": min(_MAX_UNSIGNED_INT, round((end - start) * 1e6)),
        "TestBytesSentUnderFullLoading" if upload else "TestBytesReceivedUnderFullLoading": test,
    }
    totals = counters.between(start, end) if counters is not None else None
    if totals is not None:
        out["TotalBytesReceivedUnderFullLoading"], out["TotalBytesSentUnderFullLoading"] = totals
    return out


def _server_counts(bodies: list[bytes]) -> tuple[int, float]:
    total_bytes, mbps = 0, 0.0
    for body in bodies:
        try:
            answer = json.loads(body.decode() or "{}")
            n, seconds = int(answer["bytes"]), float(answer["seconds"])
        except (ValueError, KeyError, TypeError):
            continue
        total_bytes += n
        if seconds > 0:
            mbps += n * 8 / seconds / 1e6
    return total_bytes, mbps


async def download_diagnostics(url: str, **options: Any) -> ProbeResult:
    return await transfer_test(url, upload=False, **options)


async def upload_diagnostics(url: str, **options: Any) -> ProbeResult:
    return await transfer_test(url, upload=True, **options)
