"""The ingest's quarantine (issue 17, finding 1): a report that fails to store is split out of its
batch and set aside, the rest stored; a database that is down is the other case."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud import quarantine
from cloud.errors import StoreUnavailable
from cloud.ingest import Incoming, Ingest, store_or_set_aside
from cloud.keys import KeyRing
from cloud.storage import Agent, QuarantinedReport, make_engine, make_sessionmaker, migrate
from protocol import BrokerAddress, Channel, Sample, TelemetryBatch
from tests.cloud.db import enroll, incoming

KEY = protocol.generate_private_key()


def _batch(n: int) -> TelemetryBatch:
    return TelemetryBatch(samples=[Sample(probe="netdev", at=1_700_000_000.0 + n, status="Complete")])


def _unstorable(item: Incoming) -> Incoming:
    """A report that passed every check but that the store cannot take (here a time no datetime
    holds, as the contract's bounds stop at decode): the class of report the split is for."""
    envelope = msgspec.structs.replace(item.envelope, sent=1e20)
    return Incoming(envelope, item.body, payload=b"the bytes as received")


def test_a_report_that_fails_to_store_is_set_aside_and_the_rest_stored(
    sessions: sessionmaker[Session],
) -> None:
    agent_id = enroll(sessions, KEY)
    items = [incoming(KEY, agent_id, _batch(n), seq=n) for n in range(1, 8)]
    items[3] = _unstorable(items[3])
    outcome = store_or_set_aside(sessions, items)
    assert outcome.stored == 6
    assert outcome.quarantined == 1
    plan = outcome.acks[(agent_id, 1)]
    assert sorted(plan.seqs) == [1, 2, 3, 5, 6, 7]
    assert plan.rejected == [4], "the poison is acknowledged as refused, so its agent stops re-sending"
    with sessions() as session:
        rows = session.scalars(select(QuarantinedReport)).all()
        assert [(r.agent_id, r.epoch, r.seq, r.reason) for r in rows] == [(agent_id, 1, 4, "store")]
        assert rows[0].payload == b"the bytes as received"
        assert "OverflowError" in rows[0].detail or "year" in rows[0].detail
    # Sent again (the agent had not heard the ack): no second quarantine row, still refused.
    again = store_or_set_aside(sessions, [_unstorable(items[3]), incoming(KEY, agent_id, _batch(8), seq=8)])
    assert again.acks[(agent_id, 1)].rejected == [4]
    assert again.stored == 1
    with sessions() as session:
        assert len(session.scalars(select(QuarantinedReport)).all()) == 1


def test_a_database_that_does_not_answer_sets_nothing_aside(tmp_path: Path) -> None:
    # A closed port on loopback: the connection is refused at once.
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    try:
        down = make_sessionmaker(engine)
        item = incoming(KEY, "agent-down", _batch(1), seq=1)
        with pytest.raises(StoreUnavailable):
            store_or_set_aside(down, [item])
        assert not quarantine.database_answers(down)
    finally:
        engine.dispose()


async def test_what_waits_for_the_database_is_bounded(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    agent_id = enroll(sessions, KEY)
    ingest = Ingest(
        broker=BrokerAddress.parse("mqtt://127.0.0.1:9"),
        session_factory=sessions,
        keys=KeyRing(tmp_path),
        max_pending=3,
    )
    try:
        topic = protocol.topic_for(agent_id, Channel.TELEMETRY)
        for seq in range(1, 6):
            payload = protocol.seal(KEY, agent=agent_id, body=_batch(seq), epoch=1, seq=seq)
            await ingest.handle(topic, payload)  # no writer runs: nothing drains
        assert len(ingest._writer.pending) == 3
        assert ingest.stats.rejected["backlog"] == 2, "refused unacknowledged: the agent re-sends them"
    finally:
        ingest._db.shutdown(wait=True)


def test_the_listing_is_scoped_to_a_tenant(sessions: sessionmaker[Session]) -> None:
    ours, theirs = enroll(sessions, KEY), enroll(sessions, protocol.generate_private_key())
    with sessions.begin() as session:
        session.get_one(Agent, ours).tenant_id = "acme"
        session.get_one(Agent, theirs).tenant_id = "globex"
        quarantine.set_aside(
            session,
            [
                quarantine.Quarantined(a, 1, 1, "telemetry", "bounds", "too late", b"x")
                for a in (ours, theirs)
            ],
            datetime.now(UTC),
        )
    with sessions() as session:
        total, rows = quarantine.listing(session, "acme", limit=10, offset=0)
        assert (total, [r.agent_id for r in rows]) == (1, [ours])
        total, _ = quarantine.listing(session, None, limit=10, offset=0)
        assert total == 2
        assert quarantine.by_reason(session) == {"bounds": 2}


def test_an_outage_while_the_database_answers_reads_sets_nothing_aside(tmp_path: Path) -> None:
    """A locked (or full) SQLite answers SELECT 1 but takes no write: that is the database's
    trouble, not the report's, so nothing may be quarantined (and acknowledged, i.e. lost)."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    impatient = make_engine(url)
    # Wait 0.2 s for a lock, not the engine's 30 s (PRAGMA busy_timeout overrides sqlite3's timeout).
    event.listen(impatient, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout = 200"))
    try:
        migrate(engine)
        sessions = make_sessionmaker(engine)
        agent_id = enroll(sessions, KEY)
        holder = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            with pytest.raises(StoreUnavailable):
                store_or_set_aside(make_sessionmaker(impatient), [incoming(KEY, agent_id, _batch(1), seq=1)])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        with sessions() as session:
            assert session.scalars(select(QuarantinedReport)).all() == []
    finally:
        engine.dispose()
        impatient.dispose()
