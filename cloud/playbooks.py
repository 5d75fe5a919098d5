"""Playbooks: several diagnostics on one agent turned into a finding in plain words, with evidence.

A playbook runs catalogue commands through the same path as a CSR's own (validated, audited,
signed, expiring; cloud/remote.py), waits for their results, and reads them with rules written
down here, so a CSR gets "the printer is out of paper" rather than a page of IPP attributes. The
reading functions (``read_printer``, ``read_slow_internet``) are pure: they take the commands'
results and return the finding, and are tested on their own.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from protocol import ProbeName
from protocol.samples import (
    UNSET,
    IPPingDiagnostics,
    NSLookupDiagnostics,
    TransferDiagnostics,
    UnsetType,
    WifiData,
    given,
    salvage,
)

#: IPP printer-state-reasons (RFC 8011, PWG 5100.x) a subscriber can act on, in words.
REASONS: dict[str, str] = {
    "media-empty": "it is out of paper",
    "media-needed": "it needs paper loaded",
    "media-jam": "paper is jammed",
    "media-low": "paper is running low",
    "toner-empty": "it is out of toner",
    "toner-low": "toner is running low",
    "marker-supply-empty": "it is out of ink or toner",
    "marker-supply-low": "ink or toner is running low",
    "cover-open": "a cover is open",
    "door-open": "a door is open",
    "input-tray-missing": "a paper tray is missing",
    "output-area-full": "the output tray is full",
    "paused": "printing is paused on the printer",
    "moving-to-paused": "printing is being paused on the printer",
    "offline-report": "the printer says it is offline",
    "shutdown": "the printer is shutting down",
    "spool-area-full": "its job storage is full",
    "connecting-to-device": "it is still connecting to its print engine",
}
#: Reasons that stop printing (the rest only warn).
BLOCKING = {
    "media-empty",
    "media-needed",
    "media-jam",
    "toner-empty",
    "marker-supply-empty",
    "cover-open",
    "door-open",
    "input-tray-missing",
    "output-area-full",
    "paused",
    "moving-to-paused",
    "offline-report",
    "shutdown",
    "spool-area-full",
}
LOW_MARKER_PERCENT = 10


@dataclass
class Step:
    command: str
    params: dict[str, Any]
    status: str = "Error_NotRun"
    result: dict[str, Any] = field(default_factory=dict)
    command_id: str = ""


@dataclass
class Finding:
    playbook: str
    #: ``ok``: nothing wrong where we looked; ``problem``: a cause found; ``unknown``: could not tell.
    verdict: str
    summary: str
    evidence: list[str]
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Run = Callable[[str, dict[str, Any]], Awaitable[Step]]


def _ping(step: Step) -> IPPingDiagnostics:
    """A ping step's outputs through their Struct (an older agent's shape upgraded)."""
    return salvage(IPPingDiagnostics, step.result, "ping") or IPPingDiagnostics()


def _average_ms(ping: IPPingDiagnostics) -> float | None:
    """The average round trip in ms: from the microseconds where the agent sent them."""
    if ping.SuccessCount is UNSET or not ping.SuccessCount:
        return None
    if not isinstance(ping.AverageResponseTimeDetailed, UnsetType):
        return round(ping.AverageResponseTimeDetailed / 1000, 3)
    return None if isinstance(ping.AverageResponseTime, UnsetType) else float(ping.AverageResponseTime)


def _reason_words(reasons: list[str]) -> tuple[list[str], list[str]]:
    """(blocking, warnings) in words; IPP suffixes -report/-warning/-error are folded."""
    blocking, warnings = [], []
    for raw in reasons:
        keyword = raw
        severity = ""
        for suffix in ("-error", "-warning", "-report"):
            if raw.endswith(suffix):
                keyword, severity = raw.removesuffix(suffix), suffix
        if keyword in {"none", ""}:
            continue
        words = REASONS.get(keyword, f"the printer reports '{keyword}'")
        if keyword in BLOCKING and severity != "-warning":
            blocking.append(words)
        else:
            warnings.append(words)
    return blocking, warnings


def read_printer(check: Step, ping: Step, wifi: Step | None = None) -> tuple[str, str, list[str]]:
    """The verdict, the summary in words and the evidence, from printer_check, ping (and Wi-Fi)."""
    evidence: list[str] = []
    echo = _ping(ping)
    answers_ping = ping.status == "Complete" and given(echo.SuccessCount, 0) > 0
    host = ping.params.get("host", "the printer")
    if answers_ping:
        evidence.append(
            f"{host} answers ping: {given(echo.SuccessCount, 0)}/{given(echo.NumberOfRepetitions, '?')}"
            f" replies, {_average_ms(echo)} ms on average"
        )
    else:
        evidence.append(f"{host} does not answer ping ({given(echo.Status, ping.status)})")
    if wifi is not None and wifi.status == "Complete":
        link = salvage(WifiData, wifi.result.get("data", wifi.result), "wifi") or WifiData()
        signal = None if isinstance(link.Stats, UnsetType) else given(link.Stats.SignalStrength, None)
        if signal is not None:
            evidence.append(f"the PC's Wi-Fi signal is {signal} dBm")
            if signal < -75:
                evidence.append("that signal is weak: the PC may lose the network now and then")
    state = check.result.get("state")
    if (
        check.status != "Complete"
        or check.result.get("status", "Complete") != "Complete"
        or state == "offline"
    ):
        reason = check.result.get("reason") or check.result.get("Status") or check.status
        evidence.append(f"the printer's IPP service does not answer: {reason}")
        if answers_ping:
            return (
                "problem",
                "The printer is on the network but its print service is not answering: it is stuck or "
                "still starting. Turn it off and on again.",
                evidence,
            )
        return (
            "problem",
            "The printer is not reachable on the home network: it is off, asleep, or not connected "
            "(Wi-Fi or cable). Check that it is on and connected, then try again.",
            evidence,
        )
    reasons = [str(r) for r in check.result.get("state_reasons", [])]
    blocking, warnings = _reason_words(reasons)
    evidence.append(
        f"IPP: {check.result.get('make_and_model') or 'the printer'} is {state}"
        + (f", reasons: {', '.join(reasons)}" if reasons and reasons != ["none"] else "")
    )
    low = [
        f"{m.get('name')} at {m.get('level')}%"
        for m in check.result.get("markers", [])
        if isinstance(m.get("level"), int) and 0 <= m["level"] <= LOW_MARKER_PERCENT
    ]
    if low:
        warnings.append("supplies are low: " + ", ".join(low))
    if state == "stopped" or blocking:
        cause = "; ".join(blocking) or "it has stopped"
        return "problem", f"The printer cannot print: {cause}.", evidence + [f"note: {w}" for w in warnings]
    summary = (
        f"The printer is fine: reachable and {state}, accepting jobs. If printing still fails, the "
        "problem is on the computer: re-add the printer (guided setup) or clear its queue."
    )
    if warnings:
        summary += " Note: " + "; ".join(warnings) + "."
    return "ok", summary, evidence


def read_slow_internet(
    gateway: Step, internet: Step, dns: Step, download: Step | None
) -> tuple[str, str, list[str]]:
    """Where the trouble sits: the home network, the gateway, the line beyond, or DNS."""
    evidence: list[str] = []

    def ping_line(name: str, step: Step) -> tuple[float | None, float | None]:
        echo = _ping(step)
        loss = given(echo.LossPercent, None)
        avg = _average_ms(echo)
        evidence.append(
            f"{name} ({step.params.get('host')}): "
            + (
                f"{avg} ms average, {loss}% lost"
                if avg is not None
                else f"no reply ({given(echo.Status, step.status)})"
            )
        )
        return avg, (float(loss) if loss is not None else None)

    gw_avg, gw_loss = ping_line("gateway", gateway)
    net_avg, net_loss = ping_line("internet", internet)
    # The lookup's own outcome is per result (TR-181 Result.{i}.Status); Status alone says it ran.
    lookup = salvage(NSLookupDiagnostics, dns.result, "dns_lookup") or NSLookupDiagnostics()
    results = given(lookup.Result, [])
    dns_ok = dns.status == "Complete" and (
        any(r.Status == "Success" for r in results) if results else given(lookup.Status, "") == "Complete"
    )
    answered = [r for r in results if r.Status == "Success"]
    dns_ms = given(answered[0].ResponseTime, None) if answered else None
    evidence.append(
        f"DNS: {'answered' if dns_ok else 'failed'}" + (f" in {dns_ms} ms" if dns_ok and dns_ms else "")
    )
    if download is not None and download.status == "Complete":
        test = salvage(TransferDiagnostics, download.result, "download_test") or TransferDiagnostics()
        evidence.append(
            f"download test: {given(test.ThroughputMbps, None)} Mbit/s"
            + (" (household busy)" if given(test.Busy, False) else "")
        )
    if gw_avg is None or (gw_loss or 0) >= 20:
        return (
            "problem",
            "The trouble is inside the home: the PC barely reaches the gateway (Wi-Fi or cable).",
            evidence,
        )
    if (gw_loss or 0) >= 2 or gw_avg > 20:
        return (
            "problem",
            "The home network is the bottleneck: the link to the gateway is slow or lossy (Wi-Fi?).",
            evidence,
        )
    if net_avg is None or (net_loss or 0) >= 5:
        return (
            "problem",
            "The trouble is beyond the gateway: the line or the provider's network loses packets.",
            evidence,
        )
    if net_avg - gw_avg > 100:
        return (
            "problem",
            "The line beyond the gateway is slow (high latency); the home network is fine.",
            evidence,
        )
    if not dns_ok:
        return (
            "problem",
            "Names do not resolve: the DNS server is failing, while the line itself works.",
            evidence,
        )
    return (
        "ok",
        "The connection looks healthy from here: the home network, the gateway and the line.",
        evidence,
    )


async def printer_wont_print(run: Run, uri: str) -> Finding:
    host = urllib.parse.urlsplit(uri).hostname or ""
    check, ping = await asyncio.gather(
        run("printer_check", {"uri": uri}), run("ping", {"host": host, "count": 4, "timeout_s": 1.0})
    )
    wifi = await run("run_probe", {"probe": ProbeName.WIFI.value})
    verdict, summary, evidence = read_printer(check, ping, wifi)
    return Finding("printer_wont_print", verdict, summary, evidence, [check, ping, wifi])


async def internet_is_slow(
    run: Run, gateway: str, internet: str, name: str, download_url: str | None
) -> Finding:
    gw, net, dns = await asyncio.gather(
        run("ping", {"host": gateway, "count": 10, "timeout_s": 1.0}),
        run("ping", {"host": internet, "count": 10, "timeout_s": 1.0}),
        run("dns_lookup", {"name": name}),
    )
    download = None
    if download_url:
        download = await run("download_test", {"url": download_url, "duration_s": 5.0})
    verdict, summary, evidence = read_slow_internet(gw, net, dns, download)
    steps = [gw, net, dns, *([download] if download else [])]
    return Finding("internet_is_slow", verdict, summary, evidence, steps)


async def wait_for_result(load: Callable[[], Any], timeout_s: float, poll_s: float = 0.25) -> Any:
    """Poll ``load`` (a blocking loader run in a thread) until it returns something or time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(load)
        if value is not None:
            return value
        await asyncio.sleep(poll_s)
    return None
