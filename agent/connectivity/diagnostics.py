"""On-demand connectivity diagnostics: the CSR's commands (protocol/catalogue.py) and ``diagnose`` CLI.

Both return TR-181 / TR-143 names: ``{"Status": ..., **outputs}``. A failing target is a status; an
exception here would be a bug (the command executor turns it into ``Error_Internal``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec

from protocol.catalogue import (
    DnsLookupParams,
    HttpCheckParams,
    PingParams,
    ThroughputParams,
    TraceRouteParams,
)
from protocol.samples import (
    NSLookupData,
    PingData,
    SampleData,
    TraceRouteData,
    UnsetType,
    given,
)
from protocol.tr181 import vendor

from ..result import COMPLETE, ProbeResult
from .http_timing import http_check
from .ipping import ip_ping
from .nslookup import ns_lookup
from .trace import trace_route
from .transfer import download_diagnostics, upload_diagnostics
from .wireless import wifi_link

#: The remote commands' echo spacing: brisk, yet far from a flood (ping(8) lets root go to 2 ms).
COMMAND_ECHO_INTERVAL_S = 0.2


def tr181(result: ProbeResult) -> dict[str, Any]:
    return {"Status": result.status, **result.data}


async def ping_command(params: PingParams) -> dict[str, Any]:
    return tr181(
        await ip_ping(
            params.host, count=params.count, timeout_s=params.timeout_s, interval_s=COMMAND_ECHO_INTERVAL_S
        )
    )


async def traceroute_command(params: TraceRouteParams) -> dict[str, Any]:
    return tr181(await trace_route(params.host, max_hops=params.max_hops))


async def dns_lookup_command(params: DnsLookupParams) -> dict[str, Any]:
    return tr181(await ns_lookup(params.name, server=params.server))


async def http_check_command(params: HttpCheckParams) -> dict[str, Any]:
    return tr181(await http_check(params.url))


async def download_test_command(params: ThroughputParams) -> dict[str, Any]:
    # A CSR's test flags a busy household instead of refusing: the CSR is on the phone and asked.
    return tr181(await download_diagnostics(params.url, duration_s=params.duration_s, busy_policy="flag"))


async def upload_test_command(params: ThroughputParams) -> dict[str, Any]:
    return tr181(await upload_diagnostics(params.url, duration_s=params.duration_s, busy_policy="flag"))


# -- homediag-agent diagnose ... -------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    """The ``diagnose`` sub-commands, added to the agent CLI's sub-parsers."""
    p = sub.add_parser("diagnose", help="run one connectivity diagnostic now (TR-181 / TR-143 outputs)")
    kinds = p.add_subparsers(dest="diagnostic", required=True)

    def kind(name: str, help_text: str) -> Any:
        parser = kinds.add_parser(name, help=help_text)
        parser.add_argument("--json", action="store_true", help="TR-181 names, machine-readable")
        return parser

    ping = kind("ping", "IPPing: ICMP echo (or a labelled TCP-connect fallback)")
    ping.add_argument("--host", required=True)
    ping.add_argument("--count", type=_bounded(int, 1, 10_000), default=4)
    ping.add_argument("--timeout", type=_bounded(float, 0.01, 30), default=1.0, help="seconds per echo")
    ping.add_argument(
        "--interval", type=_bounded(float, 0.002, 60), default=0.2, help="seconds between echoes"
    )
    ping.add_argument("--size", type=_bounded(int, 8, 65_000), default=56, help="data bytes per echo")
    ping.add_argument("--method", choices=["auto", "ICMPRaw", "ICMPDatagram", "TCPConnect"], default="auto")
    ping.add_argument("--port", type=_bounded(int, 1, 65_535), default=443, help="TCP-connect fallback port")
    trace = kind("traceroute", "TraceRoute with ICMP echoes of rising TTL")
    trace.add_argument("--host", required=True)
    trace.add_argument("--max-hops", type=_bounded(int, 1, 64), default=30)
    trace.add_argument("--timeout", type=_bounded(float, 0.05, 10), default=1.0)
    trace.add_argument("--method", choices=["auto", "ICMPRaw", "ICMPDatagram"], default="auto")
    dns = kind("dns", "NSLookupDiagnostics against a DNS server (default: the system's first)")
    dns.add_argument("--name", required=True)
    dns.add_argument("--server")
    dns.add_argument("--timeout", type=_bounded(float, 0.05, 30), default=2.0)
    dns.add_argument("--count", type=_bounded(int, 1, 100), default=1)
    http = kind("http", "status and DNS/connect/TLS/first-byte times of one GET")
    http.add_argument("--url", required=True)
    http.add_argument("--timeout", type=_bounded(float, 0.1, 120), default=10.0)
    for name, help_text in (
        ("download", "DownloadDiagnostics (TR-143)"),
        ("upload", "UploadDiagnostics (TR-143)"),
    ):
        t = kind(name, help_text + " against the cloud's speed-test endpoint")
        t.add_argument("--url", required=True)
        t.add_argument("--duration", type=_bounded(float, 0.5, 60), default=10.0, help="seconds")
        t.add_argument("--connections", type=_bounded(int, 1, 16), default=4)
        t.add_argument("--interface", help="WAN-side interface to watch (default: the default route's)")
        t.add_argument("--busy-threshold", type=_bounded(float, 0, 100_000), default=1.0, help="Mbit/s")
        t.add_argument("--busy-sample", type=_bounded(float, 0, 10), default=1.0, help="seconds; 0 skips")
        t.add_argument("--refuse-when-busy", action="store_true", help="do not test a busy line")
    kind("wifi", "this host's Wi-Fi link, if it has one")


def _bounded(kind: type[int] | type[float], low: float, high: float) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    parse.__name__ = kind.__name__
    return parse


async def run(args: Any) -> ProbeResult:
    """The diagnostic ``args`` (from :func:`add_parser`) asks for."""
    name = args.diagnostic
    if name == "ping":
        return await ip_ping(
            args.host,
            count=args.count,
            timeout_s=args.timeout,
            interval_s=args.interval,
            size_bytes=args.size,
            method=args.method,
            tcp_port=args.port,
        )
    if name == "traceroute":
        return await trace_route(
            args.host, max_hops=args.max_hops, timeout_s=args.timeout, method=args.method
        )
    if name == "dns":
        return await ns_lookup(args.name, server=args.server, timeout_s=args.timeout, count=args.count)
    if name == "http":
        return await http_check(args.url, timeout_s=args.timeout)
    if name in ("download", "upload"):
        test = download_diagnostics if name == "download" else upload_diagnostics
        return await test(
            args.url,
            duration_s=args.duration,
            connections=args.connections,
            interface=args.interface,
            busy_threshold_mbit=args.busy_threshold,
            busy_sample_s=args.busy_sample,
            busy_policy="refuse" if args.refuse_when_busy else "flag",
        )
    return await wifi_link()


def main(args: Any) -> int:
    """Run, print, and exit 0 when the diagnostic completed, 2 when its status is an error."""
    result = asyncio.run(run(args))
    out = tr181(result)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(_human(args.diagnostic, out))
    return 0 if result.status == COMPLETE else 2


def _human(name: str, out: dict[str, Any]) -> str:
    """The outputs in words, read through their Structs (the wire names are TR-181's and ours)."""
    base = msgspec.convert(out, SampleData)
    lines = [f"{name}: {out['Status']}" + (f" ({base.message})" if base.message else "")]
    if name == "ping":
        ping = msgspec.convert(out, PingData)
        if not isinstance(ping.SuccessCount, UnsetType) and ping.Method:
            lines.append(
                f"{ping.IPAddressUsed} via {ping.Method}: {ping.SuccessCount}/{ping.NumberOfRepetitions} "
                f"answered ({ping.LossPercent}% loss)"
            )
            if ping.SuccessCount:
                us = [
                    given(t, 0) / 1000
                    for t in (
                        ping.MinimumResponseTimeDetailed,
                        ping.AverageResponseTimeDetailed,
                        ping.MaximumResponseTimeDetailed,
                    )
                ]
                lines.append(
                    "rtt min/avg/max/jitter = "
                    + "/".join(f"{t:.3f}" for t in us)
                    + f"/{given(ping.Jitter, 0.0)} ms"
                )
    elif name == "traceroute":
        trace = msgspec.convert(out, TraceRouteData)
        for i, hop in enumerate(given(trace.RouteHops, []), 1):
            times = " ".join(str(t) if t else "*" for t in given(hop.RTTimes, []))
            lines.append(f"{i:2d}  {given(hop.HostAddress, '') or '*':<16} {times} ms")
    elif name == "dns":
        lookup = msgspec.convert(out, NSLookupData)
        for r in given(lookup.Result, []):
            addresses = ", ".join(given(r.IPAddresses, [])) or "-"
            lines.append(
                f"{r.Status}: {addresses} from {r.DNSServerIP} in {r.ResponseTime} ms ({r.AnswerType})"
            )
    else:
        skip = {"Status", vendor("Message"), "PerConnectionResult", "IncrementalResult"}
        lines += [f"{k}: {v}" for k, v in out.items() if k not in skip]
    return "\n".join(lines)
