"""Schema, enrollment and batch storage on a real SQLite database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud import ConfigError, EnrollmentRefused, audit, load_settings
from cloud.enrollment import EnrollmentRequest, issue_pairing_code, normalise_code, redeem
from cloud.ingest.incoming import Incoming
from cloud.ingest.store import store_batch
from cloud.storage import (
    Agent,
    AuditEntry,
    Base,
    PairingCode,
    Report,
    Sample,
    make_engine,
    make_sessionmaker,
    migrate,
)
from cloud.storage.db import POSTGRES_ONLY_INDEXES, alembic_config, include_object
from protocol import Sample as WireSample
from protocol import Status, TelemetryBatch
from tests.support import PostgresServer


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


def test_migrations_create_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    migrate(engine)  # idempotent


def test_postgres_gets_trigram_indexes_for_the_subscriber_search(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            assert not POSTGRES_ONLY_INDEXES & set(
                connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
            )
            return
        rows = connection.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'subscribers'")
        )
        found = {str(name): str(definition) for name, definition in rows}
    assert set(found) >= POSTGRES_ONLY_INDEXES
    assert all("gin" in found[name] and "gin_trgm_ops" in found[name] for name in POSTGRES_ONLY_INDEXES)


def _enroll(sessions: sessionmaker[Session], key: protocol.Ed25519PrivateKey) -> str:
    with sessions.begin() as session:
        code = issue_pairing_code(session, ttl_s=60)
    with sessions.begin() as session:
        agent = redeem(session, EnrollmentRequest(code=code, public_key=protocol.public_key_text(key)))
        return agent.id


def test_pairing_codes(sessions: sessionmaker[Session]) -> None:
    key = protocol.public_key_text(protocol.generate_private_key())
    with sessions.begin() as session:
        code = issue_pairing_code(session, ttl_s=60)
        expired = issue_pairing_code(session, ttl_s=60)
    assert len(code) == 9 and code[4] == "-"
    with sessions.begin() as session:
        row = session.scalars(select(PairingCode)).first()
        assert row is not None and code not in row.code_hash, "codes are stored hashed"
        for pairing in session.scalars(select(PairingCode)):
            if pairing.code_hash != row.code_hash:
                pairing.expires_at -= timedelta(seconds=120)
    # What a person types: lower case, spaces, O for 0.
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert normalise_code(typed) == code.replace("-", "")
    with sessions.begin() as session:
        agent = redeem(session, EnrollmentRequest(code=typed, public_key=key, hostname="pc"))
        assert protocol.is_valid_agent_id(agent.id)
    for bad in (code, expired, "AAAA-AAAA"):
        with sessions.begin() as session, pytest.raises(EnrollmentRefused, match="invalid, used or expired"):
            redeem(session, EnrollmentRequest(code=bad, public_key=key))
    with sessions.begin() as session:
        fresh = issue_pairing_code(session, ttl_s=60)
    with sessions.begin() as session, pytest.raises(EnrollmentRefused, match="public key"):
        redeem(session, EnrollmentRequest(code=fresh, public_key="not-a-key"))


def _incoming(
    key: protocol.Ed25519PrivateKey,
    agent_id: str,
    body: protocol.Body,
    seq: int = 0,
    sent: float | None = None,
) -> Incoming:
    payload = protocol.seal(key, agent=agent_id, body=body, epoch=7, seq=seq, sent=sent)
    envelope = protocol.unseal(payload, key.public_key())
    assert not isinstance(body, protocol.Ack | protocol.Command | protocol.Revoked)
    return Incoming(envelope, body)


def test_store_batch_is_exactly_once(sessions: sessionmaker[Session]) -> None:
    key = protocol.generate_private_key()
    agent_id = _enroll(sessions, key)
    batch = TelemetryBatch(
        samples=[WireSample(probe="netdev", at=time.time(), status="Complete", data={"a": 1})]
    )
    items = [_incoming(key, agent_id, batch, seq=s) for s in (1, 2, 2, 3)]
    acks, stored, dups = store_batch(sessions, items)
    assert (stored, dups) == (3, 1)
    assert sorted(acks[(agent_id, 7)].seqs) == [1, 2, 2, 3]
    acks, stored, dups = store_batch(sessions, items[:2])
    assert (stored, dups) == (0, 2)
    with sessions() as session:
        assert session.query(Report).count() == 3
        assert session.query(Sample).count() == 3
    rejected = Incoming(items[0].envelope, None, rejected=True)
    acks, _, _ = store_batch(sessions, [rejected])
    assert acks[(agent_id, 7)].rejected == [1]


def test_status_ordering(sessions: sessionmaker[Session]) -> None:
    """Statuses are ordered by session; within one session offline is final."""
    key = protocol.generate_private_key()
    agent_id = _enroll(sessions, key)

    def apply(state: str, session_start: float) -> bool:
        store_batch(sessions, [_incoming(key, agent_id, Status(state=state, session=session_start))])  # type: ignore[arg-type]
        with sessions() as session:
            agent = session.get(Agent, agent_id)
            assert agent is not None
            return agent.online

    assert apply("online", 100.0) is True
    assert apply("offline", 100.0) is False  # last will of that session
    assert apply("online", 200.0) is True  # reconnected
    assert apply("offline", 100.0) is True  # a stale will arriving late changes nothing
    assert apply("online", 150.0) is True


def test_settings_refuse_missing_secrets_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HOMEDIAG_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="HOMEDIAG_API_TOKEN"):
        load_settings(environment="production", state_dir=tmp_path)
    with pytest.raises(ConfigError, match="16 characters"):
        load_settings(api_token="short", state_dir=tmp_path)
    dev = load_settings(state_dir=tmp_path)
    token = dev.resolved_api_token()
    assert len(token) >= 16
    assert dev.resolved_api_token() == token, "generated once, then kept"
    assert (tmp_path / "api-token").stat().st_mode & 0o777 == 0o600


def test_audit_log_is_append_only(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        audit.record(session, actor="csr", action="command", agent_id=None, details={"n": 1}, outcome="sent")
    for statement in (update(AuditEntry).values(outcome="forged"), delete(AuditEntry)):
        with pytest.raises(DatabaseError, match="append-only"), sessions.begin() as session:
            session.execute(statement)
    with sessions() as session:
        assert [e.outcome for e in session.query(AuditEntry)] == ["sent"]


def test_without_pg_trgm_the_schema_still_migrates(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A database user who may not create extensions (no CREATE on the database): migration 0016
    says so and moves on; the search works, as a scan."""
    url = postgres.new_database()
    database = url.rsplit("/", 1)[1]
    owner = make_engine(url)
    with owner.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        if not _role_exists(conn):  # one server for the session
            conn.execute(text("CREATE ROLE limited LOGIN"))
        conn.execute(text(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC'))
        conn.execute(text("GRANT CREATE, USAGE ON SCHEMA public TO limited"))
    owner.dispose()
    engine = make_engine(url.replace("postgres@", "limited@"))
    try:
        with caplog.at_level("WARNING", logger="cloud.migrations"):
            migrate(engine)
        assert "pg_trgm is not available" in caplog.text
        with engine.connect() as conn:
            names = set(
                conn.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'subscribers'"))
            )
            assert not names & POSTGRES_ONLY_INDEXES
            head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata
            )
        assert diff == []
    finally:
        engine.dispose()


def _role_exists(conn: Any) -> bool:
    return bool(conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'limited'")))
