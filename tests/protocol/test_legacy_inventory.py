"""Older agents' discovery and netdev samples read in today's TR-181 shape (issue 19)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest

from protocol.samples import DiscoveryData, NetDevData, SampleDataError, check_sample_data, decode_data
from protocol.samples.legacy_inventory import split_addresses, upgrade_discovery
from protocol.samples.usage import upgrade_netdev
from protocol.tr181 import vendor

OLD_DISCOVERY: dict[str, Any] = {
    "HostNumberOfEntries": 2,
    "ActiveHosts": 1,
    "InventoryHash": "ab" * 32,
    "Methods": {"mdns": "Complete"},
    "Hosts": [
        {"Key": "mac-1", "PhysAddress": "dc:a6:32:11:5c:50", "IPAddress": ["10.0.0.5"], "Active": False},
        {
            "Key": "mac-2",
            "IPAddress": ["fe80::2", "10.0.0.20", "not an address"],
            "HostName": "p" * 128,
            "Active": True,
            "Kind": "printer",
            "FirstSeen": time.time(),
            "Services": [
                {
                    "InstanceName": "i" * 128,
                    "ApplicationProtocol": "ipp",
                    "TransportProtocol": "TCP",
                    "Port": 631,
                    "TextRecord": {"rp": "ipp/print", "ty": "HP"},
                    "Type": "_ipp._tcp",
                }
            ],
        },
    ],
}


def test_an_old_discovery_sample_becomes_two_tables_joined_by_reference() -> None:
    data = check_sample_data("discovery", OLD_DISCOVERY)
    typed = decode_data("discovery", data)
    assert isinstance(typed, DiscoveryData)
    assert typed.InventoryHash == "ab" * 32 and typed.Methods == {"mdns": "Complete"}
    hosts, sd = typed.Hosts, typed.DNS.SD  # type: ignore[union-attr]
    assert (hosts.HostNumberOfEntries, hosts.ActiveHosts) == (2, 1)  # type: ignore[union-attr]
    first, printer = hosts.Host  # type: ignore[union-attr,misc]
    assert (first.Key, first.IPAddress, first.IPv4AddressNumberOfEntries) == ("mac-1", "10.0.0.5", 1)
    assert printer.IPAddress == "10.0.0.20", "the primary address is the first IPv4 one"
    assert [a.IPAddress for a in printer.IPv6Address] == ["fe80::2"]  # type: ignore[union-attr]
    assert printer.HostName == "p" * 64 and printer.Kind == "printer"
    (service,) = sd.Service  # type: ignore[union-attr,misc]
    assert service.Host == ["Device.Hosts.Host.2"] and service.Type == "_ipp._tcp"
    assert service.InstanceName == "i" * 63 and service.TextRecordNumberOfEntries == 2
    assert [(t.Key, t.Value) for t in service.TextRecord] == [("rp", "ipp/print"), ("ty", "HP")]  # type: ignore[union-attr]
    assert sd.ServiceNumberOfEntries == 1  # type: ignore[union-attr]


def test_todays_shape_and_the_short_form_pass_unchanged() -> None:
    today = {"Hosts": {"HostNumberOfEntries": 0, "Host": []}, vendor("Unchanged"): True}
    assert upgrade_discovery(dict(today)) == today
    short = check_sample_data("discovery", {"InventoryHash": "cd", "Unchanged": True})
    assert short == {vendor("InventoryHash"): "cd", vendor("Unchanged"): True}


def test_an_old_sample_that_is_not_hosts_is_still_refused() -> None:
    with pytest.raises(SampleDataError):
        check_sample_data("discovery", {"Hosts": [5]})
    with pytest.raises(SampleDataError):
        check_sample_data("discovery", {"Hosts": [{"Key": "k", "Services": "bad"}]})


def test_addresses_split_into_the_primary_and_the_two_tables() -> None:
    assert split_addresses(["fe80::1", "10.0.0.2", "x", "10.0.0.3"]) == (
        "10.0.0.2",
        ["10.0.0.2", "10.0.0.3"],
        ["fe80::1"],
    )
    assert split_addresses(["fe80::1"]) == ("fe80::1", [], ["fe80::1"])
    assert split_addresses([]) == ("", [], [])


def test_an_old_netdev_sample_becomes_the_interface_table() -> None:
    old = {"Interface": {"wan": {"BytesSent": 5, "ErrorsSent": 2**32 + 3}, "lan": {"BytesSent": 1}}}
    data = check_sample_data("netdev", old)
    typed = msgspec.convert(data, NetDevData)
    assert typed.InterfaceNumberOfEntries == 2
    rows = typed.Interface
    assert [r.Name for r in rows] == ["lan", "wan"]  # type: ignore[union-attr]
    assert rows[1].Stats.ErrorsSent == 3, "an unsignedInt counter wraps at 2^32"  # type: ignore[index,union-attr]
    assert upgrade_netdev({"Interface": []}) == {"Interface": []}
