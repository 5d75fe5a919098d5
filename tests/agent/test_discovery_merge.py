"""One device per host, kinds with evidence, vendors, keys across cycles, and the sweep's limits."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from agent.discovery import Device, Inventory, KnownHost, Service, Sighting, UpnpInfo, inventory_hash, tables
from agent.discovery.arp import Attached, SweepRefused, neighbour_table, sweep_targets
from agent.discovery.const import MAX_SERVICES_PER_DEVICE
from agent.discovery.cycle import printer_uri
from agent.discovery.merge import classify, merge
from agent.discovery.oui import is_locally_administered, normalise_mac, vendor
from agent.discovery.sanitize import Counters
from agent.routes import default_gateway
from protocol.tr181 import vendor as extension

IPP = Service("_ipp._tcp", "Office Printer", 631, {"rp": "ipp/print", "UUID": "7c69"}, "office-printer")
CAST = Service("_googlecast._tcp", "TV-1", 8009, {"fn": "Living Room TV"}, "tv")


def test_sightings_of_one_host_become_one_device() -> None:
    sightings = [
        Sighting("arp", ip="10.0.0.20", mac="30:24:a9:7b:c2:20"),
        Sighting("mdns", ip="10.0.0.20", hostname="office-printer", services=[IPP]),
        Sighting("neigh", ip="10.0.0.20", mac="30:24:a9:7b:c2:20"),
        Sighting("arp", ip="10.0.0.30", mac="70:26:05:9a:3f:30"),
        Sighting("mdns", ip="10.0.0.30", hostname="tv", services=[CAST]),
        Sighting(
            "ssdp", ip="10.0.0.30", upnp=UpnpInfo(device_type="urn:schemas-upnp-org:device:MediaRenderer:1")
        ),
    ]
    devices = merge(sightings)
    assert [d.ips for d in devices] == [["10.0.0.20"], ["10.0.0.30"]]
    printer, tv = devices
    assert printer.sources == ["arp", "mdns", "neigh"] and printer.vendor == "HP Inc."
    assert printer.hostname == "office-printer"
    classify(printer)
    classify(tv)
    assert printer.kind == "printer" and "mDNS service _ipp._tcp" in printer.evidence
    assert tv.kind == "media" and "UPnP device type MediaRenderer" in tv.evidence
    assert printer_uri(printer) == "ipp://10.0.0.20:631/ipp/print"


def test_kinds_from_weaker_evidence() -> None:
    order = {"10.0.0.40": 0, "10.0.0.1": 1, "10.0.0.50": 2, "10.0.0.60": 3}
    sightings = [
        Sighting("arp", ip=ip, mac=mac)
        for ip, mac in (
            ("10.0.0.40", "6e:41:d2:07:b5:40"),
            ("10.0.0.1", "2c:91:ab:4d:1a:01"),
            ("10.0.0.50", "dc:a6:32:11:5c:50"),
            ("10.0.0.60", "00:00:5e:00:53:01"),
        )
    ]
    phone, gateway, pi, nothing = sorted(merge(sightings), key=lambda d: order[d.ips[0]])
    for device in (phone, gateway, pi, nothing):
        classify(device, gateway="10.0.0.1")
    assert phone.kind == "phone" and phone.vendor == "" and phone.random_mac
    assert gateway.kind == "network" and "default gateway of this network" in gateway.evidence
    assert pi.kind == "computer" and pi.evidence == ["MAC vendor Raspberry Pi Trading Ltd"]
    assert nothing.kind == "unknown" and nothing.evidence


def test_a_random_mac_claims_no_vendor_even_when_its_oui_is_registered() -> None:
    # 02:... would be 00:... with the U/L bit set: the OUI registry must not be asked.
    assert vendor("00:00:00:00:00:01") == "XEROX CORPORATION"
    assert is_locally_administered("02:00:00:00:00:01") and vendor("02:00:00:00:00:01") == ""
    assert normalise_mac("01:00:5e:00:00:fb") == "" and normalise_mac("00:00:00:00:00:00") == ""
    assert normalise_mac("AA-BB-CC-DD-EE-FF".replace("AA", "A8")) == "a8:bb:cc:dd:ee:ff"


def test_services_per_device_are_bounded() -> None:
    counters = Counters()
    services = [Service("_http._tcp", f"s{i}", 80) for i in range(500)]
    (device,) = merge([Sighting("mdns", ip="10.0.0.9", services=services)], counters)
    assert len(device.services) == MAX_SERVICES_PER_DEVICE
    assert counters["services_per_device_dropped"] == 500 - MAX_SERVICES_PER_DEVICE


def test_a_phone_that_changes_its_random_mac_stays_one_device(tmp_path: Path) -> None:
    inventory = Inventory(tmp_path / "inventory.json")
    phone = Service("_companion-link._tcp", "Anna's iPhone", 49152, {}, "annas-iphone")

    def seen(mac: str, ip: str) -> list[Sighting]:
        return [
            Sighting("arp", ip=ip, mac=mac),
            Sighting("mdns", ip=ip, hostname="annas-iphone", services=[phone]),
        ]

    first = inventory.update(merge(seen("6e:41:d2:07:b5:40", "10.0.0.40")), 1000.0)
    # Reloaded from disk, as after an agent restart, and a new MAC and address on the next join.
    again = Inventory(tmp_path / "inventory.json").update(
        merge(seen("5a:12:34:56:78:9a", "10.0.0.41")), 2000.0
    )
    assert len(first) == 1 and len(again) == 1
    before, after = first[0].host, again[0].host
    assert after[extension("Key")] == before[extension("Key")] and after[extension("FirstSeen")] == 1000.0
    assert after["PhysAddress"] == "5a:12:34:56:78:9a" and after[extension("Vendor")] == ""
    assert after["ActiveLastChange"] == "1970-01-01T00:16:40.000000Z", "active since its first detection"


def test_devices_not_seen_stay_inactive_and_printers_offline(tmp_path: Path) -> None:
    inventory = Inventory(tmp_path / "inventory.json")
    devices = merge(
        [
            Sighting("arp", ip="10.0.0.20", mac="30:24:a9:7b:c2:20"),
            Sighting("mdns", ip="10.0.0.20", services=[IPP]),
        ]
    )
    classify(devices[0])
    up = inventory.update(devices, 1000.0)
    down = inventory.update([], 1060.0)
    still = inventory.update([], 1200.0)
    assert up[0].active and not down[0].active
    printer = down[0].host[extension("Printer")]
    assert printer["state"] == "offline" and printer["reason"]
    assert down[0].host[extension("LastSeen")] == 1000.0
    assert up[0].host["ActiveLastChange"] == "1970-01-01T00:16:40.000000Z"
    assert (
        down[0].host["ActiveLastChange"] == still[0].host["ActiveLastChange"] == "1970-01-01T00:17:40.000000Z"
    ), "the change is when it was first missed, and stays"
    assert up[0].services[0]["Status"] == "LeaseActive"
    assert down[0].services[0]["Status"] == "LeaseActive", "its SRV lease (120 s) has not run out yet"
    assert still[0].services[0]["Status"] == "LeaseExpired"
    assert inventory_hash(up) != inventory_hash(down)
    back = inventory.update(devices, 1300.0)
    assert back[0].active and back[0].host["ActiveLastChange"] == "1970-01-01T00:21:40.000000Z"
    assert inventory.update([], 1060.0 + 8 * 86400) == []  # forgotten after a week


def test_the_sweep_refuses_public_ranges_and_bounds_large_subnets() -> None:
    public = Attached("eth0", "8.8.8.1", ipaddress.IPv4Network("8.8.8.0/24"), "")
    with pytest.raises(SweepRefused, match="not a private range"):
        sweep_targets(public)
    big = Attached("eth0", "10.1.2.3", ipaddress.IPv4Network("10.0.0.0/8"), "")
    network, targets = sweep_targets(big)
    assert str(network) == "10.1.2.0/24" and len(targets) == 253 and "10.1.2.3" not in targets
    with pytest.raises(SweepRefused, match="larger"):
        sweep_targets(big, max_hosts=100)
    cgnat = Attached("eth0", "100.64.0.5", ipaddress.IPv4Network("100.64.0.0/24"), "")
    with pytest.raises(SweepRefused):
        sweep_targets(cgnat)


def test_the_neighbour_table_keeps_complete_entries_only(tmp_path: Path) -> None:
    text = (
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "10.0.0.1         0x1         0x2         2c:91:ab:4d:1a:01     *        eth0\n"
        "10.0.0.7         0x1         0x0         00:00:00:00:00:00     *        eth0\n"
        "10.0.0.8         0x1         0x2         aa:bb:cc:dd:ee:ff     *        wlan0\n"
        "garbage\n"
    )
    assert [(s.ip, s.mac) for s in neighbour_table("eth0", text)] == [("10.0.0.1", "2c:91:ab:4d:1a:01")]
    route = tmp_path / "route"
    route.write_text(
        "Iface\tDestination\tGateway\tFlags\neth0\t0000D50A\t00000000\t0001\neth0\t00000000\t0100D50A\t0003\n"
    )
    assert default_gateway(route) == "10.213.0.1"


def test_the_memory_of_devices_is_bounded(tmp_path: Path) -> None:
    inventory = Inventory(tmp_path / "inventory.json")
    for cycle in range(3):
        devices = [
            Device(
                mac=f"6e:00:{cycle:02x}:00:{i // 256:02x}:{i % 256:02x}",
                ips=[f"10.0.{cycle}.{i % 250}"],
                random_mac=True,
            )
            for i in range(400)
        ]
        reported = inventory.update(devices, 1000.0 + cycle)
    assert len(inventory.known) == 1024 and len(reported) == 1024
    assert sum(1 for r in reported if r.active) == 400, "this cycle's devices are all kept"


def test_an_inventory_file_an_older_agent_wrote_is_read_in_todays_shape(tmp_path: Path) -> None:
    old_wire = {
        "Key": "mac-3024a97bc220",
        "PhysAddress": "30:24:a9:7b:c2:20",
        "IPAddress": ["10.0.0.20"],
        "HostName": "office-printer",
        "Active": True,
        "Kind": "printer",
        "Services": [
            {"InstanceName": "Office", "Port": 631, "TextRecord": {"rp": "ipp"}, "Type": "_ipp._tcp"}
        ],
    }
    entry = {"ids": ["mac:30:24:a9:7b:c2:20"], "first_seen": 900.0, "last_seen": 950.0, "wire": old_wire}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"devices": {"mac-3024a97bc220": entry}}))
    (gone,) = Inventory(path).update([], 1000.0)
    assert gone.host[extension("Key")] == "mac-3024a97bc220" and gone.host["IPAddress"] == "10.0.0.20"
    assert gone.host[extension("Printer")]["state"] == "offline", "an old printer is still a printer"
    assert gone.host["ActiveLastChange"] == "1970-01-01T00:15:50.000000Z", (
        "its last sighting, the nearest known"
    )
    assert gone.services == [
        {
            "InstanceName": "Office",
            "Port": 631,
            "TextRecord": [{"Key": "rp", "Value": "ipp"}],
            "TextRecordNumberOfEntries": 1,
            extension("Type"): "_ipp._tcp",
        }
    ]
    hosts, dns = tables([gone])
    assert hosts.HostNumberOfEntries == 1 and hosts.ActiveHosts == 0
    assert dns.SD.Service[0].Host == ["Device.Hosts.Host.1"]  # type: ignore[union-attr,index]


def test_an_entry_that_is_no_host_is_left_out_and_counted() -> None:
    counters = Counters()
    hosts, dns = tables(
        [KnownHost({"Active": "maybe"}), KnownHost({"Active": True}, [{"Port": -1}, {"Port": 1}])], counters
    )
    assert hosts.HostNumberOfEntries == 1 and dns.SD.ServiceNumberOfEntries == 1  # type: ignore[union-attr]
    assert dns.SD.Service[0].Host == ["Device.Hosts.Host.1"], "numbered by the table as sent"  # type: ignore[union-attr,index]
    assert counters["inventory_entry_invalid"] == 2
