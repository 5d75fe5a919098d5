"""IPPing (TR-181 ``Device.IP.Diagnostics.IPPing()``): ICMP echo, or a labelled TCP-connect fallback.

The method is the best the host allows: a raw ICMP socket with CAP_NET_RAW, else the kernel's
unprivileged ICMP datagram socket when ``net.ipv4.ping_group_range`` admits our group, else TCP
connects (``Method: "TCPConnect"``: a SYN answered by SYN-ACK *or* RST means the host is there, as
with ``tcping``; what it measures is the host's TCP stack, not ICMP, so it is never silently mixed).

Echoes are pipelined at ``interval_s`` (like ``ping -i``), each with its own ``timeout_s``: 300
echoes at 10 ms take about 3 s even at 20 % loss, where stop-and-wait would take a minute. That,
and the labelled fallback, is why this is our own asyncio code rather than icmplib (whose ping is
one echo in flight at a time).

Times are TR-181's: ``AverageResponseTime``… in whole milliseconds (zero when nothing answered, as
the model requires; an answer under 1 ms counts as 1, so zero always means "no answer"), the
``…Detailed`` microseconds for precision, and the vendor ``Jitter`` in float milliseconds: the mean
absolute difference of consecutive round trips (RFC 3550 section 6.4.1, without smoothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import itertools
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from protocol.samples import UNSET, PingData

from ..result import COMPLETE, ProbeResult, wire
from .icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    METHOD_DGRAM,
    METHOD_RAW,
    METHOD_TCP,
    EchoSocket,
    IcmpEvent,
    IcmpUnavailable,
)

METHODS = ("auto", METHOD_RAW, METHOD_DGRAM, METHOD_TCP)
UNREACHABLE_ERRNOS = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN)
DEFAULT_TCP_PORT = 443


@dataclass
class EchoStats:
    sent: int = 0
    rtts_ms: list[float] = field(default_factory=list)
    unreachable: int = 0
    unreachable_from: str = ""


async def resolve_ipv4(host: str) -> str | None:
    """The first IPv4 address of ``host`` (itself when it is one), or None when it does not resolve."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.IPv4Address(host))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, None, family=socket.AF_INET, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        return None
    return str(infos[0][4][0]) if infos else None


async def _icmp_echoes(
    sock_method: str, address: str, count: int, *, interval_s: float, timeout_s: float, size: int
) -> tuple[str, EchoStats]:
    sent_ns: dict[int, int] = {}
    stats = EchoStats()
    done: set[int] = set()
    all_done = asyncio.get_running_loop().create_future()

    def on_event(event: IcmpEvent) -> None:
        start = sent_ns.get(event.seq)
        if start is None or event.seq in done:
            return
        if event.kind == ICMP_ECHO_REPLY and event.source == address:
            rtt_ms = (event.at_ns - start) / 1e6
            if rtt_ms <= timeout_s * 1000:
                stats.rtts_ms.append(rtt_ms)
                done.add(event.seq)
        elif event.kind == ICMP_DEST_UNREACH:
            stats.unreachable += 1
            stats.unreachable_from = event.source
            done.add(event.seq)
        if len(done) == count and not all_done.done():
            all_done.set_result(None)

    echo = EchoSocket.open(sock_method, on_event)
    try:
        for seq in range(count):
            sent_ns[seq] = time.monotonic_ns()
            try:
                echo.send(address, seq, size)
                stats.sent += 1
            except OSError as exc:
                if exc.errno not in UNREACHABLE_ERRNOS:
                    raise
                stats.unreachable += 1
                done.add(seq)
            if seq < count - 1:
                await asyncio.sleep(interval_s)
        if len(done) == count and not all_done.done():
            all_done.set_result(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(all_done), timeout_s)
    finally:
        echo.close()
    return echo.method, stats


async def tcp_connect_ms(address: str, port: int, timeout_s: float) -> float | int | None:
    """Round trip of a TCP handshake in ms (RST counts: the host answered); an errno when unreachable."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    # No lingering FIN/TIME_WAIT storm at the target: close with RST once measured.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    start = time.monotonic_ns()
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout_s)
    except ConnectionRefusedError:
        pass
    except TimeoutError:
        return None
    except OSError as exc:
        return exc.errno if exc.errno in UNREACHABLE_ERRNOS else None
    finally:
        sock.close()
    return (time.monotonic_ns() - start) / 1e6


async def _tcp_echoes(
    address: str, count: int, interval_s: float, timeout_s: float, port: int
) -> tuple[str, EchoStats]:
    stats = EchoStats()
    for seq in range(count):
        stats.sent += 1
        outcome = await tcp_connect_ms(address, port, timeout_s)
        if isinstance(outcome, float):
            stats.rtts_ms.append(outcome)
        elif isinstance(outcome, int):
            stats.unreachable += 1
        if seq < count - 1:
            await asyncio.sleep(interval_s)
    return METHOD_TCP, stats


def jitter_ms(rtts_ms: list[float]) -> float:
    if len(rtts_ms) < 2:
        return 0.0
    return sum(abs(b - a) for a, b in itertools.pairwise(rtts_ms)) / (len(rtts_ms) - 1)


@dataclass
class PingOutcome:
    """One IPPing's raw figures, before they become TR-181 fields."""

    host: str
    count: int
    status: str = COMPLETE
    address: str = ""
    method: str = ""
    stats: EchoStats = field(default_factory=EchoStats)
    message: str = ""

    def result(self) -> ProbeResult:
        if self.status == "Error_CannotResolveHostName":
            return ProbeResult.error(self.status, self.message, PingData(Host=self.host, SuccessCount=0))
        if self.status == "Error_Other":
            return ProbeResult.error(
                self.status, self.message, PingData(Host=self.host, IPAddressUsed=self.address)
            )
        return ProbeResult.of(
            ping_struct(self.host, self.address, self.method, self.count, self.stats), self.status
        )


async def measure_ping(
    host: str,
    *,
    count: int = 4,
    timeout_s: float = 1.0,
    interval_s: float = 0.2,
    size_bytes: int = 56,
    method: str = "auto",
    tcp_port: int = DEFAULT_TCP_PORT,
) -> PingOutcome:
    outcome = PingOutcome(host, count)
    address = await resolve_ipv4(host)
    if address is None:
        outcome.status, outcome.message = "Error_CannotResolveHostName", f"{host} does not resolve"
        return outcome
    outcome.address = address
    try:
        if method == METHOD_TCP:
            used, stats = await _tcp_echoes(address, count, interval_s, timeout_s, tcp_port)
        else:
            try:
                used, stats = await _icmp_echoes(
                    method, address, count, interval_s=interval_s, timeout_s=timeout_s, size=size_bytes
                )
            except IcmpUnavailable:
                if method != "auto":
                    raise
                used, stats = await _tcp_echoes(address, count, interval_s, timeout_s, tcp_port)
    except OSError as exc:
        outcome.status, outcome.message = "Error_Other", f"{type(exc).__name__}: {exc}"
        return outcome
    outcome.method, outcome.stats, outcome.status = used, stats, _status(stats)
    return outcome


async def ip_ping(host: str, **options: Any) -> ProbeResult:
    """IPPing with TR-181 output names; a failing target is a status, never an exception.

    Options: ``count``, ``timeout_s`` (per echo), ``interval_s`` (between echoes), ``size_bytes``,
    ``method`` ("auto", "ICMPRaw", "ICMPDatagram", "TCPConnect") and ``tcp_port`` for the fallback.
    """
    return (await measure_ping(host, **options)).result()


def _status(stats: EchoStats) -> str:
    if not stats.rtts_ms and stats.unreachable:
        return "Error_NoRouteToHost"
    return COMPLETE


def whole_ms(ms: float) -> int:
    """A response time as TR-181's ``unsignedInt`` milliseconds: rounded, and at least 1 (the
    model rounds times under 1 ms up to 1 for ``RTTimes``), so that 0 only ever means no answer."""
    return max(1, round(ms))


def ping_struct(host: str, address: str, method: str, count: int, stats: EchoStats) -> PingData:
    """IPPing's outputs; the response times are zero when nothing answered (TR-181 says MUST)."""
    rtts = stats.rtts_ms
    avg, low, high = (sum(rtts) / len(rtts), min(rtts), max(rtts)) if rtts else (0.0, 0.0, 0.0)
    return PingData(
        Host=host,
        IPAddressUsed=address,
        Method=method,
        NumberOfRepetitions=count,
        SuccessCount=len(rtts),
        FailureCount=count - len(rtts),
        LossPercent=round(100 * (count - len(rtts)) / count, 2) if count else 0.0,
        AverageResponseTime=whole_ms(avg) if rtts else 0,
        MinimumResponseTime=whole_ms(low) if rtts else 0,
        MaximumResponseTime=whole_ms(high) if rtts else 0,
        AverageResponseTimeDetailed=round(avg * 1000),
        MinimumResponseTimeDetailed=round(low * 1000),
        MaximumResponseTimeDetailed=round(high * 1000),
        Jitter=round(jitter_ms(rtts), 3) if rtts else UNSET,
        UnreachableCount=stats.unreachable or UNSET,
        UnreachableFrom=(stats.unreachable and stats.unreachable_from) or UNSET,
    )


def ping_data(host: str, address: str, method: str, count: int, stats: EchoStats) -> dict[str, Any]:
    """IPPing's outputs as the sample carries them."""
    return wire(ping_struct(host, address, method, count, stats))
