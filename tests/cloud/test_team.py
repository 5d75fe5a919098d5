"""Team figures (issue 9): a supervisor sees what each person of their own tenant did, nobody else's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cloud.storage.assistance import CommandRecord
from tests.cloud.accounts_world import World, make_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)


def test_supervisor_sees_the_tenant_team(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    # Two commands by alpha's csr (one refused by role), one verdict on the daily list.
    sent = world.client.post(
        f"/api/v1/agents/{alpha.agent}/commands",
        json={"name": "ping", "params": {"host": "192.0.2.1"}},
        headers=csr,
    )
    assert sent.status_code == 202, sent.text
    # The agent answered 4 s after it was sent.
    with world.sessions.begin() as session:
        record = session.get(CommandRecord, sent.json()["command_id"])
        assert record is not None
        record.state, record.finished_at = "complete", record.issued_at + timedelta(seconds=4)
    refused = world.client.post(
        f"/api/v1/agents/{alpha.agent}/commands",
        json={"name": "ping", "params": {"host": "bad host!"}},
        headers=csr,
    )
    assert refused.status_code in (400, 422)
    verdict = world.client.post(
        f"/api/v1/care/daily-list/{alpha.entry}/feedback", json={"verdict": "confirmed"}, headers=csr
    )
    assert verdict.status_code == 201, verdict.text

    # The subscriber's own consent is theirs, not team work.
    subscriber = world.headers("alpha", "subscriber")
    consent = f"/api/v1/agents/{alpha.agent}/consent"
    granted = world.client.put(consent, json={"minutes": 30}, headers=subscriber)
    assert granted.status_code == 200, granted.text
    reply = world.client.get("/api/v1/team/figures?days=7", headers=world.headers("alpha", "supervisor"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["tenant_id"] == "alpha" and body["homes"] == 3
    people = {p["username"]: p for p in body["people"]}
    assert set(people) <= {alpha.username(role) for role in ("csr", "technician", "supervisor", "admin")}
    mine = people[alpha.username("csr")]
    # The seeded audit row, the command sent and the one refused (audited too); the verdict apart.
    assert mine["commands"] == 3 and mine["refused"] == 1, mine
    assert mine["verdicts"] == 1 and mine["homes"] == 1, mine
    assert mine["role"] == "csr"
    assert mine["completed"] == 1 and mine["median_result_s"] == 4.0, mine
    assert mine["actions"] == 4, mine  # seed, sent, refused, verdict

    beta = world.client.get("/api/v1/team/figures", headers=world.headers("beta", "supervisor")).json()
    assert all(p["username"].endswith("-beta") for p in beta["people"]), beta
    assert world.client.get("/api/v1/team/figures", headers=csr).status_code == 403
    assert (
        world.client.get("/api/v1/team/figures", headers=world.headers("alpha", "subscriber")).status_code
        == 403
    )
