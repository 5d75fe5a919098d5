"""TraceRoute (TR-181 ``Device.IP.Diagnostics.TraceRoute()``) with ICMP echoes of rising TTL.

Each hop gets ``tries`` echoes with TTL = hop; a router on the way answers "time exceeded"
(RFC 792 type 11), the target answers the echo itself, and the route ends there. With a datagram
ICMP socket the routers' answers come through the socket's error queue (``IP_RECVERR``), so this
works unprivileged wherever ping does.

Outputs: ``Status`` (``Complete``, ``Error_CannotResolveHostName``, ``Error_MaxHopCountExceeded``),
``ResponseTime`` (whole ms, the target's answers averaged; zero when the route could not be
determined, as TR-181 says) and ``RouteHops`` with ``Host``,
``HostAddress``, ``ErrorCode`` (the ICMP code of the answer, 0 for a plain time exceeded) and
``RTTimes``: a list with one whole-ms time per try, 0 where that try got no answer (TR-181). A hop
that never answered has an empty ``HostAddress`` and only zeros, like ``* * *`` in traceroute(8).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from protocol.samples import RouteHop, TraceRouteData

from ..result import COMPLETE, ProbeResult
from .icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    METHOD_TCP,
    EchoSocket,
    IcmpEvent,
    IcmpUnavailable,
)
from .ipping import resolve_ipv4, whole_ms


async def trace_route(
    host: str,
    *,
    max_hops: int = 30,
    tries: int = 3,
    timeout_s: float = 1.0,
    method: str = "auto",
    size_bytes: int = 56,
) -> ProbeResult:
    if method == METHOD_TCP:
        return ProbeResult.error("Error_Other", "traceroute needs ICMP", TraceRouteData(Host=host))
    address = await resolve_ipv4(host)
    if address is None:
        return ProbeResult.error(
            "Error_CannotResolveHostName", f"{host} does not resolve", TraceRouteData(Host=host)
        )
    sent_ns: dict[int, int] = {}
    answers: dict[int, IcmpEvent] = {}
    waiting: dict[int, asyncio.Future[None]] = {}

    def on_event(event: IcmpEvent) -> None:
        if event.seq in sent_ns and event.seq not in answers:
            answers[event.seq] = event
            future = waiting.get(event.seq)
            if future is not None and not future.done():
                future.set_result(None)

    try:
        echo = EchoSocket.open(method, on_event)
    except IcmpUnavailable as exc:
        return ProbeResult.error(
            "Error_Other", f"no ICMP socket allowed: {exc.strerror}", TraceRouteData(Host=host)
        )
    loop = asyncio.get_running_loop()
    hops: list[RouteHop] = []
    reached = False
    target_rtts: list[float] = []
    try:
        for ttl in range(1, max_hops + 1):
            seqs = []
            # One hop's tries go out together and are awaited together.
            for attempt in range(tries):
                seq = ttl * 16 + attempt
                waiting[seq] = loop.create_future()
                sent_ns[seq] = time.monotonic_ns()
                with contextlib.suppress(OSError):
                    echo.send(address, seq, size_bytes, ttl=ttl)
                seqs.append(seq)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(waiting[s] for s in seqs)), timeout_s)
            source, error_code = "", 0
            rtts: list[float] = []
            rt_times: list[int] = []
            for seq in seqs:
                event = answers.get(seq)
                if event is None:
                    rt_times.append(0)
                    continue
                rtt = (event.at_ns - sent_ns[seq]) / 1e6
                rtts.append(rtt)
                rt_times.append(whole_ms(rtt))
                source = event.source
                error_code = event.code if event.kind != ICMP_ECHO_REPLY else 0
                # The end: the target's own echo reply, or an "unreachable" from the target itself.
                if event.kind == ICMP_ECHO_REPLY or (
                    event.kind == ICMP_DEST_UNREACH and event.source == address
                ):
                    reached = True
            hops.append(RouteHop(Host=source, HostAddress=source, ErrorCode=error_code, RTTimes=rt_times))
            if reached:
                target_rtts = rtts
                break
    finally:
        echo.close()
    data = TraceRouteData(
        Host=host,
        IPAddressUsed=address,
        Method=echo.method,
        RouteHops=hops,
        ResponseTime=whole_ms(sum(target_rtts) / len(target_rtts)) if reached and target_rtts else 0,
    )
    return ProbeResult.of(data, COMPLETE if reached else "Error_MaxHopCountExceeded")
