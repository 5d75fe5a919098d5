"""Authorization on every object: tenants are isolated, roles are enforced, subscribers see their
own homes only, and the audit log names the real actor. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.api.routes import assist
from cloud.storage import (
    Agent,
    AuditEntry,
    CareFeedback,
    CarePreference,
    Plan,
    Subscriber,
    UsagePlan,
    User,
)
from cloud.storage.assistance import CommandRecord
from tests.cloud.accounts_world import DEVICE_KEY, OPERATOR, TenantIds, World, make_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)


@dataclass(frozen=True)
class Call:
    method: str
    #: Path template; ``{agent_id}`` and friends are filled from a tenant's ids.
    path: str
    body: dict[str, Any] | None = None
    #: Destructive calls aim at the tenant's spare objects, so the own-tenant run can repeat them.
    spare: bool = False
    #: Who makes the call in the own-tenant run (granting consent is the subscriber's alone).
    role: str = "admin"


#: Every operation that names an object in its path. ``test_every_object_route_is_covered`` fails
#: when a route is added without a line here.
OBJECT_CALLS = [
    Call("GET", "/api/v1/agents/{agent_id}"),
    Call("POST", "/api/v1/agents/{agent_id}/revoke", spare=True),
    Call("GET", "/api/v1/agents/{agent_id}/telemetry/latest"),
    Call("GET", "/api/v1/agents/{agent_id}/telemetry"),
    Call("POST", "/api/v1/agents/{agent_id}/commands", {"name": "ping", "params": {"host": "192.0.2.1"}}),
    Call("POST", "/api/v1/agents/{agent_id}/commands", {"name": "support_bundle", "params": {}}),
    Call("GET", "/api/v1/agents/{agent_id}/consent"),
    Call("GET", "/api/v1/agents/{agent_id}/commands"),
    Call("PUT", "/api/v1/agents/{agent_id}/consent", {"minutes": 30}, role="subscriber"),
    Call("DELETE", "/api/v1/agents/{agent_id}/consent", spare=True),
    Call("GET", "/api/v1/commands/{command_id}"),
    Call("GET", "/api/v1/commands/{command_id}/events"),
    Call("GET", "/api/v1/agents/{agent_id}/usage"),
    Call("GET", "/api/v1/agents/{agent_id}/usage/devices"),
    Call(
        "PUT",
        "/api/v1/agents/{agent_id}/plan",
        {"cap_bytes": 5 * 10**11, "cycle_start_day": 3, "timezone": "Europe/Paris"},
    ),
    Call("POST", "/api/v1/care/daily-list/{entry_id}/feedback", {"verdict": "false_alarm"}),
    Call("GET", "/api/v1/agents/{agent_id}/care/preferences"),
    Call("PUT", "/api/v1/agents/{agent_id}/care/preferences", {"email": "someone@example.org"}),
    Call("GET", "/api/v1/agents/{agent_id}/care/notifications"),
    Call("GET", "/api/v1/agents/{agent_id}/devices"),
    Call("GET", "/api/v1/agents/{agent_id}/devices/events"),
    Call("GET", "/api/v1/agents/{agent_id}/devices/{key}"),
    Call("GET", "/api/v1/agents/{agent_id}/connectivity/latest"),
    Call("GET", "/api/v1/agents/{agent_id}/connectivity"),
    Call("GET", "/api/v1/agents/{agent_id}/experience"),
    Call(
        "POST", "/api/v1/agents/{agent_id}/playbooks/printer-wont-print", {"uri": "ipp://192.0.2.5/ipp/print"}
    ),
    Call(
        "POST",
        "/api/v1/agents/{agent_id}/playbooks/internet-is-slow",
        {"gateway": "192.0.2.1", "internet": "192.0.2.2", "name": "example.org"},
    ),
    Call("GET", "/api/v1/users/{user_id}"),
    Call("PATCH", "/api/v1/users/{user_id}", {"role": "technician"}, spare=True),
    Call("DELETE", "/api/v1/users/{user_id}", spare=True),
    Call("GET", "/api/v1/subscribers/{subscriber_id}"),
    Call("PATCH", "/api/v1/subscribers/{subscriber_id}", {"tier": "standard", "name": "renamed"}),
    Call("DELETE", "/api/v1/subscribers/{subscriber_id}", spare=True),
    Call("PUT", "/api/v1/agents/{agent_id}/subscriber", {"subscriber_id": "{subscriber_id}"}),
    Call("GET", "/api/v1/plans/{plan_id}"),
    Call("PATCH", "/api/v1/plans/{plan_id}", {"cap_bytes": 2 * 10**12}),
    Call("DELETE", "/api/v1/plans/{plan_id}", spare=True),
]

#: Paths with a parameter that is not an object of a tenant.
NOT_TENANT_OBJECTS = {
    "/api/v1/agents/{agent_id}/certificate",  # the agent's own renewal, signed with its enrolled key
    "/api/v1/care/unsubscribe/{token}",  # the link's secret is the credential
}


def _ids(t: TenantIds, call: Call) -> dict[str, str]:
    return {
        "agent_id": t.spare_agent if call.spare else t.agent,
        "command_id": t.command,
        "entry_id": str(t.entry),
        "key": DEVICE_KEY,
        "user_id": t.spare_user if call.spare else t.users["csr"],
        "subscriber_id": t.spare_subscriber if call.spare else t.subscriber,
        "plan_id": str(t.spare_plan if call.spare else t.plan),
    }


def _fill(text: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], text)


def _request(world: World, call: Call, ids: dict[str, str], headers: dict[str, str]) -> Any:
    body = None
    if call.body is not None:
        body = {k: _fill(v, ids) if isinstance(v, str) else v for k, v in call.body.items()}
    return world.client.request(call.method, _fill(call.path, ids), json=body, headers=headers)


def _guessed(t: TenantIds, call: Call) -> dict[str, str]:
    """Ids of the same shape as the tenant's that belong to nobody."""
    ids = _ids(t, call)
    for name in ("agent_id", "command_id", "user_id", "subscriber_id"):
        ids[name] = uuid.uuid4().hex
    ids["entry_id"] = ids["plan_id"] = "987654321"
    return ids


def test_every_object_route_is_covered(world: World) -> None:
    templated = {
        (method.upper(), path)
        for path, operations in world.app.openapi()["paths"].items()
        if "{" in path and path not in NOT_TENANT_OBJECTS
        for method in operations
    }
    covered = {(c.method, c.path) for c in OBJECT_CALLS}
    assert templated == covered


@pytest.mark.parametrize("role", ["csr", "admin", "subscriber"])
def test_nothing_of_another_tenant_can_be_read_or_touched(world: World, role: str) -> None:
    alpha, beta = world.ids["alpha"], world.ids["beta"]
    headers = world.headers("alpha", role)
    before = _beta_state(world)
    for call in OBJECT_CALLS:
        theirs = _request(world, call, _ids(beta, call), headers)
        nobodys = _request(world, call, _guessed(beta, call), headers)
        where = f"{role}: {call.method} {call.path}"
        assert theirs.status_code in (403, 404), f"{where} -> {theirs.status_code} {theirs.text}"
        # Another tenant's object is answered exactly like one that does not exist.
        assert (theirs.status_code, theirs.json()) == (nobodys.status_code, nobodys.json()), where
    # Objects named in bodies: one of alpha's with one of beta's.
    crossed = [
        ("PUT", f"/api/v1/agents/{alpha.agent}/subscriber", {"subscriber_id": beta.subscriber}),
        ("PATCH", f"/api/v1/subscribers/{alpha.subscriber}", {"plan_id": beta.plan}),
        ("POST", "/api/v1/subscribers", {"reference": "x-1", "plan_id": beta.plan}),
        ("POST", "/api/v1/users", {"username": "s", "role": "subscriber", "subscriber_id": beta.subscriber}),
        ("POST", "/api/v1/pairing-codes", {"subscriber_id": beta.subscriber}),
        (
            "POST",
            "/api/v1/plans",
            {"name": "p", "cap_bytes": 1, "cycle_start_day": 1, "timezone": "UTC", "tenant": "beta"},
        ),
        ("POST", "/api/v1/subscribers", {"reference": "x-2", "tenant": "beta"}),
    ]
    for method, path, body in crossed:
        response = world.client.request(method, path, json=body, headers=headers)
        if role == "subscriber" and path == "/api/v1/pairing-codes":
            # A subscriber's code is always for its own household, whatever the body says.
            assert response.status_code == 201
            continue
        assert response.status_code in (403, 404), f"{role}: {method} {path} -> {response.text}"
    assert _beta_state(world) == before
    assert not set(world.ingest.published) & {beta.agent, beta.other_agent, beta.spare_agent}


def test_lists_show_only_the_own_tenant(world: World) -> None:
    beta = world.ids["beta"]
    beta_ids = {beta.agent, beta.other_agent, beta.spare_agent, beta.subscriber, *beta.users.values()}
    headers = world.headers("alpha", "admin")
    for path in (
        "/api/v1/agents",
        "/api/v1/audit",
        f"/api/v1/audit?agent_id={beta.agent}",
        "/api/v1/care/daily-list",
        "/api/v1/subscribers",
        "/api/v1/subscribers?q=beta",
        "/api/v1/plans",
        "/api/v1/users",
        "/api/v1/me/audit",
    ):
        response = world.client.get(path, headers=headers)
        assert response.status_code == 200, path
        text = response.text
        assert not any(i in text for i in beta_ids), path
        assert '"beta"' not in text, path
    agents = world.client.get("/api/v1/agents", headers=headers).json()
    assert {a["agent_id"] for a in agents} == {
        world.ids["alpha"].agent,
        world.ids["alpha"].other_agent,
        world.ids["alpha"].spare_agent,
    }
    entries = world.client.get("/api/v1/care/daily-list", headers=headers).json()
    assert [e["home"] for e in entries] == [world.ids["alpha"].agent]


def test_the_own_tenant_is_served(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same calls as the isolation test, on alpha's own objects: none is refused, so the
    refusals above come from the tenant check and not from a bad request."""
    monkeypatch.setattr(assist, "STEP_TIMEOUT_S", 0.2)
    alpha = world.ids["alpha"]
    headers = {role: world.headers("alpha", role) for role in {c.role for c in OBJECT_CALLS}}
    for call in OBJECT_CALLS:
        response = _request(world, call, _ids(alpha, call), headers[call.role])
        assert response.status_code < 400, (
            f"{call.method} {call.path} -> {response.status_code} {response.text}"
        )
    with world.sessions() as session:
        assert session.get(Subscriber, alpha.spare_subscriber) is None
        revoked = session.get(Agent, alpha.spare_agent)
        assert revoked is not None
        assert revoked.revoked


def test_csr_cannot_run_technician_actions(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    technician = world.headers("alpha", "technician")
    consent_command = {
        "name": "add_printer",
        "params": {"uri": "ipp://192.0.2.5/ipp/print", "name": "office"},
    }
    with world.sessions.begin() as session:  # premium setup help is for premium households
        household = session.get(Subscriber, alpha.subscriber)
        assert household is not None
        household.tier = "premium"
    refused = world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=consent_command, headers=csr)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "The add_printer command needs the technician role; ask a technician or a tenant administrator."
    )
    sent = world.client.post(
        f"/api/v1/agents/{alpha.agent}/commands", json=consent_command, headers=technician
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["issued_by"] == "technician-alpha"
    # Routine diagnostics are every staff member's.
    ping = {"name": "ping", "params": {"host": "192.0.2.1"}}
    assert (
        world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=ping, headers=csr).status_code == 202
    )
    # Technician and admin actions, and the supervisor's audit log.
    plan = {"cap_bytes": 10**11, "cycle_start_day": 1, "timezone": "UTC"}
    assert world.client.put(f"/api/v1/agents/{alpha.agent}/plan", json=plan, headers=csr).status_code == 403
    assert (
        world.client.put(f"/api/v1/agents/{alpha.agent}/plan", json=plan, headers=technician).status_code
        == 403
    )
    assert world.client.post(f"/api/v1/agents/{alpha.spare_agent}/revoke", headers=csr).status_code == 403
    assert world.client.get("/api/v1/audit", headers=csr).status_code == 403
    assert world.client.get("/api/v1/audit", headers=technician).status_code == 403
    assert world.client.get("/api/v1/audit", headers=world.headers("alpha", "supervisor")).status_code == 200
    assert world.client.get("/api/v1/users", headers=csr).status_code == 403
    assert world.client.post("/api/v1/subscribers", json={"reference": "n-1"}, headers=csr).status_code == 403
    assert (
        world.client.post(
            "/api/v1/tenants", json={"id": "delta"}, headers=world.headers("alpha", "admin")
        ).status_code
        == 403
    )
    with world.sessions() as session:
        assert session.get(UsagePlan, alpha.agent) is None
        names = session.scalars(
            select(CommandRecord.name).where(CommandRecord.issued_by == "csr-alpha")
        ).all()
    assert "add_printer" not in names


def test_subscriber_sees_only_their_own_home(world: World) -> None:
    alpha = world.ids["alpha"]
    me = world.headers("alpha", "subscriber")
    agents = world.client.get("/api/v1/agents", headers=me).json()
    assert [a["agent_id"] for a in agents] == [alpha.agent]
    profile = world.client.get("/api/v1/me", headers=me).json()
    assert profile["agent_ids"] == [alpha.agent]
    assert profile["subscriber_id"] == alpha.subscriber
    for path in ("usage", "usage/devices", "devices", "care/notifications", "care/preferences", "consent"):
        assert world.client.get(f"/api/v1/agents/{alpha.agent}/{path}", headers=me).status_code == 200, path
        # A neighbour's home in the same tenant is as invisible as another tenant's.
        assert world.client.get(f"/api/v1/agents/{alpha.other_agent}/{path}", headers=me).status_code == 404
    assert world.client.get(f"/api/v1/subscribers/{alpha.subscriber}", headers=me).status_code == 200
    assert world.client.get(f"/api/v1/subscribers/{alpha.other_subscriber}", headers=me).status_code == 404
    # Staff-only views and actions.
    for method, path in (
        ("GET", f"/api/v1/agents/{alpha.agent}/telemetry"),
        ("GET", f"/api/v1/commands/{alpha.command}"),
        ("GET", "/api/v1/care/daily-list"),
        ("GET", "/api/v1/subscribers"),
        ("GET", "/api/v1/audit"),
    ):
        assert world.client.request(method, path, headers=me).status_code == 403, path
    ping = {"name": "ping", "params": {"host": "192.0.2.1"}}
    assert (
        world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=ping, headers=me).status_code == 403
    )
    # A pairing code for a new home of their own household.
    code = world.client.post(
        "/api/v1/pairing-codes", json={"subscriber_id": alpha.other_subscriber}, headers=me
    )
    assert code.status_code == 201


def test_audit_records_the_real_actor(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    ping = {"name": "ping", "params": {"host": "192.0.2.9"}}
    assert (
        world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=ping, headers=csr).status_code == 202
    )
    prefs = {"email": "home@example.org"}
    me = world.headers("alpha", "subscriber")
    assert (
        world.client.put(f"/api/v1/agents/{alpha.agent}/care/preferences", json=prefs, headers=me).status_code
        == 200
    )
    log = world.client.get("/api/v1/audit", headers=world.headers("alpha", "supervisor")).json()
    command = next(e for e in log if e["details"].get("params") == {"host": "192.0.2.9"})
    assert command["actor"] == "csr-alpha"
    assert command["actor_user_id"] == alpha.users["csr"]
    assert command["tenant_id"] == "alpha"
    preference = next(e for e in log if e["action"] == "care_preferences")
    assert (preference["actor"], preference["actor_user_id"]) == (
        "subscriber-alpha",
        alpha.users["subscriber"],
    )
    # The subscriber sees what was done on their home, and nothing of the neighbour's.
    theirs = world.client.get("/api/v1/me/audit", headers=me).json()
    assert {e["agent_id"] for e in theirs} == {alpha.agent}
    # Which role acted, never the staff login's name (a subscriber could lock that login out).
    assert any(
        e["actor"] == "support (csr)" and e["details"].get("params") == {"host": "192.0.2.9"} for e in theirs
    )
    assert not any("csr-alpha" in json.dumps(e) for e in theirs), theirs
    assert any(e["actor"] == "you" and e["action"] == "care_preferences" for e in theirs)
    # The CSR's own actions; beta's supervisor sees none of it.
    mine = world.client.get("/api/v1/me/audit", headers=csr).json()
    assert mine
    assert all(e["actor_user_id"] == alpha.users["csr"] for e in mine)
    beta_log = world.client.get("/api/v1/audit", headers=world.headers("beta", "supervisor")).json()
    assert beta_log
    assert all(e["tenant_id"] == "beta" for e in beta_log)
    # The platform operator's actions on a tenant's home land in that tenant's log.
    platform = world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=ping, headers=OPERATOR)
    assert platform.status_code == 202
    log = world.client.get("/api/v1/audit", headers=world.headers("alpha", "supervisor")).json()
    assert log[0]["actor"] == "operator"
    assert log[0]["actor_user_id"] is None


def _beta_state(world: World) -> dict[str, Any]:
    beta = world.ids["beta"]
    with world.sessions() as session:
        agents = session.scalars(select(Agent).where(Agent.tenant_id == "beta").order_by(Agent.id)).all()
        return {
            "agents": [(a.id, a.revoked, a.subscriber_id) for a in agents],
            "subscribers": sorted(
                session.execute(
                    select(Subscriber.id, Subscriber.name, Subscriber.tier, Subscriber.plan_id).where(
                        Subscriber.tenant_id == "beta"
                    )
                ).all()
            ),
            "users": sorted(
                session.execute(
                    select(User.id, User.role, User.disabled).where(User.tenant_id == "beta")
                ).all()
            ),
            "plans": sorted(
                session.execute(select(Plan.id, Plan.cap_bytes).where(Plan.tenant_id == "beta")).all()
            ),
            "commands": session.scalar(
                select(func.count())
                .select_from(CommandRecord)
                .where(CommandRecord.agent_id.in_([beta.agent, beta.other_agent, beta.spare_agent]))
            ),
            "audit": session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.tenant_id == "beta")
            ),
            "feedback": session.scalar(select(func.count()).select_from(CareFeedback)),
            "preferences": session.scalar(select(func.count()).select_from(CarePreference)),
            "usage_plans": session.scalar(
                select(func.count()).select_from(UsagePlan).where(UsagePlan.agent_id == beta.agent)
            ),
        }


def test_a_consent_commands_result_is_for_technicians(world: World) -> None:
    """A csr sees that a support bundle ran on a home, not what it returned."""
    alpha = world.ids["alpha"]
    now = datetime.now(UTC)
    with world.sessions.begin() as session:
        session.add(
            CommandRecord(
                id=uuid.uuid4().hex,
                agent_id=alpha.agent,
                name="support_bundle",
                params={},
                issued_by=alpha.username("technician"),
                issued_at=now,
                expires_at=now + timedelta(minutes=2),
                state="complete",
                status="Complete",
                result={"logs": "the home's recent log lines"},
                finished_at=now,
            )
        )
    path = f"/api/v1/agents/{alpha.agent}/commands"
    csr, technician = world.headers("alpha", "csr"), world.headers("alpha", "technician")
    as_csr = {c["name"]: c for c in world.client.get(path, headers=csr).json()}
    as_tech = {c["name"]: c for c in world.client.get(path, headers=technician).json()}
    assert as_csr["support_bundle"]["state"] == "complete" and as_csr["support_bundle"]["result"] is None
    assert as_csr["ping"]["result"] is not None, "routine results stay visible"
    assert as_tech["support_bundle"]["result"] == {"logs": "the home's recent log lines"}
