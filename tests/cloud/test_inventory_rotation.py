"""A phone whose randomised MAC rotated is one device in the cloud's inventory (issue 20), on SQLite
and PostgreSQL: the MAC history kept, no "new device", no "left" for the old MAC; and the traps
(two phones called "iPhone", a device renamed, a guest's phone, two devices at once)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.discovery import Device, Inventory, KnownHost, Service
from cloud.api.auth import PLATFORM, Principal
from cloud.api.routes.devices import _public
from cloud.api.routes.devices import device as device_history
from cloud.care.alerts import build_daily_list, device_names, inventory_alerts
from cloud.ingest import store_batch
from cloud.storage import CareNotification, DeviceClassHour, InventoryDevice
from tests.cloud.test_inventory import T0, _agent, _report, _state

OLD, NEW = "6e:41:d2:07:b5:40", "5a:11:22:33:44:55"
ADMIN = Principal(role=PLATFORM, tenant_id=None, user_id=None, username="operator")
ANNA = Service("_companion-link._tcp", "Anna's iPhone", 49152, {"rpBA": "x"})


def _host(
    key: str,
    mac: str,
    name: str,
    at: float,
    *,
    active: bool = True,
    services: tuple[Service, ...] = (),
    kind: str = "phone",
    vendor: str = "",
    first_seen: float | None = None,
) -> KnownHost:
    device = Device(
        key=key,
        mac=mac,
        ips=["10.213.0.40"],
        hostname=name,
        vendor=vendor,
        random_mac=int(mac[:2], 16) & 2 == 2,
        kind=kind,
        services=list(services),
        active=active,
        first_seen=at if first_seen is None else first_seen,
        last_seen=at,
    )
    return KnownHost(msgspec.to_builtins(device.to_wire()), msgspec.to_builtins(device.services_wire(at)))


def _fold(sessions: sessionmaker[Session], agent_id: str, *reports: list[KnownHost]) -> None:
    store_batch(
        sessions, [_report(agent_id, n, T0 + 3600 * (n - 1), hosts) for n, hosts in enumerate(reports, 1)]
    )


def test_a_rotation_the_agent_did_not_recognise_is_merged_with_the_mac_kept(
    sessions: sessionmaker[Session],
) -> None:
    agent_id = _agent(sessions)
    _fold(
        sessions,
        agent_id,
        [_host("k-old", OLD, "Annas-iPhone", T0, services=(ANNA,))],
        # The old MAC fell silent and a new one appears, with the same instance, in the same cycle.
        [
            _host("k-old", OLD, "Annas-iPhone", T0, active=False, services=(ANNA,)),
            _host("k-new", NEW, "Annas-iPhone", T0 + 3600, services=(ANNA,)),
        ],
        # The agent still remembers the old key, inactive: that is the device's past.
        [
            _host("k-new", NEW, "Annas-iPhone", T0 + 7200, services=(ANNA,)),
            _host("k-old", OLD, "Annas-iPhone", T0, active=False, services=(ANNA,)),
        ],
    )
    devices, events = _state(sessions, agent_id)
    (device,) = devices.values()
    assert device.key == "k-new" and device.mac == NEW and device.active
    assert device.first_seen.timestamp() == T0, "the device's first-seen is kept"
    assert [p["mac"] for p in device.previous_macs] == [OLD]
    assert device.previous_macs[0]["key"] == "k-old"
    assert events == ["new:k-old", "mac_changed:k-new"], "no new device, no device that left"
    public = _public(device)
    assert public.PhysAddress == NEW and [p.mac for p in public.previous_macs] == [OLD]
    with sessions() as session:
        history = device_history(agent_id, "k-old", session, ADMIN)
    assert history.device.key == "k-new", "the old key finds the device it is now"
    assert [e.event for e in history.events] == ["mac_changed", "new"], "its history is the old key's too"
    with sessions() as session:
        assert device_names(session, agent_id)[(agent_id, OLD)] == ("Annas-iPhone", "phone")


def test_the_agent_kept_the_key_and_the_cloud_keeps_the_old_mac(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    agent_id = _agent(sessions)
    inventory = Inventory(tmp_path / "inventory.json")
    phone = Device(mac=OLD, ips=["10.213.0.40"], hostname="anna-phone", random_mac=True, kind="phone")
    one = inventory.update([phone], T0)
    phone2 = Device(mac=NEW, ips=["10.213.0.40"], hostname="anna-phone", random_mac=True, kind="phone")
    two = inventory.update([phone2], T0 + 3600)
    _fold(sessions, agent_id, one, two)
    devices, events = _state(sessions, agent_id)
    (device,) = devices.values()
    assert device.mac == NEW and [p["mac"] for p in device.previous_macs] == [OLD]
    assert device.mac_since is not None and device.mac_since.timestamp() == T0 + 3600
    assert [e.split(":")[0] for e in events] == ["new", "mac_changed"]


def test_two_phones_called_iphone_are_two_devices(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    _fold(
        sessions,
        agent_id,
        [_host("k-a", OLD, "iPhone", T0, vendor="Apple, Inc.")],
        [
            _host("k-a", OLD, "iPhone", T0, active=False, vendor="Apple, Inc."),
            _host("k-b", NEW, "iPhone", T0 + 3600, vendor="Apple, Inc."),
        ],
    )
    devices, events = _state(sessions, agent_id)
    assert set(devices) == {"k-a", "k-b"} and not devices["k-b"].previous_macs
    assert events == ["new:k-a", "gone:k-a", "new:k-b"]


def test_a_guest_phone_with_its_own_name_is_a_new_device_even_from_the_same_vendor(
    sessions: sessionmaker[Session],
) -> None:
    agent_id = _agent(sessions)
    _fold(
        sessions,
        agent_id,
        [_host("k-a", OLD, "Annas-iPhone", T0, vendor="Apple, Inc.")],
        [_host("k-a", OLD, "Annas-iPhone", T0, active=False, vendor="Apple, Inc.")],
        [_host("k-g", NEW, "Guests-iPhone", T0 + 7200, vendor="Apple, Inc.")],
    )
    devices, events = _state(sessions, agent_id)
    assert set(devices) == {"k-a", "k-g"}
    assert events[-1] == "new:k-g"


def test_a_renamed_device_keeps_its_row(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    universal = "3c:22:fb:00:00:07"
    _fold(
        sessions,
        agent_id,
        [_host("mac-3c22fb000007", universal, "DESKTOP-7", T0, kind="pc")],
        [_host("mac-3c22fb000007", universal, "study-pc", T0 + 3600, kind="pc")],
    )
    devices, events = _state(sessions, agent_id)
    (device,) = devices.values()
    assert device.hostname == "study-pc" and not device.previous_macs and events == ["new:mac-3c22fb000007"]


def test_two_devices_on_the_network_at_once_are_never_merged(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    _fold(
        sessions,
        agent_id,
        [_host("k-a", OLD, "anna-laptop", T0, kind="pc")],
        # Same name, both active: two devices, and the name identifies neither.
        [
            _host("k-a", OLD, "anna-laptop", T0 + 3600, kind="pc"),
            _host("k-b", NEW, "anna-laptop", T0 + 3600, kind="pc"),
        ],
    )
    devices, _events = _state(sessions, agent_id)
    assert set(devices) == {"k-a", "k-b"}


def test_a_new_mac_the_agent_saw_while_the_old_one_was_active_is_another_device(
    sessions: sessionmaker[Session],
) -> None:
    agent_id = _agent(sessions)
    _fold(
        sessions,
        agent_id,
        [_host("k-a", OLD, "anna-laptop", T0, kind="pc")],
        [_host("k-a", OLD, "anna-laptop", T0 + 3600 * 5, kind="pc")],
        # The agent first saw the new MAC five hours before the old one's last sighting.
        [
            _host("k-a", OLD, "anna-laptop", T0 + 3600 * 5, active=False, kind="pc"),
            _host("k-b", NEW, "anna-laptop", T0 + 7200, kind="pc", first_seen=T0),
        ],
    )
    devices, _events = _state(sessions, agent_id)
    assert set(devices) == {"k-a", "k-b"}


def test_a_merged_rotation_sends_no_device_alert(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    _fold(
        sessions,
        agent_id,
        [_host("k-old", OLD, "Annas-iPhone", T0, services=(ANNA,))],
        # The agent said the old MAC was gone a cycle before the new one showed up.
        [_host("k-old", OLD, "Annas-iPhone", T0, active=False, services=(ANNA,))],
        [
            _host("k-old", OLD, "Annas-iPhone", T0, active=False, services=(ANNA,)),
            _host("k-new", NEW, "Annas-iPhone", T0 + 7200, services=(ANNA,)),
        ],
    )
    devices, events = _state(sessions, agent_id)
    assert list(devices) == ["k-new"] and events == ["new:k-old", "gone:k-old", "mac_changed:k-new"]
    now = datetime.fromtimestamp(T0 + 7200, UTC)
    with sessions.begin() as session:
        inventory_alerts(session, now=now, email_enabled=False)
    with sessions() as session:
        kinds = sorted(n.kind for n in session.scalars(select(CareNotification)))
    assert kinds == ["device_new"], "the phone joined once; it did not leave when its MAC rotated"


def test_the_daily_list_sees_one_device_across_the_rotation(sessions: sessionmaker[Session]) -> None:
    """Three weeks under the old MAC, then two days under the new one: silent by MAC, not by device."""
    agent_id = _agent(sessions)
    day = date(2027, 3, 10)
    rotation = datetime(2027, 3, 8, 12, tzinfo=UTC)
    _fold(
        sessions,
        agent_id,
        [_host("k-old", OLD, "Annas-iPhone", rotation.timestamp() - 86400 * 20, services=(ANNA,))],
    )
    with sessions.begin() as session:
        old = session.scalars(select(InventoryDevice)).one()
        old.last_seen = rotation
    at = rotation.timestamp() + 600
    store_batch(
        sessions,
        [
            _report(
                agent_id,
                2,
                at,
                # The agent knew it again (its key kept): the row's MAC changes, the old one is
                # its history, and the usage rows under the old MAC are the same device's.
                [_host("k-old", NEW, "Annas-iPhone", at, services=(ANNA,))],
            )
        ],
    )
    tv = "aa:bb:cc:00:00:01"
    with sessions.begin() as session:
        hour = datetime(2027, 2, 14, tzinfo=UTC)
        while hour < datetime(2027, 3, 11, tzinfo=UTC):
            macs = [tv, OLD if hour < rotation else NEW] if 8 <= hour.hour < 22 else [tv]
            for mac in macs:
                session.add(
                    DeviceClassHour(
                        agent_id=agent_id,
                        hour=hour,
                        device=mac,
                        traffic_class="web",
                        bytes_rx=50_000_000,
                        bytes_tx=5_000_000,
                        flows=40,
                        remote_hosts=8,
                        smtp_connections=0,
                    )
                )
            hour += timedelta(hours=1)
    with sessions() as session:
        assert [d.mac for d in session.scalars(select(InventoryDevice))] == [NEW]
        entries = build_daily_list(session, day)
    silent = [f for e in entries for f in e.findings if f.kind == "silent"]
    assert silent == [], silent
