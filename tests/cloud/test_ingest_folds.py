"""A sample the folds cannot read never fails its batch: the batch is stored and acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud import ingest
from cloud.enrollment import EnrollmentRequest, issue_pairing_code, redeem
from cloud.ingest import Incoming, store_batch
from cloud.storage import Sample, UsageHour, make_engine, make_sessionmaker, migrate
from protocol import Sample as WireSample
from protocol import TelemetryBatch

KEY = protocol.generate_private_key()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_a_fold_that_fails_is_logged_and_the_batch_still_stored(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with sessions.begin() as session:
        code = issue_pairing_code(session, ttl_s=60)
    with sessions.begin() as session:
        agent_id = redeem(session, EnrollmentRequest(code=code, public_key=protocol.public_key_text(KEY))).id

    def broken(*_args: object) -> None:
        raise TypeError("'str' object has no attribute 'get'")  # as a malformed nested field would

    monkeypatch.setattr(ingest, "apply_connectivity", broken)
    now = datetime.now(UTC).timestamp()
    usage = {"Start": now - 60, "End": now, "BytesReceived": 1000, "BytesSent": 10, "Events": []}
    samples = [
        WireSample(probe="dns", at=now, status="Complete", data={"Result": "junk"}),
        WireSample(probe="usage", at=now, status="Complete", data=usage),
    ]
    body = TelemetryBatch(samples=samples)
    envelope = protocol.unseal(
        protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=1), KEY.public_key()
    )
    acks, stored, duplicates = store_batch(sessions, [Incoming(envelope, body)])
    assert (stored, duplicates) == (1, 0) and acks[(agent_id, 1)].seqs == [1]
    with sessions() as session:
        assert session.scalar(select(func.sum(UsageHour.bytes_rx))) == 1000  # the good fold is kept
        assert session.scalar(select(func.count()).select_from(Sample)) == 2  # both kept raw
    assert "dns sample not folded (kept raw)" in caplog.text
    # The same report again is a duplicate: nothing folds twice.
    _acks, stored, duplicates = store_batch(sessions, [Incoming(envelope, body)])
    assert (stored, duplicates) == (0, 1)
    with sessions() as session:
        assert session.scalar(select(func.sum(UsageHour.bytes_rx))) == 1000
