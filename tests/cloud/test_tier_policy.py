"""Remote assistance per subscriber tier is configuration: premium setup help is refused to a
standard household, and a tier's extra consent rule holds like the catalogue's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.config import TierRule
from cloud.storage import Subscriber
from tests.cloud.accounts_world import World, make_world

PRINTER: dict[str, object] = {
    "name": "add_printer",
    "params": {"uri": "ipp://10.0.0.20:631/ipp/print", "name": "office"},
}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)


def _send(world: World, agent: str, body: dict[str, object]) -> tuple[int, str]:
    reply = world.client.post(
        f"/api/v1/agents/{agent}/commands", json=body, headers=world.headers("alpha", "technician")
    )
    return reply.status_code, str(reply.json().get("detail", ""))


def test_premium_setup_is_refused_to_a_standard_household_and_audited(world: World) -> None:
    ids = world.ids["alpha"]
    code, detail = _send(world, ids.agent, PRINTER)  # consent is granted in this home; the tier is not
    assert code == 403 and "standard service" in detail
    with world.sessions.begin() as session:
        household = session.get(Subscriber, ids.subscriber)
        assert household is not None
        household.tier = "premium"
    code, detail = _send(world, ids.agent, PRINTER)
    assert code == 202, detail
    assert world.ingest.published.count(ids.agent) == 1  # only the allowed one went out
    audit = world.client.get(
        f"/api/v1/audit?agent_id={ids.agent}", headers=world.headers("alpha", "supervisor")
    )
    outcomes = [a["outcome"] for a in audit.json() if a["details"].get("name") == "add_printer"]
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "sent"]


def test_a_tier_can_ask_consent_for_more_than_the_catalogue(world: World) -> None:
    ids = world.ids["alpha"]
    policy = world.app.state.settings.tier_policy
    policy["standard"] = TierRule(consent=["discover"])
    code, detail = _send(world, ids.other_agent, {"name": "discover", "params": {}})  # no consent there
    assert code == 403 and "remote-assistance session" in detail
    code, _ = _send(world, ids.agent, {"name": "discover", "params": {}})  # consent granted there
    assert code == 202
