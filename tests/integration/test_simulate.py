"""The fleet simulator enrolls real identities and its telemetry lands exactly once."""

from __future__ import annotations

import json

import pytest

from tests.support import CloudProcess, SecureBroker

pytestmark = pytest.mark.broker


def test_simulated_fleet(cloud_on_mosquitto: CloudProcess) -> None:
    cloud = cloud_on_mosquitto
    out = cloud.cli(
        "simulate",
        "--agents",
        "12",
        "--cloud",
        cloud.api_url,
        "--broker",
        cloud.broker_url,
        "--interval",
        "0.5",
        "--duration",
        "4",
    )
    stats = json.loads(out.splitlines()[-1])
    assert stats["homes"] == 12
    assert stats["acked"] == stats["sent"] >= 12 * 6
    agents = cloud.get("/api/v1/agents")
    assert len(agents) == 12
    with cloud.db() as db:
        (stored,) = db.execute("SELECT count(*) FROM reports").fetchone()
        (usage,) = db.execute("SELECT coalesce(sum(bytes_rx), 0) FROM usage_hours").fetchone()
    assert stored == stats["sent"], "every report stored once"
    assert usage > 0


def test_simulated_fleet_over_mutual_tls(secure: tuple[CloudProcess, SecureBroker]) -> None:
    """Each home presents the certificate the CA issued it at enrollment, as an agent does; the
    production broker (client certificates required, CN as user name, ACLs) lets them report."""
    cloud, broker = secure
    out = cloud.cli(
        "simulate",
        "--agents",
        "4",
        "--cloud",
        cloud.api_url,
        "--broker",
        broker.url,
        "--interval",
        "0.5",
        "--duration",
        "3",
    )
    stats = json.loads(out.splitlines()[-1])
    assert stats["homes"] == 4 and stats["failed"] == 0
    assert stats["acked"] == stats["sent"] >= 4 * 4
    with cloud.db() as db:
        (stored,) = db.execute("SELECT count(*) FROM reports").fetchone()
    assert stored == stats["sent"]
    agents = {a["agent_id"] for a in cloud.get("/api/v1/agents")}
    # The broker knew each home by its certificate's CN, the agent id (use_identity_as_username).
    log = broker.log()
    assert len(agents) == 4 and all(f"u'{agent}'" in log for agent in agents), log[-2000:]
