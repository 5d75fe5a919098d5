"""`homediag-agent discover` in the virtual home, checked against the lab's own ground truth."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lab import Lab
from lab.model import Service

pytestmark = pytest.mark.lab

AGENT_HOST = "pc"


def discover(home: Lab, *args: str, timeout_s: float = 30) -> dict[str, Any]:
    argv = [sys.executable, "-m", "agent", "--state-dir", "/tmp/homediag-discover-test", "discover", "--json"]
    done = home.exec(AGENT_HOST, [*argv, *args], timeout_s=timeout_s)
    return dict(json.loads(done.stdout))


def expected_kind(name: str, host: dict[str, Any]) -> str | None:
    """The kind the ground truth implies, or None where it says nothing beyond 'a host'."""
    services = set(host["services"])
    if Service.IPP_PRINTER.value in services:
        return "printer"
    if Service.MEDIA_RENDERER.value in services:
        return "media"
    if Service.ROUTER.value in services:
        return "network"
    if name == AGENT_HOST:
        return "computer"
    if int(host["mac"][:2], 16) & 0x02:
        return "phone"
    return None


def lan_hosts(home: Lab) -> dict[str, dict[str, Any]]:
    truth = home.describe()["hosts"]
    lan = ipaddress.ip_network(f"{truth[AGENT_HOST]['address']}/24", strict=False)
    return {n: h for n, h in truth.items() if h["address"] and ipaddress.ip_address(h["address"]) in lan}


@pytest.fixture(scope="module")
def found(home: Lab) -> dict[str, Any]:
    return discover(home, "--timeout", "3")


def test_discover_finds_every_host_and_nothing_else(home: Lab, found: dict[str, Any]) -> None:
    truth = lan_hosts(home)
    by_mac = {d["mac"]: d for d in found["devices"]}
    assert set(by_mac) == {h["mac"] for h in truth.values()}, found["methods"]
    for name, host in truth.items():
        device = by_mac[host["mac"]]
        assert device["ip"] == [host["address"]], name
        assert device["vendor"] == (host["vendor"] or None), name
        kind = expected_kind(name, host)
        if kind is not None:
            assert device["kind"] == kind, (name, device["evidence"])
        else:  # a host that announces nothing: no class it has no evidence for
            assert device["kind"] not in ("printer", "media", "phone", "speaker"), (name, device)
        assert device["evidence"], name
    assert all(status == "Complete" for status in found["methods"].values()), found["methods"]


def test_each_method_saw_what_it_can(home: Lab, found: dict[str, Any]) -> None:
    truth = lan_hosts(home)
    by_mac = {d["mac"]: d for d in found["devices"]}
    for name, host in truth.items():
        device = by_mac[host["mac"]]
        announces = {Service.AVAHI.value, Service.MEDIA_RENDERER.value} & set(host["services"])
        if name == AGENT_HOST:
            assert "self" in device["sources"]
            continue
        assert "arp" in device["sources"], name
        if Service.MEDIA_RENDERER.value in host["services"]:
            assert {"mdns", "ssdp"} <= set(device["sources"]), name
        if announces:
            assert device["hostname"] == host["hostname"], name
        else:
            assert not {"mdns", "ssdp"} & set(device["sources"]), name


def test_the_random_mac_phone_claims_no_vendor(home: Lab, found: dict[str, Any]) -> None:
    phones = [h for h in lan_hosts(home).values() if int(h["mac"][:2], 16) & 0x02]
    assert phones, "the lab has a randomised-MAC host"
    for host in phones:
        device = next(d for d in found["devices"] if d["mac"] == host["mac"])
        assert device["random_mac"] is True and device["vendor"] is None


def test_the_printer_in_depth(home: Lab, found: dict[str, Any]) -> None:
    name = next(n for n, h in lan_hosts(home).items() if Service.IPP_PRINTER.value in h["services"])
    model = home.home.host(name)
    device = next(d for d in found["devices"] if d["ip"] == [home.address(name)])
    printer = device["printer"]
    assert printer["status"] == "Complete"
    assert printer["make_and_model"] == f"{model.make} {model.model}" == printer["txt"]["ty"]
    assert printer["state"] in ("idle", "processing")
    assert printer["name"] == model.label
    assert any(u.startswith(f"ipp://{home.address(name)}:") for u in printer["uris"])
    assert "application/pdf" in printer["document_formats"]
    assert printer["admin_url"].startswith(("http://", "https://"))
    types = {s["type"] for s in device["services"]}
    assert {"_ipp._tcp", "_ipps._tcp"} <= types
    ipp = next(s for s in device["services"] if s["type"] == "_ipp._tcp")
    assert ipp["txt"]["rp"] and ipp["txt"]["UUID"] == printer["uuid"]


def test_the_media_device_from_mdns_and_upnp(home: Lab, found: dict[str, Any]) -> None:
    name = next(n for n, h in lan_hosts(home).items() if Service.MEDIA_RENDERER.value in h["services"])
    model = home.home.host(name)
    device = next(d for d in found["devices"] if d["ip"] == [home.address(name)])
    assert device["upnp"]["friendly_name"] == model.label
    assert (device["upnp"]["manufacturer"], device["upnp"]["model_name"]) == (model.make, model.model)
    assert "_googlecast._tcp" in {s["type"] for s in device["services"]}


def test_the_table_shows_progress_and_every_host(home: Lab) -> None:
    argv = [sys.executable, "-m", "agent", "--state-dir", "/tmp/homediag-discover-test", "discover"]
    done = home.exec(AGENT_HOST, [*argv, "--timeout", "2"], timeout_s=30)
    assert "... discovering on" in done.stderr and "devices in" in done.stderr
    for host in lan_hosts(home).values():
        assert host["address"] in done.stdout


def test_a_sweep_of_a_public_range_is_refused(home: Lab) -> None:
    code = (
        "import asyncio, ipaddress; from agent.discovery import arp\n"
        "a = arp.Attached('eth0', '8.8.8.1', ipaddress.IPv4Network('8.8.8.0/24'), '')\n"
        "try:\n    asyncio.run(arp.sweep(a))\nexcept arp.SweepRefused as e:\n    print('refused', e)\n"
    )
    # Refused before anything is sent; run in the lab anyway, so that a regression could not leak.
    out = home.exec(AGENT_HOST, [sys.executable, "-c", code]).stdout
    assert out.startswith("refused")


def test_a_hostile_device_is_bounded_sanitised_and_counted(home: Lab) -> None:
    """Flooding mDNS, binary TXT, escape codes and HTML in names, an entity bomb over SSDP: the cycle
    ends in time, every real device is still found, and the bad input shows up only as counters."""
    hostile = "phone"  # a host that runs nothing else
    script = Path(__file__).with_name("hostile_responder.py")
    proc = home.popen(
        hostile, [sys.executable, str(script), home.address(hostile), "12"], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)
        started = time.monotonic()
        found = discover(home, "--timeout", "3")
        assert time.monotonic() - started < 15
    finally:
        home.stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()
    counters = found["counters"]
    assert counters.get("mdns_instances_dropped", 0) > 0
    assert counters.get("mdns_types_dropped", 0) > 0
    assert counters.get("ssdp_description_unsafe_xml") == 1
    assert counters.get("mdns_bad_instance_name", 0) >= 1  # control characters: refused outright
    assert counters.get("name_control_chars", 0) >= 1  # bidi override, zero-width space: removed
    assert counters.get("txt_binary", 0) >= 1 and counters.get("txt_keys_dropped", 0) > 0
    by_mac = {d["mac"]: d for d in found["devices"]}
    for name, host in lan_hosts(home).items():
        assert host["mac"] in by_mac, name
        kind = expected_kind(name, host)
        if kind is not None and name != hostile:
            assert by_mac[host["mac"]]["kind"] == kind, name
    evil = by_mac[lan_hosts(home)[hostile]["mac"]]
    assert len(evil["services"]) <= 32
    text = json.dumps(found, ensure_ascii=False)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "lollol" not in text
    nasty = [s for s in evil["services"] if s["name"].startswith("<img")]
    assert len(nasty) == 1 and len(nasty[0]["txt"]) <= 32
    assert "\u200b" not in text


def test_one_interface_only_and_a_missing_one(home: Lab) -> None:
    found = discover(home, "--timeout", "1.5", "--interface", "eth0")
    assert found["interfaces"] == ["eth0"]
    assert {d["mac"] for d in found["devices"]} == {h["mac"] for h in lan_hosts(home).values()}
    argv = [sys.executable, "-m", "agent", "--state-dir", "/tmp/homediag-discover-test", "discover", "--json"]
    done = home.exec(AGENT_HOST, [*argv, "--interface", "nope0"], check=False, timeout_s=30)
    assert done.returncode == 1
    missing = json.loads(done.stdout)
    assert missing["devices"] == [] and missing["methods"]["all"].startswith("Error_NoInterface")
