"""Reading a playbook's diagnostics into a finding: the rules alone, on results as agents send them."""

from __future__ import annotations

from cloud.playbooks import Step, read_printer, read_slow_internet
from protocol.tr181 import vendor

URI = "ipp://10.0.0.20:631/ipp/print"


def _ping(
    host: str,
    ok: int,
    count: int = 4,
    avg: float | None = 1.2,
    loss: float | None = None,
    *,
    old: bool = False,
) -> Step:
    """A ping result as today's agent sends it (vendor names, whole ms and µs), or ``old``."""
    result: dict[str, object] = {"Status": "Complete" if ok else "Error_Other", "SuccessCount": ok}
    result |= {
        "NumberOfRepetitions": count,
        ("LossPercent" if old else vendor("LossPercent")): loss
        if loss is not None
        else 100 * (count - ok) / count,
    }
    if old and ok and avg is not None:
        result["AverageResponseTime"] = avg  # float ms, as agents before issue 19 sent it
    elif not old:
        result["AverageResponseTime"] = max(1, round(avg)) if ok and avg is not None else 0
        result["AverageResponseTimeDetailed"] = round(avg * 1000) if ok and avg is not None else 0
    return Step("ping", {"host": host}, "Complete", result)


def _check(state: str, reasons: list[str], markers: list[dict[str, object]] | None = None) -> Step:
    result = {"status": "Complete", "state": state, "state_reasons": reasons, "make_and_model": "HP Test"}
    return Step("printer_check", {"uri": URI}, "Complete", {**result, "markers": markers or []})


def test_a_healthy_printer_is_called_fine() -> None:
    verdict, summary, evidence = read_printer(_check("idle", ["none"]), _ping("10.0.0.20", 4))
    assert verdict == "ok" and summary.startswith("The printer is fine")
    assert any("answers ping" in e for e in evidence)


def test_state_reasons_become_the_cause_in_words() -> None:
    verdict, summary, _ = read_printer(_check("idle", ["media-empty-report"]), _ping("10.0.0.20", 4))
    assert verdict == "problem" and "out of paper" in summary
    verdict, summary, _ = read_printer(
        _check("stopped", ["paused", "cover-open-error"]), _ping("10.0.0.20", 4)
    )
    assert verdict == "problem" and "paused" in summary and "cover is open" in summary
    verdict, summary, _ = read_printer(_check("idle", ["toner-low-warning"]), _ping("10.0.0.20", 4))
    assert verdict == "ok" and "toner is running low" in summary


def test_low_supplies_are_a_note_not_a_fault() -> None:
    markers = [{"name": "Black", "level": 4}, {"name": "Cyan", "level": 80}]
    verdict, summary, _ = read_printer(_check("idle", ["none"], markers), _ping("10.0.0.20", 4))
    assert verdict == "ok" and "Black at 4%" in summary and "Cyan" not in summary


def test_unreachable_versus_hung() -> None:
    offline = Step(
        "printer_check",
        {"uri": URI},
        "Complete",
        {"status": "Error_Timeout", "state": "offline", "reason": "timed out"},
    )
    verdict, summary, _ = read_printer(offline, _ping("10.0.0.20", 0))
    assert verdict == "problem" and "not reachable" in summary
    verdict, summary, _ = read_printer(offline, _ping("10.0.0.20", 4))
    assert verdict == "problem" and "print service is not answering" in summary


def test_slow_internet_is_placed_on_the_right_segment() -> None:
    dns_ok = Step("dns_lookup", {"name": "x"}, "Complete", {"Status": "Complete", "ResponseTime": 3})
    dns_bad = Step("dns_lookup", {"name": "x"}, "Complete", {"Status": "Error_Timeout"})
    # As the agent sends it: the diagnostic ran (Complete), the one lookup timed out.
    dns_timeout = Step(
        "dns_lookup",
        {"name": "x"},
        "Complete",
        {"Status": "Complete", "Result": [{"Status": "Error_Timeout"}]},
    )
    gw, net = "10.0.0.1", "192.0.2.1"
    cases = [
        (_ping(gw, 10, 10, 1.0), _ping(net, 10, 10, 20.0), dns_ok, "ok", "healthy"),
        (_ping(gw, 6, 10, 30.0), _ping(net, 6, 10, 50.0), dns_ok, "problem", "inside the home"),
        (_ping(gw, 10, 10, 40.0), _ping(net, 10, 10, 60.0), dns_ok, "problem", "home network"),
        (_ping(gw, 10, 10, 1.0), _ping(net, 8, 10, 20.0), dns_ok, "problem", "beyond the gateway"),
        (_ping(gw, 10, 10, 1.0), _ping(net, 10, 10, 250.0), dns_ok, "problem", "high latency"),
        (_ping(gw, 10, 10, 1.0), _ping(net, 10, 10, 20.0), dns_bad, "problem", "DNS"),
        (_ping(gw, 10, 10, 1.0), _ping(net, 10, 10, 20.0), dns_timeout, "problem", "DNS"),
        # An older agent's shape (unprefixed LossPercent, float ms) reads the same.
        (_ping(gw, 10, 10, 1.0, old=True), _ping(net, 8, 10, 20.0, old=True), dns_ok, "problem", "beyond"),
        (_ping(gw, 6, 10, 30.0, old=True), _ping(net, 6, 10, 50.0), dns_ok, "problem", "inside the home"),
    ]
    for gateway, internet, dns, verdict, words in cases:
        got, summary, evidence = read_slow_internet(gateway, internet, dns, None)
        assert (got, words in summary) == (verdict, True), (summary, evidence)


def test_the_wifi_signal_and_the_download_are_read_through_their_structs() -> None:
    wifi = Step(
        "run_probe",
        {"probe": "wifi"},
        "Complete",
        {"probe": "wifi", "status": "Complete", "data": {"Stats": {"SignalStrength": -80}}},
    )
    _, _, evidence = read_printer(_check("idle", ["none"]), _ping("10.0.0.20", 4, avg=1.25), wifi)
    assert "the PC's Wi-Fi signal is -80 dBm" in evidence and any("weak" in e for e in evidence)
    assert any("1.25 ms on average" in e for e in evidence), "the µs figure, not the rounded ms"
    download = Step(
        "download_test",
        {"url": "http://x/"},
        "Complete",
        {"Status": "Complete", vendor("ThroughputMbps"): 93.5, vendor("Busy"): True},
    )
    dns = Step("dns_lookup", {"name": "x"}, "Complete", {"Status": "Complete", "Result": []})
    gw, net = _ping("10.0.0.1", 10, 10, 1.0), _ping("192.0.2.1", 10, 10, 20.0)
    _, _, evidence = read_slow_internet(gw, net, dns, download)
    assert "download test: 93.5 Mbit/s (household busy)" in evidence
