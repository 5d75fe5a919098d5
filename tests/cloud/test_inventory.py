"""The home inventory in the cloud: reports folded exactly once into devices, states and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import protocol
from agent.discovery import Device, Inventory, KnownHost, Service, tables
from cloud.ingest import Incoming, store_batch
from cloud.storage import InventoryDevice, InventoryEvent
from protocol import Sample, TelemetryBatch
from protocol.tr181 import vendor
from tests.cloud.db import enroll

KEY = protocol.generate_private_key()
KEY_NAME = vendor("Key")
T0 = 1_800_000_000.0


def _agent(sessions: sessionmaker[Session]) -> str:
    return enroll(sessions, KEY)


def _printer() -> Device:
    svc = Service("_ipp._tcp", "Office Printer", 631, {"ty": "HP OfficeJet Pro 9010"})
    return Device(
        mac="30:24:a9:7b:c2:20",
        ips=["10.213.0.20"],
        hostname="office-printer",
        vendor="HP Inc.",
        kind="printer",
        sources=["arp", "mdns"],
        services=[svc],
        printer={"status": "Complete", "state": "idle", "make_and_model": "HP OfficeJet Pro 9010"},
    )


def _phone(mac: str) -> Device:
    return Device(mac=mac, ips=["10.213.0.40"], hostname="anna-phone", random_mac=True, kind="phone")


def _report(agent_id: str, seq: int, at: float, hosts: list[KnownHost] | list[Any]) -> Incoming:
    """The discovery sample the agent sends for ``hosts``; a raw list is an older agent's ``Hosts``."""
    if all(isinstance(h, KnownHost) for h in hosts):
        table, dns = tables([h for h in hosts if isinstance(h, KnownHost)])
        data: dict[str, Any] = {"Hosts": msgspec.to_builtins(table), "DNS": msgspec.to_builtins(dns)}
    else:
        data = {"Hosts": hosts}
    sample = Sample(probe="discovery", at=at, status="Complete", data=data)
    body = TelemetryBatch(samples=[sample])
    envelope = protocol.unseal(
        protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=seq), KEY.public_key()
    )
    return Incoming(envelope, body)


def _state(sessions: sessionmaker[Session], agent_id: str) -> tuple[dict[str, InventoryDevice], list[str]]:
    with sessions() as session:
        devices = {
            d.key: d
            for d in session.scalars(select(InventoryDevice).where(InventoryDevice.agent_id == agent_id))
        }
        events = [
            f"{e.event}:{e.device_key}"
            for e in session.scalars(
                select(InventoryEvent).where(InventoryEvent.agent_id == agent_id).order_by(InventoryEvent.id)
            )
        ]
        session.expunge_all()
    return devices, events


def test_printer_gone_offline_with_reason_and_back_as_the_same_device(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    agent_id = _agent(sessions)
    inventory = Inventory(tmp_path / "inventory.json")
    first = inventory.update([_printer()], T0)
    key = first[0].host[KEY_NAME]
    store_batch(sessions, [_report(agent_id, 1, T0, first)])
    devices, events = _state(sessions, agent_id)
    assert devices[key].active and devices[key].printer_state == "online"
    assert devices[key].kind == "printer" and devices[key].ips == ["10.213.0.20"]
    assert devices[key].ip_address == "10.213.0.20" and devices[key].interface_type == "Other"
    changed = devices[key].active_last_change
    assert changed is not None and changed.timestamp() == T0
    (service,) = devices[key].services
    assert service["InstanceName"] == "Office Printer" and "Host" not in service, (
        "the service is joined to its host through the reference, which stays in the report"
    )
    assert events == [f"new:{key}"]

    gone = inventory.update([], T0 + 60)
    assert gone[0].host[KEY_NAME] == key and gone[0].active is False
    store_batch(sessions, [_report(agent_id, 2, T0 + 60, gone)])
    devices, events = _state(sessions, agent_id)
    assert not devices[key].active
    assert devices[key].printer_state == "offline" and "did not answer" in devices[key].printer_reason
    assert devices[key].ips == ["10.213.0.20"], "what we knew of it is kept"
    changed = devices[key].active_last_change
    assert changed is not None and changed.timestamp() == T0 + 60
    assert events[1:] == [f"gone:{key}", f"printer_offline:{key}"]

    back = inventory.update([_printer()], T0 + 120)
    store_batch(sessions, [_report(agent_id, 3, T0 + 120, back)])
    devices, events = _state(sessions, agent_id)
    assert list(devices) == [key], "the same device, not a second one"
    assert devices[key].active and devices[key].printer_state == "online"
    assert events[3:] == [f"back:{key}", f"printer_online:{key}"]


def test_a_report_is_folded_exactly_once_and_never_over_a_newer_one(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    agent_id = _agent(sessions)
    inventory = Inventory(tmp_path / "inventory.json")
    seen = inventory.update([_printer()], T0)
    gone = inventory.update([], T0 + 60)
    store_batch(sessions, [_report(agent_id, 2, T0 + 60, gone)])
    store_batch(sessions, [_report(agent_id, 2, T0 + 60, gone)])  # re-sent: a duplicate
    store_batch(sessions, [_report(agent_id, 1, T0, seen)])  # older, arriving late
    devices, events = _state(sessions, agent_id)
    (device,) = devices.values()
    assert not device.active and device.printer_state == "offline"
    assert [e.split(":")[0] for e in events] == ["new"]


def test_a_phone_with_a_new_random_mac_stays_one_device(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    agent_id = _agent(sessions)
    inventory = Inventory(tmp_path / "inventory.json")
    one = inventory.update([_phone("6e:41:d2:07:b5:40")], T0)
    two = inventory.update([_phone("5a:11:22:33:44:55")], T0 + 60)
    assert one[0].host[KEY_NAME] == two[0].host[KEY_NAME]
    store_batch(sessions, [_report(agent_id, 1, T0, one), _report(agent_id, 2, T0 + 60, two)])
    devices, _events = _state(sessions, agent_id)
    (device,) = devices.values()
    assert device.mac == "5a:11:22:33:44:55" and device.vendor == "" and device.random_mac


def test_hostile_hosts_are_bounded(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    junk: list[Any] = [
        None,
        5,
        {"Key": ""},
        {"Key": "x" * 500, "HostName": "h" * 10_000, "IPAddress": "nope"},
    ]
    junk += [{"Key": f"k{i}", "Services": "bad", "Printer": 3} for i in range(2000)]
    store_batch(sessions, [_report(agent_id, 1, T0, junk)])  # an older agent's shape, upgraded
    devices, _events = _state(sessions, agent_id)
    assert len(devices) == 1024 - 3  # MAX_HOSTS entries read, three of them not hosts at all
    long = devices["x" * 64]
    assert long.hostname == "h" * 64 and long.ips == [], "TR-181's HostName is string(:64)"


def test_services_join_their_hosts_by_reference_and_bad_references_are_dropped(
    sessions: sessionmaker[Session],
) -> None:
    agent_id = _agent(sessions)
    hosts = [{vendor("Key"): "a", "IPAddress": "10.0.0.2"}, {vendor("Key"): "b", "IPAddress": "10.0.0.3"}]
    services: list[Any] = [
        {"InstanceName": "to b", "Host": ["Device.Hosts.Host.2"]},
        {"InstanceName": "to both", "Host": ["Device.Hosts.Host.1.", "Device.Hosts.Host.2"]},
        {
            "InstanceName": "nowhere",
            "Host": ["Device.Hosts.Host.9", "Device.IP.Interface.1", "Device.Hosts.Host.0"],
        },
        {"InstanceName": "junk", "Host": 5},
        7,
    ]
    data = {"Hosts": {"Host": hosts}, "DNS": {"SD": {"Service": services}}}
    sample = Sample(probe="discovery", at=T0, status="Complete", data=data)
    body = TelemetryBatch(samples=[sample])
    sealed = protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=1)
    store_batch(sessions, [Incoming(protocol.unseal(sealed, KEY.public_key()), body)])
    devices, _events = _state(sessions, agent_id)
    assert [s["InstanceName"] for s in devices["a"].services] == ["to both"]
    assert [s["InstanceName"] for s in devices["b"].services] == ["to b", "to both"]


def test_an_unchanged_report_moves_last_seen_only(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    agent_id = _agent(sessions)
    hosts = Inventory(tmp_path / "inventory.json").update([_printer()], T0)
    store_batch(sessions, [_report(agent_id, 1, T0, hosts)])
    unchanged = Sample(probe="discovery", at=T0 + 300, status="Complete", data={"Unchanged": True})
    body = TelemetryBatch(samples=[unchanged])
    sealed = protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=2)
    store_batch(sessions, [Incoming(protocol.unseal(sealed, KEY.public_key()), body)])
    devices, events = _state(sessions, agent_id)
    (device,) = devices.values()
    assert device.active and device.last_seen.timestamp() == T0 + 300 and device.first_seen.timestamp() == T0
    assert len(events) == 1
    # A full report measured before the unchanged one, arriving late, changes nothing.
    stale = Inventory(tmp_path / "other.json").update([], T0 + 200)
    store_batch(sessions, [_report(agent_id, 3, T0 + 200, stale)])
    assert _state(sessions, agent_id)[0][device.key].last_seen.timestamp() == T0 + 300
