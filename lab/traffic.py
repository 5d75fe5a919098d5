"""Traffic with known ground truth: a tbf cap on the WAN, and iperf3 flows of an exact size.

The cap is a token bucket at the egress of both ends of the WAN veth (the router's for upload, the
ISP's for download), which is where a real access line limits. Its bucket holds a few milliseconds of
tokens, so a measurement of a couple of seconds is not inflated by the initial burst.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .commands import run
from .const import (
    IPERF_BASE_PORT,
    IPERF_MAX_BLOCK_BYTES,
    IPERF_MIN_BLOCK_BYTES,
    POLL_INTERVAL_S,
    TBF_BURST_S,
    TBF_LATENCY,
    TBF_MIN_BURST_BYTES,
)
from .errors import CommandError, LabConfigError, ServiceError

if TYPE_CHECKING:
    from .lab import Lab


@dataclass(frozen=True)
class IperfResult:
    """What iperf3's client reported (``raw`` is its whole JSON document)."""

    bytes_sent: int
    bytes_received: int
    seconds: float
    sent_bps: float
    received_bps: float
    raw: dict[str, Any]

    @property
    def received_mbit(self) -> float:
        return self.received_bps / 1e6


def limit_wan(lab: Lab, down_mbit: float, up_mbit: float) -> None:
    wan = lab.home.wan_link
    if wan is None:
        raise LabConfigError("this home has no WAN link to limit")
    for mbit in (down_mbit, up_mbit):
        if mbit <= 0:
            raise LabConfigError(f"rate must be positive, got {mbit}")
    # Upload leaves the router's WAN interface; download leaves the ISP's end of the same veth.
    for netns, ifname, mbit in (
        (lab.netns(wan.host), wan.ifname, up_mbit),
        (lab.netns(wan.peer), wan.peer_end, down_mbit),
    ):
        burst = max(TBF_MIN_BURST_BYTES, int(mbit * 1e6 / 8 * TBF_BURST_S))
        tbf = ["tbf", "rate", f"{mbit}mbit", "burst", str(burst), "latency", TBF_LATENCY]
        run(["tc", "-n", netns, "qdisc", "replace", "dev", ifname, "root", *tbf])


def clear_wan_limit(lab: Lab) -> None:
    wan = lab.home.wan_link
    if wan is None:
        return
    for netns, ifname in ((lab.netns(wan.host), wan.ifname), (lab.netns(wan.peer), wan.peer_end)):
        run(["tc", "-n", netns, "qdisc", "del", "dev", ifname, "root"], check=False)


def run_iperf(
    lab: Lab,
    src: str,
    dst: str,
    nbytes: int,
    *,
    src_address: str,
    port_offset: int,
    timeout_s: float,
) -> IperfResult:
    """Move ``nbytes`` from ``src`` to ``dst``: server (sender) in ``src``, ``-R`` client in ``dst``.

    iperf3 (3.12) ends a test when its *client* has sent or received ``-n`` bytes; a sending client
    declares the end while data still sits in its socket buffer, and on a shaped link the server then
    stops counting and resets the rest. A receiving client ends only once every byte has arrived, so
    the client always runs where the bytes go. The receiver counts exactly ``nbytes``; the sender may
    have written one more block by the time it hears the end, and ``bytes_sent`` reports those
    bytes, which did cross the wire. When the sender is behind the router's NAT and the
    receiver outside it, a temporary port forward on the router lets the receiver reach the sender.
    """
    block = iperf_block_size(nbytes)
    port = str(IPERF_BASE_PORT + port_offset % 1000)
    connect_to, forward = src_address, None
    if _behind_nat(lab, src) and not _behind_nat(lab, dst) and dst != _router(lab):
        connect_to, forward = _wan_address(lab), _forward_rules(lab, port, src_address)
    log = lab.log_path(f"{src}.iperf3-{port}")
    with log.open("ab") as out:
        argv = ["iperf3", "-s", "-1", "-B", src_address, "-p", port, "--forceflush"]
        server = lab.popen(src, argv, stdout=out, stderr=out)
    try:
        if forward is not None:
            lab.exec(_router(lab), ["nft", "-f", "-"], input_text=forward)
        _wait_listening(log, server.poll, timeout_s=10.0)
        argv = ["iperf3", "-c", connect_to, "-p", port, "-R", "-n", str(nbytes), "-l", str(block), "--json"]
        done = lab.exec(dst, argv, check=False, timeout_s=timeout_s)
        try:
            report: dict[str, Any] = json.loads(done.stdout)
        except ValueError as exc:
            raise CommandError(argv, done.returncode, done.stdout, done.stderr) from exc
        if "error" in report or done.returncode != 0:
            raise CommandError(argv, done.returncode, str(report.get("error", "")), done.stderr)
    finally:
        lab.stop(server)
        if forward is not None:
            lab.exec(_router(lab), ["nft", "delete", "table", "ip", f"homediag_fwd_{port}"], check=False)
    end = report["end"]
    sent, received = end["sum_sent"], end["sum_received"]
    return IperfResult(
        bytes_sent=int(sent["bytes"]),
        bytes_received=int(received["bytes"]),
        seconds=float(received["seconds"]),
        sent_bps=float(sent["bits_per_second"]),
        received_bps=float(received["bits_per_second"]),
        raw=report,
    )


def iperf_block_size(nbytes: int) -> int:
    """The largest divisor of ``nbytes`` up to 128 KiB: iperf3 sends whole blocks, overshooting otherwise."""
    if nbytes <= 0:
        raise LabConfigError("nbytes must be positive")
    if nbytes <= IPERF_MAX_BLOCK_BYTES:
        return nbytes
    best = max(
        (
            d
            for i in range(1, math.isqrt(nbytes) + 1)
            if nbytes % i == 0
            for d in (i, nbytes // i)
            if d <= IPERF_MAX_BLOCK_BYTES
        ),
    )
    if best < IPERF_MIN_BLOCK_BYTES:
        limits = f"{IPERF_MIN_BLOCK_BYTES} and {IPERF_MAX_BLOCK_BYTES}"
        raise LabConfigError(f"{nbytes} has no divisor between {limits}: use a multiple of 1000")
    return best


def _router(lab: Lab) -> str:
    router = lab.home.router
    if router is None:
        raise LabConfigError("this home has no router")
    return router.name


def _behind_nat(lab: Lab, host: str) -> bool:
    router = lab.home.router
    return router is not None and host != router.name and any(lk.on_lan for lk in lab.home.links_of(host))


def _wan_address(lab: Lab) -> str:
    wan = lab.home.wan_link
    if wan is None or wan.ip is None:
        raise LabConfigError("the router's WAN link has no address")
    return wan.ip


def _forward_rules(lab: Lab, port: str, to: str) -> str:
    wan = lab.home.wan_link
    assert wan is not None
    return (
        f"table ip homediag_fwd_{port} {{\n"
        "  chain prerouting {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        f'    iifname "{wan.ifname}" tcp dport {port} dnat to {to}\n'
        "  }\n"
        "}\n"
    )


def _wait_listening(log: Path, poll: Callable[[], int | None], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if re.search(r"Server listening", log.read_text(errors="replace")):
            return
        if poll() is not None:
            raise ServiceError(f"iperf3 server exited: {log.read_text(errors='replace')[-300:]}")
        time.sleep(POLL_INTERVAL_S)
    raise ServiceError(f"iperf3 server not listening after {timeout_s} s")
