"""Per-device flow accounting: orientation, classes, restarts, reused keys and what is kept private."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from agent.usage.flows import TCP, UDP, DeviceHours, Flow, classify, orient

LAN = [ipaddress.ip_network("10.213.0.0/24")]
LOCAL = {"10.213.0.1", "10.213.255.2"}
PC, PC_MAC = "10.213.0.10", "3c:6a:a7:52:8e:10"
HOUR = 1_795_399_200.0  # on the hour


@pytest.mark.parametrize(
    ("proto", "port", "expected"),
    [
        (TCP, 443, "web"),
        (UDP, 443, "web"),
        (TCP, 25, "smtp"),
        (TCP, 587, "mail"),
        (UDP, 53, "dns"),
        (UDP, 51820, "vpn"),
        (50, 0, "vpn"),
        (UDP, 3478, "calls"),
        (UDP, 27016, "gaming"),
        (TCP, 6881, "p2p"),
        (TCP, 1935, "video"),
        (TCP, 5201, "other"),
    ],
)
def test_classes_by_protocol_and_remote_port(proto: int, port: int, expected: str) -> None:
    assert classify(proto, port) == expected


def test_orientation_of_outbound_forwarded_local_and_internal_connections() -> None:
    counters = (100, 2, 5_000, 4)  # orig bytes, orig packets, reply bytes, reply packets
    # The PC opened it: it sent the original direction.
    out = orient(
        TCP,
        (PC, 40000, "93.184.216.34", 443),
        ("93.184.216.34", 443, "10.213.255.2", 40000),
        counters,
        lan=LAN,
        local=LOCAL,
    )
    assert out == (PC, "93.184.216.34", 443, 100, 5_000, 2, 4)
    # Forwarded to the PC from outside: the PC sends the reply direction.
    inbound = orient(
        TCP,
        ("203.0.113.9", 5555, "10.213.255.2", 8080),
        (PC, 8080, "203.0.113.9", 5555),
        counters,
        lan=LAN,
        local=LOCAL,
    )
    assert inbound == (PC, "203.0.113.9", 8080, 5_000, 100, 4, 2)
    # The PC asking the gateway itself (DNS, the admin page) is not the line's traffic.
    assert (
        orient(TCP, (PC, 1, "10.213.0.1", 53), ("10.213.0.1", 53, PC, 1), counters, lan=LAN, local=LOCAL)
        is None
    )
    # mDNS and SSDP multicast never cross the line.
    mdns = ("224.0.0.251", 5353, PC, 5353)
    assert orient(UDP, (PC, 5353, "224.0.0.251", 5353), mdns, counters, lan=LAN, local=LOCAL) is None
    # The gateway's own connections are not a device's.
    assert (
        orient(
            TCP,
            ("10.213.255.2", 1, "1.1.1.1", 443),
            ("1.1.1.1", 443, "10.213.255.2", 1),
            counters,
            lan=LAN,
            local=LOCAL,
        )
        is None
    )


def _flow(key: str, tx: int, rx: int, *, remote: str = "198.51.100.7", port: int = 443, ip: str = PC) -> Flow:
    return Flow(key, TCP, ip, remote, port, tx, rx, 10, 10)


def test_growth_is_counted_once_across_polls_and_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    hours = DeviceHours(path)
    hours.update([], {}, HOUR)  # the first poll is the baseline
    hours.update([_flow("a", 1_000, 50_000)], {PC: PC_MAC}, HOUR + 10)
    hours.update([_flow("a", 3_000, 90_000)], {PC: PC_MAC}, HOUR + 20)
    hours = DeviceHours(path)  # the agent restarts: the flow's counters so far are not re-counted
    hours.update([_flow("a", 3_500, 95_000), _flow("b", 200, 300, port=25)], {PC: PC_MAC}, HOUR + 30)
    rows = {r["Class"]: r for r in hours.take_dirty()}
    assert rows["web"]["BytesSent"] == 3_500 and rows["web"]["BytesReceived"] == 95_000
    assert rows["web"]["Flows"] == 1
    assert rows["smtp"]["SMTPConnections"] == 1
    assert rows["web"]["PhysAddress"] == PC_MAC and rows["web"]["IPAddress"] == [PC]


def _hours(path: Path) -> DeviceHours:
    hours = DeviceHours(path)
    hours.update([], {}, HOUR)  # the first poll is the baseline
    return hours


def test_connections_live_before_the_first_poll_count_only_their_growth(tmp_path: Path) -> None:
    hours = DeviceHours(tmp_path / "d.sqlite")
    hours.update([_flow("old", 10**9, 10**9)], {PC: PC_MAC}, HOUR + 1)  # history before the agent
    assert hours.take_dirty() == []
    hours.update([_flow("old", 10**9 + 5, 10**9 + 7)], {PC: PC_MAC}, HOUR + 2)
    (row,) = hours.take_dirty()
    assert (row["BytesSent"], row["BytesReceived"], row["Flows"]) == (5, 7, 0)


def test_a_reused_key_with_lower_counters_is_a_new_connection(tmp_path: Path) -> None:
    hours = _hours(tmp_path / "d.sqlite")
    hours.update([_flow("a", 9_000, 9_000)], {PC: PC_MAC}, HOUR + 1)
    hours.update([_flow("a", 100, 200)], {PC: PC_MAC}, HOUR + 2)
    (row,) = hours.take_dirty()
    assert (row["BytesSent"], row["BytesReceived"]) == (9_100, 9_200)


def test_distinct_remote_hosts_are_counted_and_unknown_devices_are_other(tmp_path: Path) -> None:
    hours = _hours(tmp_path / "d.sqlite")
    flows = [_flow(str(i), 10, 10, remote=f"198.51.100.{i % 7}") for i in range(50)]
    flows.append(_flow("x", 5, 5, ip="10.213.0.99"))  # no neighbour entry: not guessed
    hours.update(flows, {PC: PC_MAC}, HOUR + 5)
    rows = {r["PhysAddress"]: r for r in hours.take_dirty()}
    assert rows[PC_MAC]["RemoteHosts"] == 7 and rows[PC_MAC]["Flows"] == 50
    assert rows["other"]["BytesSent"] == 5


def test_sent_rows_stay_clean_until_they_grow(tmp_path: Path) -> None:
    hours = _hours(tmp_path / "d.sqlite")
    hours.update([_flow("a", 10, 10)], {PC: PC_MAC}, HOUR + 1)
    rows = hours.take_dirty()
    hours.update([_flow("a", 20, 10)], {PC: PC_MAC}, HOUR + 2)  # grew after being taken
    hours.mark_sent(rows)
    assert [r["BytesSent"] for r in hours.take_dirty()] == [20]
    hours.mark_sent(hours.take_dirty())
    assert hours.take_dirty() == []


def test_no_remote_address_leaves_the_device_or_sits_on_disk_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    hours = _hours(path)
    key = f"1234/6/{PC}:40000>198.51.100.77:25"  # as agent/usage/conntrack.py makes them
    hours.update([_flow(key, 10, 10, remote="198.51.100.77", port=25)], {PC: PC_MAC}, HOUR + 1)
    assert "198.51.100.77" not in json.dumps(hours.take_dirty())
    with sqlite3.connect(path) as db:
        dumped = "\n".join(db.iterdump())
    assert "198.51.100.77" not in dumped


def test_rows_reported_but_never_stored_are_sent_again(tmp_path: Path) -> None:
    """Rows are marked sent only after the runner put them in the outbox (DeviceUsageProbe.delivered)."""
    hours = _hours(tmp_path / "d.sqlite")
    hours.update([_flow("a", 10, 10)], {PC: PC_MAC}, HOUR + 1)
    first = hours.take_dirty()
    # The outbox refused the sample (disk full): nothing marked, the same rows come again.
    assert hours.take_dirty() == first


def test_concurrent_polls_count_growth_once(tmp_path: Path) -> None:

    path = tmp_path / "d.sqlite"
    _hours(path)
    pollers = [DeviceHours(path) for _ in range(4)]
    flows = [_flow("a", 1_000_000, 2_000)]
    threads = [threading.Thread(target=p.update, args=(flows, {PC: PC_MAC}, HOUR + 5)) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (row,) = pollers[0].take_dirty()
    assert (row["BytesSent"], row["BytesReceived"], row["Flows"]) == (1_000_000, 2_000, 1)
