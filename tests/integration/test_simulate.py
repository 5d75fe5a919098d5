"""The fleet simulator enrolls real identities and its telemetry lands exactly once."""

from __future__ import annotations

import json

import pytest

from tests.support import CloudProcess

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
