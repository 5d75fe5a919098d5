"""The care loop against the database (SQLite and PostgreSQL): cap warnings once per threshold
across a restart, the offline alert once per outage, and the inventory's devices when it exists."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, DateTime, Engine, Integer, MetaData, String, Table, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.care.loop import CareLoop
from cloud.config import Settings, load_settings
from cloud.storage import (
    Agent,
    CareNotification,
    CarePreference,
    DeviceClassHour,
    UsageHour,
    UsagePlan,
    make_engine,
    make_sessionmaker,
    migrate,
)
from tests.care_peers import SmtpServer

GB = 10**9
AGENT = "care-alerts-1"
TV, PC = "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:03"
START = datetime(2026, 11, 1, tzinfo=UTC)  # cycle start day 1, UTC
RATE = 8 * GB


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _settings(tmp_path: Path, database_url: str, smtp_port: int) -> Settings:
    return load_settings(
        state_dir=tmp_path / "state",
        db_url=database_url,
        care_smtp_host="127.0.0.1",
        care_smtp_port=smtp_port,
        care_retry_base_s=1,
        care_offline_after_s=3600,
    )


def _seed(sessions: sessionmaker[Session], until: datetime) -> None:
    with sessions.begin() as session:
        session.add(Agent(id=AGENT, public_key="k" * 43, last_seen_at=until + timedelta(days=1)))
        session.flush()
        session.add(UsagePlan(agent_id=AGENT, cap_bytes=200 * GB, cycle_start_day=1, timezone="UTC"))
        session.add(
            CarePreference(
                agent_id=AGENT, email="sub@home.test", muted_kinds=[], unsubscribe_token="t-alerts"
            )
        )
        hour = START - timedelta(days=14)
        while hour < until:
            session.add(UsageHour(agent_id=AGENT, hour=hour, bytes_rx=RATE // 24, bytes_tx=0))
            for device, cls, share in ((TV, "video", 0.7), (PC, "web", 0.3)):
                session.add(
                    DeviceClassHour(
                        agent_id=AGENT,
                        hour=hour,
                        device=device,
                        traffic_class=cls,
                        bytes_rx=int(RATE // 24 * share),
                        bytes_tx=0,
                        flows=10,
                        remote_hosts=2,
                        smtp_connections=0,
                    )
                )
            hour += timedelta(hours=1)


def test_cap_warnings_once_per_threshold_across_a_restart(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # 11 days at 8 GB: 88 GB = 44% used, on course to reach 200 GB 14 days later (the 26th).
    now = START + timedelta(days=11)
    sessions = make_sessionmaker(engine)
    _seed(sessions, now)
    with SmtpServer() as smtp:
        settings = _settings(tmp_path, database_url, smtp.port)
        CareLoop(settings, sessions).run_once(now)
        CareLoop(settings, sessions).run_once(now + timedelta(minutes=5))  # a new process, same data
        assert [m["Subject"] for m in smtp.messages] == ["You are on course to reach your 200 GB cap"]
        text = smtp.messages[0].get_content()
        assert (
            "around the 26th; your device aa:bb:cc:00:00:01 used 70% of this cycle's traffic, mostly video"
            in text
        )

        with sessions.begin() as session:
            session.add(UsageHour(agent_id=AGENT, hour=now, bytes_rx=14 * GB, bytes_tx=0))  # 102 GB: 51%
        later = now + timedelta(hours=1)
        CareLoop(settings, sessions).run_once(later)
        CareLoop(settings, sessions).run_once(later + timedelta(minutes=5))
        assert [m["Subject"] for m in smtp.messages][1:] == ["You have used 50% of your 200 GB cap"]

    with sessions() as session:
        rows = sorted((n.threshold, n.channel, n.status) for n in session.scalars(select(CareNotification)))
    assert rows == [
        ("50", "console", "sent"),
        ("50", "email", "sent"),
        ("projected", "console", "sent"),
        ("projected", "email", "sent"),
    ]


def test_offline_once_per_outage(engine: Engine, database_url: str, tmp_path: Path) -> None:
    sessions = make_sessionmaker(engine)
    seen = START + timedelta(days=3)
    with sessions.begin() as session:
        session.add(Agent(id=AGENT, public_key="k" * 43, last_seen_at=seen))
    settings = _settings(tmp_path, database_url, 1)
    care = CareLoop(settings, sessions)
    assert care.decide(seen + timedelta(minutes=59))["offline"] == 0
    assert care.decide(seen + timedelta(hours=2))["offline"] == 1
    assert CareLoop(settings, sessions).decide(seen + timedelta(hours=5))["offline"] == 0
    with sessions.begin() as session:  # back, then gone again: a new outage
        agent = session.get(Agent, AGENT)
        assert agent is not None
        agent.last_seen_at = seen + timedelta(days=1)
    assert care.decide(seen + timedelta(days=1, hours=2))["offline"] == 1
    with sessions() as session:
        bodies = [n.body for n in session.scalars(select(CareNotification))]
    assert len(bodies) == 2 and "has not reported for 2 hours" in bodies[0]


def _insert(engine: Engine, name: str, values: dict[str, Any]) -> None:
    """A row in another issue's table, filling its other required columns with neutral values."""
    table = Table(name, MetaData(), autoload_with=engine)
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        kind = column.type
        row[column.name] = (
            [] if isinstance(kind, JSON) else False if isinstance(kind, Boolean)
            else datetime.now(UTC) if isinstance(kind, DateTime) else 0 if isinstance(kind, Integer)
            else "" if isinstance(kind, String) else None
        )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(table.insert().values(**row))


def test_inventory_events_and_names_when_the_inventory_exists(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    tables = set(inspect(engine).get_table_names())
    if not {"inventory_events", "inventory_devices"} <= tables:
        pytest.skip("the inventory (issue 4) is not in this schema")
    sessions = make_sessionmaker(engine)
    now = START + timedelta(days=11)
    _seed(sessions, now)
    _insert(
        engine,
        "inventory_devices",
        {"agent_id": AGENT, "key": "k1", "mac": TV, "hostname": "Living-room TV", "kind": "tv"},
    )
    _insert(
        engine,
        "inventory_events",
        {
            "agent_id": AGENT,
            "device_key": "k9",
            "at": now - timedelta(hours=2),
            "event": "new",
            "details": {},
        },
    )
    with SmtpServer() as smtp:
        care = CareLoop(_settings(tmp_path, database_url, smtp.port), sessions)
        care.run_once(now)
        care.run_once(now + timedelta(minutes=5))
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == ["A new device joined your home network", "You are on course to reach your 200 GB cap"]
    cap = next(m for m in smtp.messages if "cap" in m["Subject"]).get_content()
    assert "your TV 'Living-room TV' used 70% of this cycle's traffic, mostly video" in cap
