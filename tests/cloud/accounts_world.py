"""Two tenants, their staff, subscribers, homes and history, behind a real ``create_app``.

Tenant ``alpha`` and tenant ``beta`` get the same shape, so any test can act as one and aim at the
other's ids: one household with an online home (``agent``), a second household's home
(``other_agent``), spares to delete or revoke, and a command, a care entry, a device and audit rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud import accounts, audit, load_settings
from cloud.accounts import create_tenant, create_user
from cloud.api import create_app
from cloud.keys import KeyRing
from cloud.pki import CertificateAuthority
from cloud.storage import (
    Agent,
    CareDailyEntry,
    InventoryDevice,
    Plan,
    Sample,
    Subscriber,
    make_engine,
    make_sessionmaker,
    migrate,
)
from cloud.storage.assistance import CommandRecord
from tests.support import API_TOKEN

PASSWORD = "correct horse battery"
STAFF = ("csr", "technician", "supervisor", "admin")
TENANTS = ("alpha", "beta")
DEVICE_KEY = "aa:bb:cc:00:00:01"
KEY = protocol.generate_private_key()


class FakeIngest:
    """Stands in for the MQTT side: records what the API would publish."""

    def __init__(self) -> None:
        self.published: list[str] = []
        #: The sealed commands themselves, to read what the agent would get.
        self.payloads: list[bytes] = []

    async def publish_command(self, agent_id: str, payload: bytes) -> bool:
        self.published.append(agent_id)
        self.payloads.append(payload)
        return True

    def forget_agent(self, agent_id: str) -> None:
        pass


@dataclass
class TenantIds:
    tenant: str
    agent: str = ""
    other_agent: str = ""
    spare_agent: str = ""
    subscriber: str = ""
    other_subscriber: str = ""
    spare_subscriber: str = ""
    plan: int = 0
    spare_plan: int = 0
    command: str = ""
    entry: int = 0
    users: dict[str, str] = field(default_factory=dict)  # role -> user id
    spare_user: str = ""

    def username(self, role: str) -> str:
        return f"{role}-{self.tenant}"


@dataclass
class World:
    app: FastAPI
    client: TestClient
    sessions: sessionmaker[Session]
    ingest: FakeIngest
    ids: dict[str, TenantIds]

    def login(self, tenant: str, username: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password, "tenant": tenant}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def headers(self, tenant: str, role: str) -> dict[str, str]:
        """Bearer headers of ``role`` in ``tenant`` (``subscriber``: the household of ``agent``)."""
        token = self.login(tenant, f"{role}-{tenant}")["access_token"]
        return {"Authorization": f"Bearer {token}"}


OPERATOR = {"Authorization": f"Bearer {API_TOKEN}"}


def _agent(session: Session, tenant: str | None, subscriber: str | None, *, online: bool) -> str:
    agent = Agent(
        id=uuid.uuid4().hex,
        public_key=protocol.public_key_text(KEY),
        hostname=f"home-{tenant}",
        online=online,
        tenant_id=tenant,
        subscriber_id=subscriber,
    )
    session.add(agent)
    session.flush()
    return agent.id


def _populate(session: Session, tenant: str) -> TenantIds:
    ids = TenantIds(tenant)
    create_tenant(session, tenant, f"{tenant} ISP")
    for name in ("plan", "spare_plan"):
        plan = Plan(
            tenant_id=tenant, name=name, cap_bytes=10**12, cycle_start_day=1, timezone="UTC", tier="premium"
        )
        session.add(plan)
        session.flush()
        setattr(ids, name, plan.id)
    for name in ("subscriber", "other_subscriber", "spare_subscriber"):
        household = Subscriber(
            id=uuid.uuid4().hex, tenant_id=tenant, reference=f"{tenant}-{name}", name=name, plan_id=ids.plan
        )
        session.add(household)
        session.flush()
        setattr(ids, name, household.id)
    ids.agent = _agent(session, tenant, ids.subscriber, online=True)
    ids.other_agent = _agent(session, tenant, ids.other_subscriber, online=True)
    ids.spare_agent = _agent(session, tenant, ids.spare_subscriber, online=True)
    for role in STAFF:
        ids.users[role] = create_user(
            session, tenant_id=tenant, username=ids.username(role), password=PASSWORD, role=role
        ).id
    ids.users["subscriber"] = create_user(
        session,
        tenant_id=tenant,
        username=ids.username("subscriber"),
        password=PASSWORD,
        role="subscriber",
        subscriber_id=ids.subscriber,
    ).id
    ids.spare_user = create_user(
        session, tenant_id=tenant, username=f"spare-{tenant}", password=PASSWORD, role="csr"
    ).id
    now = datetime.now(UTC)
    ids.command = uuid.uuid4().hex
    session.add(
        CommandRecord(
            id=ids.command,
            agent_id=ids.agent,
            name="ping",
            params={"host": "192.0.2.1"},
            issued_by=ids.username("csr"),
            issued_at=now,
            expires_at=now + timedelta(minutes=2),
            state="complete",
            status="Complete",
            result={"SuccessCount": 1},
            finished_at=now,
        )
    )
    entry = CareDailyEntry(
        day=(now - timedelta(days=1)).date(),
        home=ids.agent,
        rank=1,
        score=0.9,
        device=DEVICE_KEY,
        kind="usage_spike",
        reason="much more than usual",
        details={"findings": []},
    )
    session.add(entry)
    session.add(InventoryDevice(agent_id=ids.agent, key=DEVICE_KEY, mac=DEVICE_KEY, hostname="printer"))
    # A remote-assistance session the subscriber granted, so consent commands can run.
    session.add(
        Sample(
            agent_id=ids.agent,
            epoch=1,
            seq=1,
            probe="consent",
            at=now,
            status="Complete",
            data={"active": True, "expires_at": now.timestamp() + 3600},
        )
    )
    session.flush()
    ids.entry = entry.id
    audit.record(
        session,
        actor=audit.Actor(ids.username("csr"), ids.users["csr"], tenant),
        action="command",
        agent_id=ids.agent,
        details={"seed": True},
        outcome="sent",
    )
    return ids


def make_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """The world; Argon2 with test-sized costs meanwhile (the real ones take a second a hash here)."""
    real = accounts._HASHER
    accounts._HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    accounts._dummy_hash.cache_clear()
    try:
        yield from _make_world(database_url, tmp_path)
    finally:
        accounts._HASHER = real
        accounts._dummy_hash.cache_clear()


def _make_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    engine: Engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        ids = {tenant: _populate(session, tenant) for tenant in TENANTS}
        _agent(session, None, None, online=False)  # enrolled before accounts: the platform's only
    state_dir = tmp_path / "cloud"
    settings = load_settings(state_dir=state_dir, api_token=API_TOKEN, db_url=database_url)
    ingest = FakeIngest()
    app = create_app(
        settings=settings,
        sessions=sessions,
        keys=KeyRing(state_dir),
        ca=CertificateAuthority(settings.pki_dir),
        ingest=ingest,
    )
    with TestClient(app) as client:
        yield World(app, client, sessions, ingest, ids)
    engine.dispose()


YESTERDAY = date.today() - timedelta(days=1)
