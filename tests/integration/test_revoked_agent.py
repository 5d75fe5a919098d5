"""Issue 17, finding 11: a revoked agent is told so, signed, stops sending, and says why."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import API_TOKEN, AgentProcess, CloudProcess, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _revoke(cloud: CloudProcess, agent_id: str) -> None:
    request = urllib.request.Request(
        f"{cloud.api_url}/api/v1/agents/{agent_id}/revoke",
        method="POST",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["revoked"] is True


def _refused(cloud: CloudProcess) -> int:
    return int(cloud.get("/api/v1/ingest/stats")["rejected"].get("revoked", 0))


@pytest.mark.parametrize("cloud", ["mosquitto"], indirect=True)  # the broker is not what is tested
def test_a_revoked_agent_stops_sending_and_says_why(cloud: CloudProcess, tmp_path: Path) -> None:
    # Reports every 0.3 s and re-sends every second: before the fix this made thousands of
    # refused messages a minute.
    agent = AgentProcess(
        tmp_path, probes={"netdev": {"interval_s": 0.3}}, link={"resend_after_s": 1.0, "reconnect_max_s": 0.5}
    )
    agent_id = agent.enroll(cloud)
    agent.start()
    try:
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 2, 30, "reports before revocation")
        _revoke(cloud, agent_id)
        # The running agent's status file is rewritten every 2 s: wait for one written after.
        status = wait_for(
            lambda: (s := agent.status()).get("revoked") and s["link"]["state"] == "revoked" and s,
            60,
            "the agent to hear it is revoked and say so",
        )
        assert "revoked" in status["revoked"]["reason"]
        assert "revoked" in agent.cli("status").stdout
        assert cloud.get("/api/v1/ingest/stats")["revoked_notices"] >= 1
        # From now on it sends nothing: the cloud's count of refused messages stands still.
        settled = _refused(cloud)
        time.sleep(5)  # several report and re-send intervals of this agent
        assert _refused(cloud) == settled
        # A restart keeps it quiet (the revocation is kept on disk for this identity).
        agent.stop()
        agent.start()
        wait_for(lambda: agent.status().get("running"), 30, "the agent to run again")
        time.sleep(3)
        assert _refused(cloud) == settled
        assert agent.status()["link"]["state"] == "revoked"
    finally:
        agent.stop()
