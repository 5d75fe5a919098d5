"""Remote-assistance consent from the self-care portal (issue 9): only the home's subscriber grants
it, the subscriber or staff end it, both are audited, and the latest decision of the device or the
portal is the one that holds. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud import consent
from cloud.storage import Agent, Sample, Subscriber, WebConsent
from protocol import Command
from tests.cloud.accounts_world import KEY, OPERATOR, World, make_world

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PRINTER = {"name": "add_printer", "params": {"uri": "ipp://192.0.2.5/ipp/print", "name": "office"}}
_seq = count(100)


# --- the order of decisions, on the storage alone ---------------------------------------------


@pytest.fixture
def home(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        agent = Agent(id=uuid.uuid4().hex, public_key=protocol.public_key_text(KEY))
        session.add(agent)
    return agent.id


def _device(session: Session, agent_id: str, data: dict[str, Any], at: datetime | None = None) -> None:
    """A ``consent`` sample as agent/runner.py reports it."""
    moment = at or datetime.fromtimestamp(data.get("expires_at") or T0.timestamp(), UTC)
    session.add(
        Sample(
            agent_id=agent_id,
            epoch=1,
            seq=next(_seq),
            probe="consent",
            at=moment,
            status="Complete",
            data=data,
        )
    )


def _device_grant(session: Session, agent_id: str, at: datetime, minutes: int) -> None:
    granted = at.timestamp()
    data = {"active": True, "granted_at": granted, "expires_at": granted + minutes * 60, "revoked": False}
    _device(session, agent_id, data, at)


def _device_revoke(session: Session, agent_id: str, at: datetime) -> None:
    data = {"active": False, "granted_at": T0.timestamp(), "expires_at": at.timestamp(), "revoked": True}
    _device(session, agent_id, data, at)


def _web_grant(session: Session, agent_id: str, at: datetime, minutes: int) -> None:
    session.add(
        WebConsent(agent_id=agent_id, at=at, expires_at=at + timedelta(minutes=minutes), username="s")
    )


def _web_revoke(session: Session, agent_id: str, at: datetime) -> None:
    session.add(WebConsent(agent_id=agent_id, at=at, expires_at=None, username="s"))


def _state(session: Session, agent_id: str, now: datetime) -> tuple[float | None, str | None]:
    decision = consent.current(session, agent_id)
    return consent.consent_until(session, agent_id, now), decision.source if decision else None


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_newer_web_revoke_ends_a_device_grant(sessions: sessionmaker[Session], home: str) -> None:
    with sessions.begin() as session:
        _device_grant(session, home, _at(0), 60)
        assert _state(session, home, _at(1)) == (_at(60).timestamp(), "device")
        _web_revoke(session, home, _at(2))
        session.flush()
        assert _state(session, home, _at(3)) == (None, "web")


def test_a_newer_device_revoke_ends_a_web_grant(sessions: sessionmaker[Session], home: str) -> None:
    with sessions.begin() as session:
        _web_grant(session, home, _at(0), 60)
        session.flush()
        assert _state(session, home, _at(1)) == (_at(60).timestamp(), "web")
        _device_revoke(session, home, _at(2))
        session.flush()
        assert _state(session, home, _at(3)) == (None, "device")


def test_a_newer_grant_reopens_after_the_other_sides_revoke(
    sessions: sessionmaker[Session], home: str
) -> None:
    with sessions.begin() as session:
        _device_revoke(session, home, _at(0))
        _web_grant(session, home, _at(1), 30)
        session.flush()
        assert _state(session, home, _at(2)) == (_at(31).timestamp(), "web")
        _web_revoke(session, home, _at(3))
        _device_grant(session, home, _at(4), 10)
        session.flush()
        assert _state(session, home, _at(5)) == (_at(14).timestamp(), "device")
        assert _state(session, home, _at(15)) == (None, "device")  # it ran out


def test_order_is_by_decision_time_not_by_arrival(sessions: sessionmaker[Session], home: str) -> None:
    """A device revoke that reaches the cloud late still ends only what was granted before it."""
    with sessions.begin() as session:
        _web_grant(session, home, _at(5), 30)
        session.flush()
        _device_revoke(session, home, _at(2))  # made earlier, stored later
        session.flush()
        assert _state(session, home, _at(6)) == (_at(35).timestamp(), "web")


def test_older_agents_inactive_report_reads_as_a_revoke(sessions: sessionmaker[Session], home: str) -> None:
    with sessions.begin() as session:
        _web_grant(session, home, _at(0), 60)
        # Before "revoked" was reported: only "active": false and the revoke time in expires_at.
        _device(session, home, {"active": False, "granted_at": 0.0, "expires_at": _at(1).timestamp()})
        session.flush()
        assert _state(session, home, _at(2)) == (None, "device")


def test_a_device_that_never_consented_leaves_the_web_grant(
    sessions: sessionmaker[Session], home: str
) -> None:
    with sessions.begin() as session:
        _web_grant(session, home, _at(0), 60)
        _device(session, home, {"active": False, "granted_at": None, "expires_at": None}, _at(5))
        session.flush()
        assert _state(session, home, _at(6)) == (_at(60).timestamp(), "web")


def test_a_revoke_wins_a_tie() -> None:
    grant = consent.Decision("device", 100.0, 200.0)
    revoke = consent.Decision("web", 100.0, None)
    assert consent.latest(grant, revoke) == revoke
    assert consent.latest(revoke, grant) == revoke
    assert consent.latest(None, None) is None


# --- through the API -------------------------------------------------------------------------------


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    for world in make_world(database_url, tmp_path):
        with world.sessions.begin() as session:  # premium setup help is for premium households
            household = session.get(Subscriber, world.ids["alpha"].subscriber)
            assert household is not None
            household.tier = "premium"
            # The world's home starts with a session granted on the device: end it there.
            _device_revoke(session, world.ids["alpha"].agent, datetime.now(UTC) - timedelta(seconds=5))
        yield world


def _consent(world: World, agent_id: str, headers: dict[str, str]) -> dict[str, Any]:
    reply = world.client.get(f"/api/v1/agents/{agent_id}/consent", headers=headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_subscriber_grants_and_the_technician_can_then_set_up_a_printer(world: World) -> None:
    home = world.ids["alpha"].agent
    me = world.headers("alpha", "subscriber")
    technician = world.headers("alpha", "technician")
    assert _consent(world, home, me) == {
        "agent_id": home,
        "active": False,
        "until": None,
        "source": "device",
    }
    url = f"/api/v1/agents/{home}/commands"
    assert world.client.post(url, json=PRINTER, headers=technician).status_code == 403
    granted = world.client.put(f"/api/v1/agents/{home}/consent", json={"minutes": 30}, headers=me)
    assert granted.status_code == 200, granted.text
    assert granted.json()["active"] is True
    assert granted.json()["source"] == "web"
    seen_by_staff = _consent(world, home, technician)
    assert seen_by_staff["active"] is True
    assert seen_by_staff["source"] == "web"
    until = datetime.fromisoformat(seen_by_staff["until"])
    assert timedelta(minutes=29) < until - datetime.now(UTC) <= timedelta(minutes=30)
    sent = world.client.post(url, json=PRINTER, headers=technician)
    assert sent.status_code == 202, sent.text
    # The cloud vouches for the portal's session inside the signed command.
    payload = world.app.state.ingest.payloads[-1]
    command = protocol.decode_body(protocol.decode_envelope(protocol.split(payload)[0]), Command)
    assert command.name == "add_printer"
    assert command.consent_until == pytest.approx(until.timestamp(), abs=1e-3)


@pytest.mark.parametrize("role", ["csr", "technician", "supervisor", "admin"])
def test_staff_cannot_consent_for_the_subscriber(world: World, role: str) -> None:
    home = world.ids["alpha"].agent
    reply = world.client.put(
        f"/api/v1/agents/{home}/consent", json={"minutes": 30}, headers=world.headers("alpha", role)
    )
    assert reply.status_code == 403
    operator = world.client.put(f"/api/v1/agents/{home}/consent", json={"minutes": 30}, headers=OPERATOR)
    assert operator.status_code == 403
    assert _consent(world, home, world.headers("alpha", "subscriber"))["active"] is False


def test_only_the_own_home(world: World) -> None:
    alpha, beta = world.ids["alpha"], world.ids["beta"]
    me = world.headers("alpha", "subscriber")
    for agent_id in (alpha.other_agent, beta.agent, uuid.uuid4().hex):  # a neighbour, another tenant
        for method in ("PUT", "DELETE"):
            reply = world.client.request(
                method, f"/api/v1/agents/{agent_id}/consent", json={"minutes": 30}, headers=me
            )
            assert reply.status_code == 404, (method, agent_id)
    # Another tenant's staff cannot end a session here either.
    beta_csr = world.headers("beta", "csr")
    assert world.client.delete(f"/api/v1/agents/{alpha.agent}/consent", headers=beta_csr).status_code == 404
    with world.sessions() as session:
        assert session.query(WebConsent).count() == 0


@pytest.mark.parametrize("minutes", [0, -5, 1441, "soon"])
def test_the_length_is_bounded(world: World, minutes: object) -> None:
    reply = world.client.put(
        f"/api/v1/agents/{world.ids['alpha'].agent}/consent",
        json={"minutes": minutes},
        headers=world.headers("alpha", "subscriber"),
    )
    assert reply.status_code == 422


@pytest.mark.parametrize("revoker", ["subscriber", "csr"])
def test_revoke_ends_it_and_both_are_in_the_subscribers_audit(world: World, revoker: str) -> None:
    home = world.ids["alpha"].agent
    me = world.headers("alpha", "subscriber")
    assert (
        world.client.put(f"/api/v1/agents/{home}/consent", json={"minutes": 60}, headers=me).status_code
        == 200
    )
    ended = world.client.delete(f"/api/v1/agents/{home}/consent", headers=world.headers("alpha", revoker))
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"agent_id": home, "active": False, "until": None, "source": "web"}
    assert _consent(world, home, me)["active"] is False
    technician = world.headers("alpha", "technician")
    assert (
        world.client.post(f"/api/v1/agents/{home}/commands", json=PRINTER, headers=technician).status_code
        == 403
    )
    log = world.client.get("/api/v1/me/audit", headers=me).json()
    grant = next(e for e in log if e["action"] == "consent_grant")
    revoke = next(e for e in log if e["action"] == "consent_revoke")
    assert (grant["actor"], grant["details"]["minutes"], grant["outcome"]) == ("you", 60, "granted")
    assert grant["details"]["until"]
    # The subscriber reads who acted by role, never a staff login's name.
    who = "you" if revoker == "subscriber" else f"support ({revoker})"
    assert (revoke["actor"], revoke["outcome"]) == (who, "revoked")
    assert revoke["details"]["source"] == "web"
    assert revoke["details"]["until"] == grant["details"]["until"]


def test_a_newer_device_revoke_beats_the_web_grant(world: World) -> None:
    home = world.ids["alpha"].agent
    me = world.headers("alpha", "subscriber")
    assert (
        world.client.put(f"/api/v1/agents/{home}/consent", json={"minutes": 60}, headers=me).status_code
        == 200
    )
    with world.sessions.begin() as session:
        _device_revoke(session, home, datetime.now(UTC) + timedelta(seconds=1))
    assert _consent(world, home, me) == {
        "agent_id": home,
        "active": False,
        "until": None,
        "source": "device",
    }
