"""Retention: raw telemetry goes after its horizon, roll-ups after theirs, in bounded chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud import retention
from cloud.ingest import Incoming, store_batch
from cloud.retention import Horizons, enforce
from cloud.storage import Report, Sample, UsageHour
from protocol import Sample as WireSample
from protocol import TelemetryBatch
from tests.cloud.db import enroll, incoming

KEY = protocol.generate_private_key()


def _items(agent_id: str, seqs: range, sent: float | None = None) -> list[Incoming]:
    # Ten minutes into the previous hour: every interval lies in one UTC hour, whenever the test runs.
    now = (datetime.now(UTC).timestamp() // 3600 - 1) * 3600 + 660
    items = []
    for seq in seqs:
        data = {"Start": now - 60, "End": now, "BytesReceived": 10, "BytesSent": 1, "Events": []}
        body = TelemetryBatch(samples=[WireSample(probe="usage", at=now, status="Complete", data=data)])
        items.append(incoming(KEY, agent_id, body, seq, sent=sent))
    return items


def _fill(sessions: sessionmaker[Session], reports: int) -> str:
    agent_id = enroll(sessions, KEY)
    items = _items(agent_id, range(1, reports + 1))
    store_batch(sessions, items)
    return agent_id


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_raw_goes_after_its_horizon_and_rollups_after_theirs(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 7)  # several chunks, and a last partial one
    _fill(sessions, reports=30)
    horizons = Horizons(raw_days=30, rollup_days=400)
    now = datetime.now(UTC)
    assert enforce(sessions, horizons, now)["samples"] == 0
    assert (_count(sessions, Report), _count(sessions, Sample), _count(sessions, UsageHour)) == (30, 30, 1)
    deleted = enforce(sessions, horizons, now + timedelta(days=31))
    assert deleted["samples"] == 30 and deleted["reports"] == 30
    assert (_count(sessions, Report), _count(sessions, Sample), _count(sessions, UsageHour)) == (0, 0, 1)
    enforce(sessions, horizons, now + timedelta(days=401))
    assert _count(sessions, UsageHour) == 0


def test_a_replay_of_a_deleted_report_stays_a_duplicate_and_a_late_new_one_is_kept(
    sessions: sessionmaker[Session],
) -> None:
    agent_id = _fill(sessions, reports=5)
    enforce(sessions, Horizons(raw_days=30, rollup_days=400), datetime.now(UTC) + timedelta(days=31))
    assert _count(sessions, Report) == 0
    acks, stored, duplicates = store_batch(sessions, _items(agent_id, range(1, 6)))
    assert (stored, duplicates) == (0, 5), "replays of deleted reports must not be stored again"
    assert sorted(acks[(agent_id, 1)].seqs) == [1, 2, 3, 4, 5]
    # A report the cloud never had, however old its signature, is stored: nothing is lost.
    old = datetime.now(UTC).timestamp() - 40 * 86400
    _acks, stored, duplicates = store_batch(sessions, _items(agent_id, range(6, 7), sent=old))
    assert (stored, duplicates) == (1, 0)
