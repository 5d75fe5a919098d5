"""A sample the folds cannot read never fails its batch: the batch is stored and acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud.ingest import folds
from cloud.ingest.store import store_batch
from cloud.storage import Sample, UsageHour
from protocol import Sample as WireSample
from protocol import TelemetryBatch
from tests.cloud.db import enroll, incoming

KEY = protocol.generate_private_key()


def test_a_fold_that_fails_is_logged_and_the_batch_still_stored(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    agent_id = enroll(sessions, KEY)

    def broken(*_args: object) -> None:
        raise TypeError("'str' object has no attribute 'get'")  # as a malformed nested field would

    monkeypatch.setattr(folds, "apply_connectivity", broken)
    now = datetime.now(UTC).timestamp()
    usage = {"Start": now - 60, "End": now, "BytesReceived": 1000, "BytesSent": 10, "Events": []}
    samples = [
        WireSample(probe="dns", at=now, status="Complete", data={"Result": "junk"}),
        WireSample(probe="usage", at=now, status="Complete", data=usage),
    ]
    body = TelemetryBatch(samples=samples)
    report = incoming(KEY, agent_id, body, 1)
    acks, stored, duplicates = store_batch(sessions, [report])
    assert (stored, duplicates) == (1, 0) and acks[(agent_id, 1)].seqs == [1]
    with sessions() as session:
        assert session.scalar(select(func.sum(UsageHour.bytes_rx))) == 1000  # the good fold is kept
        assert session.scalar(select(func.count()).select_from(Sample)) == 2  # both kept raw
    assert "dns sample not folded (kept raw)" in caplog.text
    # The same report again is a duplicate: nothing folds twice.
    _acks, stored, duplicates = store_batch(sessions, [report])
    assert (stored, duplicates) == (0, 1)
    with sessions() as session:
        assert session.scalar(select(func.sum(UsageHour.bytes_rx))) == 1000
