"""An agent enrolls, runs and reports through a real broker; the API shows it; its last will
marks it offline."""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import AgentProcess, CloudProcess, Mosquitto, PostgresServer, assert_exactly_once, wait_for

pytestmark = pytest.mark.broker


def test_enroll_run_report_and_go_offline(cloud: CloudProcess, tmp_path: Path) -> None:
    agent = AgentProcess(tmp_path)
    agent_id = agent.enroll(cloud)
    agent.start()
    try:
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "the agent to be online")
        latest = wait_for(
            lambda: cloud.get(f"/api/v1/agents/{agent_id}/telemetry/latest")["probes"], 20, "telemetry"
        )
        netdev = latest["netdev"]
        assert netdev["status"] == "Complete"
        rows = {i["Name"]: i for i in netdev["data"]["Interface"]}
        assert "lo" in rows
        assert {"BytesSent", "BytesReceived", "PacketsSent"} <= set(rows["lo"]["Stats"])
        view = cloud.get(f"/api/v1/agents/{agent_id}")
        assert view["hostname"] and view["agent_version"] == "0.1.0"
        assert view["last_seen_at"] is not None
        status = wait_for(
            lambda: (s := agent.status())["running"] and s["link"]["state"] == "connected" and s,
            10,
            "status to show a connected link",
        )
        assert status["agent_id"] == agent_id
        assert status["link"]["connects"] >= 1
        assert status["probes"]["netdev"]["enabled"] is True
        # SIGKILL leaves no chance for a goodbye: the broker's last will must do it.
        agent.stop(signal.SIGKILL)
        wait_for(lambda: not cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "the last will")
        # A restarted agent comes back online and carries on with the same identity.
        agent.start()
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "online again")
        agent.stop(signal.SIGTERM)
        wait_for(lambda: not cloud.get(f"/api/v1/agents/{agent_id}")["online"], 10, "offline after SIGTERM")
    finally:
        agent.stop()
    assert agent.status()["link"] == {"state": "stopped"}


def test_pairing_code_is_single_use(cloud: CloudProcess, tmp_path: Path) -> None:
    code = cloud.pairing_code()
    first = AgentProcess(tmp_path, name="first")
    first.cli("enroll", "--cloud", cloud.api_url, "--code", code)
    second = AgentProcess(tmp_path, name="second")
    result = second.cli("enroll", "--cloud", cloud.api_url, "--code", code, check=False)
    assert result.returncode == 1
    assert "invalid, used or expired pairing code" in result.stderr
    assert not (second.state_dir / "enrollment.json").exists()


def test_api_requires_the_operator_token(cloud: CloudProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(cloud.api_url + "/api/v1/agents", timeout=5)
    assert info.value.code == 401
    info.value.close()
    assert "/api/v1/agents/{agent_id}/telemetry/latest" in cloud.get("/openapi.json")["paths"]


def test_on_postgresql_with_a_cloud_crash(
    postgres: PostgresServer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The same path with PostgreSQL as the store, through a SIGKILL of the cloud."""
    cloud = CloudProcess(tmp_path, broker_url=mosquitto.url, db_url=postgres.new_database())
    cloud.start()
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 0.1}})
    try:
        agent_id = agent.enroll(cloud)
        agent.start()
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 20, 20, "reports in PostgreSQL")
        cloud.stop(signal.SIGKILL)
        cloud.start()
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 60, 30, "reports after the crash")
        agent.restart_quiet()
        assert assert_exactly_once(cloud, agent) >= 60
        latest = cloud.get(f"/api/v1/agents/{agent_id}/telemetry/latest")["probes"]
        assert latest["netdev"]["status"] == "Complete"
    finally:
        agent.stop()
        cloud.stop()
