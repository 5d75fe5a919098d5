"""The discovery probe's options, its place in the catalogue, and what stays out of the agent's memory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent import probes
from agent.discovery import CycleResult, Device, Service
from agent.probes import discovery as discovery_probe
from agent.probes.discovery import DiscoveryProbe
from protocol.samples import decode_data
from protocol.tr181 import vendor

UNCHANGED, HASH = vendor("Unchanged"), vendor("InventoryHash")


def test_discovery_is_shipped_and_its_options_are_checked() -> None:
    assert "discovery" in probes.SHIPPED and probes.registered()["discovery"] is DiscoveryProbe
    probe = DiscoveryProbe({"interval_s": 600, "timeout_s": 3, "interface": "eth0", "rate_pps": 500})
    assert (probe.timeout_s, probe.interface, probe.sweep.rate_pps) == (3.0, "eth0", 500.0)
    assert probe.sweep.allow_public is False, "public ranges are refused unless configured"
    for bad in (
        {"timeout_s": 0},
        {"timeout_s": "3"},
        {"interface": 3},
        {"arp_sweep": "yes"},
        {"max_hosts": 0},
        {"x": 1},
    ):
        with pytest.raises(probes.ProbeConfigError):
            DiscoveryProbe(bad)


def test_the_resident_agent_does_not_load_scapy_or_the_oui_index() -> None:
    code = (
        "import sys, agent.runner, agent.probes\n"
        "from agent.discovery import merge, Sighting\n"
        "merge.merge([Sighting('arp', ip='10.0.0.2', mac='30:24:a9:7b:c2:20')])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scapy', 'netaddr')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_full_inventory_on_change_and_hourly_hash_only_in_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = [Device(mac="30:24:a9:7b:c2:20", ips=["10.0.0.20"], kind="printer", sources=["arp"])]

    async def fake_cycle(*_args: Any) -> CycleResult:
        return CycleResult(devices=[_copy(d) for d in devices])

    monkeypatch.setattr(discovery_probe, "run_cycle", fake_cycle)
    probe = DiscoveryProbe({"full_every_s": 3600})
    probe.attach(tmp_path)
    first = await probe.run()
    second = await probe.run()
    assert first is not None and second is not None
    assert len(first.data["Hosts"]["Host"]) == 1 and UNCHANGED not in first.data
    assert first.data["Hosts"]["HostNumberOfEntries"] == 1
    assert second.data[UNCHANGED] is True and "Hosts" not in second.data and "DNS" not in second.data
    assert second.data[HASH] == first.data[HASH]
    devices.append(Device(mac="dc:a6:32:11:5c:50", ips=["10.0.0.50"], sources=["arp"]))
    third = await probe.run()
    assert third is not None and len(third.data["Hosts"]["Host"]) == 2
    probe.full_every_s = 0  # and the whole inventory again once the hour is over
    fourth = await probe.run()
    assert fourth is not None and len(fourth.data["Hosts"]["Host"]) == 2


async def test_services_are_a_table_of_their_own_pointing_at_their_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipp = Service("_ipp._tcp", "Office", 631, {"ty": "HP"}, "office", target="office.local.", ttl_s=120)
    devices = [
        Device(mac="dc:a6:32:11:5c:50", ips=["10.0.0.5"], sources=["arp"]),
        Device(mac="30:24:a9:7b:c2:20", ips=["10.0.0.20", "fe80::1"], sources=["mdns"], services=[ipp]),
    ]

    async def fake_cycle(*_args: Any) -> CycleResult:
        return CycleResult(devices=devices)

    monkeypatch.setattr(discovery_probe, "run_cycle", fake_cycle)
    probe = DiscoveryProbe({})
    probe.attach(tmp_path)
    result = await probe.run()
    hosts, sd = result.data["Hosts"], result.data["DNS"]["SD"]
    printer = hosts["Host"][1]
    assert (printer["IPAddress"], printer["IPv6Address"]) == ("10.0.0.20", [{"IPAddress": "fe80::1"}])
    assert printer["IPv4AddressNumberOfEntries"] == 1 and printer["Layer1Interface"] == ""
    assert "Services" not in printer and vendor("Services") not in printer
    (service,) = sd["Service"]
    assert sd["ServiceNumberOfEntries"] == 1 and service["Host"] == ["Device.Hosts.Host.2"]
    assert service["Target"] == "office.local." and service["TimeToLive"] == 120
    assert service["TextRecord"] == [{"Key": "ty", "Value": "HP"}] and service[vendor("Type")] == "_ipp._tcp"
    assert decode_data("discovery", result.data) is not None, "the sample fits the protocol"


def _copy(device: Device) -> Device:
    return Device(mac=device.mac, ips=list(device.ips), kind=device.kind, sources=list(device.sources))


async def test_a_run_on_demand_hides_no_change_from_the_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = [Device(mac="30:24:a9:7b:c2:20", ips=["10.0.0.20"], kind="printer", sources=["arp"])]

    async def fake_cycle(*_args: Any) -> CycleResult:
        return CycleResult(devices=[_copy(d) for d in devices])

    monkeypatch.setattr(discovery_probe, "run_cycle", fake_cycle)
    probe = DiscoveryProbe({"full_every_s": 3600})
    probe.attach(tmp_path)
    assert await probe.run() is not None
    saved = (tmp_path / "inventory.json").read_bytes()
    devices.append(Device(mac="dc:a6:32:11:5c:50", ips=["10.0.0.50"], sources=["arp"]))
    asked = await probe.run_now()
    assert len(asked.data["Hosts"]["Host"]) == 2, "a CSR sees the whole inventory"
    assert (tmp_path / "inventory.json").read_bytes() == saved, "and the saved inventory is left alone"
    scheduled = await probe.run()
    assert scheduled is not None and len(scheduled.data["Hosts"]["Host"]) == 2, (
        "the change still reaches the cloud"
    )
    assert UNCHANGED not in scheduled.data


async def test_runs_of_the_probe_do_not_overlap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = 0, 0

    async def slow_cycle(*_args: Any) -> CycleResult:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return CycleResult(devices=[Device(mac="30:24:a9:7b:c2:20", ips=["10.0.0.20"], sources=["arp"])])

    monkeypatch.setattr(discovery_probe, "run_cycle", slow_cycle)
    probe = DiscoveryProbe({})
    probe.attach(tmp_path)
    await asyncio.gather(probe.run(), probe.run_now(), probe.run())
    assert most == 1
