"""Usage in the cloud: exact hourly sums from interval samples, and cycles in the subscriber's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud.ingest import Incoming, store_batch
from cloud.storage.usage import DeviceClassHour
from cloud.usage import cycle_usage, device_breakdown, device_daily, set_plan
from protocol import Sample, TelemetryBatch
from tests.cloud.db import enroll

TZ = "America/Argentina/Buenos_Aires"
KEY = protocol.generate_private_key()


def _agent(sessions: sessionmaker[Session]) -> str:
    return enroll(sessions, KEY)


def _report(agent_id: str, seq: int, start: datetime, end: datetime, rx: int, tx: int) -> Incoming:
    data = {
        "Interface": "wan",
        "Start": start.timestamp(),
        "End": end.timestamp(),
        "BytesReceived": rx,
        "BytesSent": tx,
        "Events": [],
    }
    body = TelemetryBatch(samples=[Sample(probe="usage", at=end.timestamp(), status="Complete", data=data)])
    envelope = protocol.unseal(
        protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=seq), KEY.public_key()
    )
    return Incoming(envelope, body)


def test_boundary_of_a_cycle_starting_on_the_15th_in_buenos_aires(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    with sessions.begin() as session:
        set_plan(session, agent_id, cap_bytes=200 * 10**9, cycle_start_day=15, timezone=TZ)
    # 23:59 and 00:01 local time on the night the new cycle starts (local = UTC-3).
    late = (datetime(2026, 11, 15, 2, 58, 30, tzinfo=UTC), datetime(2026, 11, 15, 2, 59, 30, tzinfo=UTC))
    early = (datetime(2026, 11, 15, 3, 0, 30, tzinfo=UTC), datetime(2026, 11, 15, 3, 1, 30, tzinfo=UTC))
    items = [_report(agent_id, 1, *late, 1000, 100), _report(agent_id, 2, *early, 5000, 500)]
    store_batch(sessions, items)
    store_batch(sessions, items)  # a replay changes nothing
    with sessions() as session:
        old = cycle_usage(session, agent_id, datetime(2026, 11, 15, 2, 59, 45, tzinfo=UTC))
        new = cycle_usage(session, agent_id, datetime(2026, 11, 15, 3, 1, 45, tzinfo=UTC))
    assert (old.bytes_rx, old.bytes_tx) == (1000, 100)
    assert (new.bytes_rx, new.bytes_tx) == (5000, 500)
    assert old.end == new.start == datetime(2026, 11, 15, 3, tzinfo=UTC)
    assert old.daily == [{"date": "2026-11-14", "bytes_rx": 1000, "bytes_tx": 100}]
    assert new.daily == [{"date": "2026-11-15", "bytes_rx": 5000, "bytes_tx": 500}]
    assert new.cap_bytes == 200 * 10**9


def test_an_interval_across_hours_is_split_exactly(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    start = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    end = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    store_batch(sessions, [_report(agent_id, 1, start, end, 4001, 3)])
    with sessions() as session:
        usage = cycle_usage(session, agent_id, end)
    assert (usage.bytes_rx, usage.bytes_tx) == (4001, 3)


def _device_report(agent_id: str, seq: int, hours: list[dict[str, object]]) -> Incoming:
    data = {"Method": "conntrack", "Hours": hours, "Events": []}
    sample = Sample(probe="device_usage", at=1_795_400_000.0, status="Complete", data=data)
    body = TelemetryBatch(samples=[sample])
    envelope = protocol.unseal(
        protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=seq), KEY.public_key()
    )
    return Incoming(envelope, body)


def _row(hour: datetime, device: str, cls: str, rx: int, tx: int, **more: int) -> dict[str, object]:
    return {
        "Hour": hour.timestamp(),
        "PhysAddress": device,
        "IPAddress": ["10.0.0.2"],
        "Class": cls,
        "BytesReceived": rx,
        "BytesSent": tx,
        "Flows": more.get("flows", 1),
        "RemoteHosts": more.get("hosts", 1),
        "SMTPConnections": more.get("smtp", 0),
    }


def test_device_hours_keep_the_greatest_running_total_whatever_the_order(
    sessions: sessionmaker[Session],
) -> None:
    """Running totals sent twice, late or out of order never double-count and never shrink an hour."""
    agent_id = _agent(sessions)
    with sessions.begin() as session:
        set_plan(session, agent_id, cap_bytes=10**12, cycle_start_day=1, timezone="UTC")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    tv, pc = "70:26:05:9a:3f:30", "3c:6a:a7:52:8e:10"
    first = _device_report(
        agent_id, 1, [_row(hour, tv, "video", 1_000, 10), _row(hour, pc, "smtp", 5, 900, smtp=40)]
    )
    later = _device_report(agent_id, 2, [_row(hour, tv, "video", 5_000, 30, flows=3, hosts=2)])
    store_batch(sessions, [later])
    store_batch(sessions, [first])  # arrives after the newer total: must not shrink it
    store_batch(sessions, [later])  # a replay: must not double it
    with sessions() as session:
        devices = {
            d["device"]: d for d in device_breakdown(session, agent_id, hour, hour + timedelta(hours=1))
        }
    assert devices[tv]["bytes_rx"] == 5_000 and devices[tv]["bytes_tx"] == 30
    assert devices[tv]["classes"]["video"]["flows"] == 3
    assert devices[pc]["classes"]["smtp"]["smtp_connections"] == 40
    assert list(devices) == [tv, pc]  # largest first


def test_malformed_device_rows_are_skipped_and_the_good_ones_kept(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    agent_id = _agent(sessions)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    good = _row(hour, "70:26:05:9a:3f:30", "web", 100, 10)
    bad: list[dict[str, object]] = [
        {"Hour": "soon"},
        _row(hour, "<script>", "web", 1, 1),
        _row(hour + timedelta(minutes=7), "70:26:05:9a:3f:31", "web", 1, 1),  # not an hour
        _row(hour, "70:26:05:9a:3f:32", "web", -5, 1),
        _row(hour, "70:26:05:9a:3f:33", "web", 10**19, 1),
    ]
    exotic = _row(hour, "70:26:05:9a:3f:34", "telepathy", 7, 7)
    store_batch(sessions, [_device_report(agent_id, 1, [*bad, good, exotic])])
    with sessions() as session:
        devices = {
            d["device"]: d for d in device_breakdown(session, agent_id, hour, hour + timedelta(hours=1))
        }
    assert set(devices) == {"70:26:05:9a:3f:30", "70:26:05:9a:3f:34"}
    assert set(devices["70:26:05:9a:3f:34"]["classes"]) == {"other"}
    assert "5 malformed per-device usage rows skipped" in caplog.text


def test_device_days_sum_classes_in_local_dates(sessions: sessionmaker[Session]) -> None:
    """Hours of two classes on both sides of a New York midnight land in the right local days."""
    agent_id = _agent(sessions)
    # 04:00 and 05:00 UTC on 2 March are 23:00 on 1 March and 00:00 on 2 March in New York.
    first, second = datetime(2026, 3, 2, 4, tzinfo=UTC), datetime(2026, 3, 2, 5, tzinfo=UTC)
    with sessions.begin() as session:
        for hour, cls, rx, tx in ((first, "web", 100, 10), (first, "video", 1000, 20), (second, "web", 7, 3)):
            session.add(
                DeviceClassHour(
                    agent_id=agent_id,
                    hour=hour,
                    device="aa:bb:cc:dd:ee:01",
                    traffic_class=cls,
                    bytes_rx=rx,
                    bytes_tx=tx,
                )
            )
    with sessions() as session:
        days = device_daily(
            session, agent_id, first - timedelta(days=1), second + timedelta(days=1), "America/New_York"
        )
    assert days == {
        "aa:bb:cc:dd:ee:01": [
            {"date": "2026-03-01", "bytes_rx": 1100, "bytes_tx": 30},
            {"date": "2026-03-02", "bytes_rx": 7, "bytes_tx": 3},
        ]
    }
