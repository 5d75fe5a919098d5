"""Scheduled connectivity sampling: the gateway and the configured internet targets, summarised per
interval, and a finding that says where trouble sits.

Each run pings every target at once (``count`` echoes ``echo_interval_s`` apart) and, when names are
configured, times a DNS lookup. The path is segmented the way a technician reasons:

    this device ──(Wi-Fi / home LAN)── gateway ──(access line, ISP)── internet targets
         "lan": the gateway's own figures      "beyond_gateway": the targets' figures minus the gateway's

Finding (``Finding.Where``): ``lan`` when the gateway itself loses or delays echoes; ``beyond_gateway``
when the gateway is clean but every internet target is not; ``remote`` when some internet targets
are clean and others are not (a remote service, not the line); ``dns`` when the path is clean but
the resolver fails or is slow; ``none`` otherwise. Thresholds are options.

Internet targets, the DNS server and names are configuration with no public default: an agent
probes only what its operator told it to (tests and the demo point them into the virtual home).
"""

from __future__ import annotations

import asyncio
from typing import Any

from protocol.samples import UNSET, ConnectivityData, DNSCheck, Finding, LANSummary, TargetSummary

from ..result import COMPLETE, ProbeResult
from ..routes import default_gateway
from .ipping import EchoStats, PingOutcome, jitter_ms, measure_ping
from .nslookup import ns_lookup


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(stats: EchoStats, count: int) -> dict[str, Any]:
    rtts = stats.rtts_ms
    out: dict[str, Any] = {
        "Sent": count,
        "Received": len(rtts),
        "LossPercent": round(100 * (count - len(rtts)) / count, 2) if count else 0.0,
    }
    if rtts:
        out |= {
            "LatencyP50": round(percentile(rtts, 0.5), 3),
            "LatencyP95": round(percentile(rtts, 0.95), 3),
            "Jitter": round(jitter_ms(rtts), 3),
        }
    return out


def finding(
    lan: dict[str, Any] | None,
    targets: list[dict[str, Any]],
    dns: dict[str, Any] | None,
    *,
    loss_pct: float,
    latency_ms: float,
    jitter_limit_ms: float,
    dns_ms: float,
) -> dict[str, str]:
    """Where the trouble is, from one interval's summaries (see the module docstring)."""

    def bad(summary: dict[str, Any], base_ms: float = 0.0) -> str:
        if summary.get("Received", 0) == 0:
            return "no answer"
        if summary["LossPercent"] > loss_pct:
            return f"{summary['LossPercent']:g}% loss"
        if summary["LatencyP50"] - base_ms > latency_ms:
            return f"{summary['LatencyP50'] - base_ms:.0f} ms added latency"
        if summary["Jitter"] > jitter_limit_ms:
            return f"{summary['Jitter']:.0f} ms jitter"
        return ""

    if lan is not None and (why := bad(lan)):
        return {"Where": "lan", "Message": f"between this device and the gateway: {why} (Wi-Fi or home LAN)"}
    base = float(lan.get("LatencyP50", 0.0)) if lan else 0.0
    problems = {t["Host"]: bad(t, base) for t in targets}
    failing = {h: w for h, w in problems.items() if w}
    if failing and len(failing) == len(problems):
        host, why = next(iter(failing.items()))
        return {
            "Where": "beyond_gateway",
            "Message": f"beyond the gateway (access line or ISP): {why} to {host}, the gateway is fine",
        }
    if failing:
        host, why = next(iter(failing.items()))
        return {"Where": "remote", "Message": f"only {host} suffers ({why}): a remote service, not the line"}
    if dns is not None:
        if dns.get("Status") != "Success":
            return {"Where": "dns", "Message": f"the resolver fails: {dns.get('Status')}"}
        if float(dns.get("ResponseTime", 0.0)) > dns_ms:
            return {"Where": "dns", "Message": f"the resolver is slow: {dns['ResponseTime']:.0f} ms"}
    return {"Where": "none", "Message": "no trouble seen"}


async def sample(
    gateway: str | None,
    targets: list[str],
    *,
    dns_names: list[str],
    dns_server: str | None,
    count: int,
    echo_interval_s: float,
    timeout_s: float,
    method: str,
    loss_pct: float,
    latency_ms: float,
    jitter_limit_ms: float,
    dns_ms: float,
) -> ProbeResult:
    """One interval: the gateway (the default one unless given) and ``targets`` pinged at once,
    ``dns_names[0]`` looked up, and the finding."""

    async def _ping(host: str) -> PingOutcome:
        return await measure_ping(
            host,
            count=count,
            timeout_s=timeout_s,
            interval_s=echo_interval_s,
            method=method,
        )

    gateway = gateway or default_gateway()
    hosts = ([gateway] if gateway else []) + targets
    if not hosts:
        return ProbeResult.error("Error_NoTarget", "no default gateway and no targets configured")
    jobs: list[Any] = [_ping(h) for h in hosts]
    if dns_names:
        jobs.append(ns_lookup(dns_names[0], server=dns_server, timeout_s=2.0))
    outcomes = await asyncio.gather(*jobs)
    pings: list[PingOutcome] = outcomes[: len(hosts)]
    summaries = []
    for i, ping in enumerate(pings):
        summary: dict[str, Any] = {
            "Host": ping.host,
            "Segment": "lan" if gateway and i == 0 else "internet",
            "Status": ping.status,
            "Method": ping.method,
        }
        if ping.status in (COMPLETE, "Error_NoRouteToHost"):
            summary |= summarise(ping.stats, count)
        else:
            summary["Message"] = ping.message
        summaries.append(summary)
    lan = summaries[0] if gateway else None
    internet = [s for s in summaries if s["Segment"] == "internet" and "Sent" in s]
    dns_result = None
    if dns_names:
        lookup: ProbeResult = outcomes[-1]
        results = lookup.data.get("Result") or [{"Status": lookup.status}]
        dns_result = results[0]
    where = finding(
        lan if lan and "Sent" in lan else None,
        internet,
        dns_result,
        loss_pct=loss_pct,
        latency_ms=latency_ms,
        jitter_limit_ms=jitter_limit_ms,
        dns_ms=dns_ms,
    )
    headline: dict[str, Any] = {}
    lines = internet or ([lan] if lan and "Sent" in lan else [])
    if lines:
        sent = sum(s["Sent"] for s in lines)
        received = sum(s["Received"] for s in lines)
        answered = [s for s in lines if s.get("Received")]
        headline["LossPercent"] = round(100 * (sent - received) / sent, 2) if sent else 0.0
        if answered:
            headline["LatencyP50"] = round(max(s["LatencyP50"] for s in answered), 3)
            headline["LatencyP95"] = round(max(s["LatencyP95"] for s in answered), 3)
            headline["Jitter"] = round(max(s["Jitter"] for s in answered), 3)
    data = ConnectivityData(
        Gateway=gateway or "",
        Targets=[TargetSummary(**s) for s in summaries],
        Finding=Finding(**where),
        LAN=(
            LANSummary(
                **{k: lan[k] for k in ("LossPercent", "LatencyP50", "LatencyP95", "Jitter") if k in lan}
            )
            if lan and "Sent" in lan
            else UNSET
        ),
        **headline,
        DNS=(
            DNSCheck(Status=dns_result.get("Status"), ResponseTime=dns_result.get("ResponseTime"))
            if dns_result is not None
            else UNSET
        ),
    )
    return ProbeResult.of(data)
