"""A phone's randomised MAC rotates in the virtual home and it comes back with its name (issue 20).

The lab's phone announces nothing of its own (an ARP-only host called "phone"), so this test gives it
what a real iPhone announces: a python-zeroconf responder in its namespace with the DNS-SD instance
"Anna's iPhone._companion-link._tcp" on host "annas-iphone.local". The agent on the PC discovers it,
the phone's MAC is changed to another locally administered one (link down, new address, link up: a
Wi-Fi re-association), and the next discovery reaches the cloud. Through the cloud's API: one device
with two MACs, no "new device" or "left" alert for it, and no "silent" finding for the old MAC on
three weeks of usage seeded under the old MAC (the lab cannot age a phone by three weeks).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cloud.care.alerts import build_daily_list, inventory_alerts
from cloud.care.baseline import history_from_records
from cloud.care.detector import detect
from cloud.care.records import HourRecord
from cloud.config import load_settings
from cloud.storage import DeviceClassHour, make_engine, make_sessionmaker
from lab import Lab

from .stack import LabStack, lab_stack

pytestmark = pytest.mark.lab

OLD, NEW = "6e:41:d2:07:b5:40", "6e:41:d2:5c:19:a7"
INSTANCE = "Anna's iPhone"
RESPONDER = """
import socket, sys, time
from zeroconf import IPVersion, ServiceInfo, Zeroconf
address = sys.argv[1]
zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
zc.register_service(ServiceInfo(
    "_companion-link._tcp.local.", "Anna's iPhone._companion-link._tcp.local.",
    addresses=[socket.inet_aton(address)], port=49152, properties={"rpVr": "360.4"},
    server="annas-iphone.local."))
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def _kernel_mac(home: Lab) -> str:
    out = home.exec("phone", ["cat", "/sys/class/net/eth0/address"]).stdout
    return out.strip()


def _set_mac(home: Lab, mac: str) -> None:
    for argv in (["down"], ["address", mac], ["up"]):
        home.exec("phone", ["ip", "link", "set", "dev", "eth0", *argv])


@pytest.fixture
def phone(home: Lab) -> Iterator[str]:
    """The phone with its responder; its own MAC again afterwards (the home is the session's)."""
    before = _kernel_mac(home)
    assert before == OLD
    proc = home.popen("phone", [sys.executable, "-c", RESPONDER, home.address("phone")])
    try:
        yield home.address("phone")
    finally:
        home.stop(proc)
        _set_mac(home, before)
        home.exec("pc", ["ip", "neigh", "flush", "to", home.address("phone")], check=False)


def _the_phone(stack: LabStack, agent_id: str) -> list[dict[str, Any]]:
    devices = stack.get(f"/api/v1/agents/{agent_id}/devices")["devices"]
    return [d for d in devices if d["HostName"] == "annas-iphone" or d["PhysAddress"] in (OLD, NEW)]


def _seed_usage(session: Session, agent_id: str, rotation: datetime) -> list[HourRecord]:
    """Three weeks of the phone's days under the old MAC, two under the new, a TV beside it."""
    records = []
    hour = rotation - timedelta(days=21)
    while hour < rotation + timedelta(days=2):
        daytime = 8 <= hour.hour < 22
        macs = ["70:26:05:9a:3f:30", *([OLD if hour < rotation else NEW] if daytime else [])]
        for mac in macs:
            row = DeviceClassHour(
                agent_id=agent_id,
                hour=hour,
                device=mac,
                traffic_class="web",
                bytes_rx=40_000_000,
                bytes_tx=4_000_000,
                flows=30,
                remote_hosts=6,
                smtp_connections=0,
            )
            session.add(row)
            records.append(
                HourRecord(
                    home=agent_id,
                    device=mac,
                    traffic_class="web",
                    hour=hour,
                    bytes_rx=row.bytes_rx,
                    bytes_tx=row.bytes_tx,
                    flows=row.flows,
                    remote_hosts=row.remote_hosts,
                    smtp_connections=0,
                )
            )
        hour += timedelta(hours=1)
    return records


def test_a_rotated_phone_is_one_device_with_two_macs(home: Lab, phone: str, tmp_path: Path) -> None:
    probes = {"discovery": {"interval_s": 5, "timeout_s": 2}}
    with lab_stack(home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", probes)
        (found,) = stack.wait(
            "the phone with its name",
            lambda: [d for d in _the_phone(stack, agent_id) if d["HostName"] == "annas-iphone"],
            timeout_s=90,
        )
        assert found["PhysAddress"] == OLD and found["random_mac"] and found["kind"] == "phone"
        key = found["key"]

        _set_mac(home, NEW)
        home.exec("pc", ["ip", "neigh", "flush", "to", phone], check=False)
        assert _kernel_mac(home) == NEW
        (after,) = stack.wait(
            "the phone under its new MAC",
            lambda: [d for d in _the_phone(stack, agent_id) if d["PhysAddress"] == NEW and d["Active"]],
            timeout_s=90,
        )
        assert len(_the_phone(stack, agent_id)) == 1, "one device, not the old and a new one"
        assert after["HostName"] == "annas-iphone" and after["first_seen"] == found["first_seen"]
        assert [p["mac"] for p in after["previous_macs"]] == [OLD], "the old MAC is its history"
        events = stack.get(f"/api/v1/agents/{agent_id}/devices/{after['key']}")["events"]
        kinds = [e["event"] for e in events]
        assert "mac_changed" in kinds and kinds.count("new") == 1 and "gone" not in kinds, kinds

        # The care loop's decisions on the cloud's own database, read back through the API.
        settings = load_settings(state_dir=tmp_path / "stack" / "cloud")
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        try:
            with sessions.begin() as session:
                inventory_alerts(session, now=datetime.now(UTC), email_enabled=False)
            rotation = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
            with sessions.begin() as session:
                records = _seed_usage(session, agent_id, rotation)
            with sessions() as session:
                entries = build_daily_list(session, (rotation + timedelta(days=2)).date())
        finally:
            engine.dispose()
        notes = stack.get(f"/api/v1/agents/{agent_id}/care/notifications?limit=500")
        mine = [(n["kind"], n["threshold"]) for n in notes if n["threshold"] in (key, after["key"])]
        assert mine == [("device_new", key)], "it joined once; its MAC rotating is no news"

        silent = [(e.device, f.kind) for e in entries for f in e.findings if f.kind == "silent"]
        assert silent == [], silent
        # The control: judged by MAC alone (the inventory's identity left out), the old MAC is silent.
        by_mac = detect(history_from_records(records, (rotation + timedelta(days=2)).date()))
        assert any(f.kind == "silent" and f.device == OLD for f in by_mac), by_mac
