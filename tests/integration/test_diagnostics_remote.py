"""A CSR's connectivity diagnostics through the real path: API -> signed command -> agent -> result.

Targets stay on loopback: the agent pings 127.0.0.1 and checks the cloud's own health URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import AgentProcess, CloudProcess, wait_for

pytestmark = pytest.mark.broker


def _run(cloud: CloudProcess, agent_id: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    code, sent = cloud.post(f"/api/v1/agents/{agent_id}/commands", {"name": name, "params": params})
    assert code == 202, sent
    cloud.events(f"/api/v1/commands/{sent['command_id']}/events")  # follows to the end
    final: dict[str, Any] = cloud.get(f"/api/v1/commands/{sent['command_id']}")
    return final


def test_ping_and_http_check_on_command(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent_id = agent.enroll(cloud)
    agent.start()
    try:
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "the agent online")
        ping = _run(cloud, agent_id, "ping", {"host": "127.0.0.1", "count": 3, "timeout_s": 1.0})
        assert ping["status"] == ping["result"]["Status"] == "Complete", ping
        assert ping["result"]["SuccessCount"] == 3 and ping["result"]["IPAddressUsed"] == "127.0.0.1"
        health = _run(cloud, agent_id, "http_check", {"url": f"{cloud.api_url}/healthz"})
        assert health["result"]["Status"] == "Complete", health
        assert health["result"]["HTTPStatusCode"] == 200 and health["result"]["TimeToFirstByte"] >= 0
    finally:
        agent.stop()
