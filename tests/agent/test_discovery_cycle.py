"""Which links one discovery cycle touches: a gateway's WAN is left out, mDNS claims stay in the home."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from agent.discovery import Service, Sighting, arp, cycle, ipp, mdns, ssdp
from agent.discovery.arp import Attached, lan_subnets
from agent.discovery.sanitize import Counters

WAN = Attached("eth0", "192.168.1.10", ipaddress.IPv4Network("192.168.1.0/24"), "02:00:00:00:00:01")
LAN = Attached("br-lan", "10.0.0.1", ipaddress.IPv4Network("10.0.0.0/24"), "02:00:00:00:00:02")
GUEST = Attached("br-guest", "10.0.1.1", ipaddress.IPv4Network("10.0.1.0/24"), "02:00:00:00:00:03")
PUBLIC_WAN = Attached("eth0", "203.0.113.10", ipaddress.IPv4Network("203.0.113.0/24"), "02:00:00:00:00:04")


def test_a_gateway_leaves_its_wan_out() -> None:
    assert lan_subnets(attached=[WAN, LAN, GUEST], forwarding=True, wan="eth0") == [LAN, GUEST]


def test_a_pc_keeps_its_subnets() -> None:
    assert lan_subnets(attached=[WAN, LAN], forwarding=False, wan="eth0") == [WAN, LAN]
    assert lan_subnets(attached=[WAN], forwarding=True, wan="eth0") == [WAN], "the only LAN is the LAN"
    assert lan_subnets(attached=[WAN, PUBLIC_WAN], forwarding=True, wan="") == [WAN, PUBLIC_WAN]


def test_a_chosen_interface_is_used_even_on_a_gateway() -> None:
    assert lan_subnets("eth0", attached=[WAN, LAN], forwarding=True, wan="eth0") == [WAN]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """A forwarding host with eth0 (default route, private: double NAT) and br-lan; methods faked."""
    calls: dict[str, list[Any]] = {"mdns": [], "ssdp": [], "arp": [], "ipp": []}
    monkeypatch.setattr(arp, "attached_subnets", lambda interface=None: [WAN, LAN, GUEST])
    monkeypatch.setattr(arp, "ip_forwarding", lambda: True)
    monkeypatch.setattr(arp, "default_route_interface", lambda: "eth0")
    monkeypatch.setattr(arp, "neighbour_table", lambda _ifname=None: [])

    async def browse(_timeout_s: float, addresses: Any, _counters: Counters) -> list[Sighting]:
        calls["mdns"].append(addresses)
        hostile = Service("_ipp._tcp", "Evil", 631, {"rp": "ipp/print"}, "evil")
        good = Service("_ipp._tcp", "Office", 631, {"rp": "ipp/print"}, "office")
        return [
            Sighting("mdns", ip="8.8.8.8", hostname="evil", services=[hostile]),
            Sighting("mdns", ip="192.168.1.77", hostname="evil", services=[hostile]),
            Sighting("mdns", ip="10.0.0.20", hostname="office", services=[good]),
        ]

    async def search(_timeout_s: float, address: str, _counters: Counters) -> list[Sighting]:
        calls["ssdp"].append(address)
        return []

    async def sweep(attached: Attached, **_options: Any) -> list[Sighting]:
        calls["arp"].append(attached.interface)
        return []

    async def ask(uri: str, **_kw: Any) -> dict[str, Any]:
        calls["ipp"].append(uri)
        return {"status": "Complete", "state": "idle"}

    monkeypatch.setattr(mdns, "browse", browse)
    monkeypatch.setattr(ssdp, "search", search)
    monkeypatch.setattr(arp, "sweep", sweep)
    monkeypatch.setattr(ipp, "get_printer_attributes", ask)
    monkeypatch.setattr(cycle, "default_gateway", lambda: "192.168.1.1")
    return calls


async def test_on_a_gateway_no_method_touches_the_wan(gateway: dict[str, list[Any]]) -> None:
    result = await cycle.run_cycle(1.0)
    assert result.interfaces == ["br-guest", "br-lan"]
    assert sorted(gateway["arp"]) == ["br-guest", "br-lan"]
    assert sorted(gateway["ssdp"]) == ["10.0.0.1", "10.0.1.1"], "one M-SEARCH per LAN interface"
    assert gateway["mdns"] == [["10.0.0.1", "10.0.1.1"]]


async def test_mdns_addresses_outside_the_lan_are_dropped_and_counted(gateway: dict[str, list[Any]]) -> None:
    result = await cycle.run_cycle(1.0)
    assert gateway["ipp"] == ["ipp://10.0.0.20:631/ipp/print"], "no IPP to 8.8.8.8 nor to the WAN side"
    assert [d.ips for d in result.devices if d.kind == "printer"] == [["10.0.0.20"]]
    assert result.counters["mdns_address_off_lan"] == 2


async def test_a_chosen_interface_is_the_only_one(gateway: dict[str, list[Any]]) -> None:
    await cycle.run_cycle(1.0, interface="br-lan")
    assert (gateway["arp"], gateway["ssdp"], gateway["mdns"]) == (["br-lan"], ["10.0.0.1"], [["10.0.0.1"]])
