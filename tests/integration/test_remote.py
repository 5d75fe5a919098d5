"""Remote diagnostics through the API: send, follow live, poll; refusals; consent; the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import AgentProcess, CloudProcess, wait_for

pytestmark = pytest.mark.broker


def _online(cloud: CloudProcess, agent_id: str) -> None:
    wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "the agent online")


def test_round_trip_with_progress_and_audit(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent_id = agent.enroll(cloud)
    agent.start()
    try:
        _online(cloud, agent_id)
        code, sent = cloud.post(
            f"/api/v1/agents/{agent_id}/commands", {"name": "run_probe", "params": {"probe": "netdev"}}
        )
        assert code == 202 and sent["state"] == "sent"
        events = cloud.events(f"/api/v1/commands/{sent['command_id']}/events")
        kinds = [(e, d["state"]) for e, d in events]
        assert kinds[-1] == ("result", "complete")
        assert ("state", "running") in kinds, "progress before the result"
        final = cloud.get(f"/api/v1/commands/{sent['command_id']}")
        assert final["status"] == "Complete"
        assert "lo" in [i["Name"] for i in final["result"]["data"]["Interface"]]

        refusals = {
            "shell": ({"name": "shell", "params": {"cmd": "id"}}, 422),
            "range": ({"name": "ping", "params": {"host": "10.213.0.1", "count": 10_000}}, 422),
            "extra": ({"name": "run_probe", "params": {"probe": "netdev", "then": "rm -rf /"}}, 422),
            "internal": ({"name": "trust_cloud_key", "params": {"public_key": "A" * 43}}, 422),
            "consent": ({"name": "support_bundle", "params": {}}, 403),
        }
        for body, expected in refusals.values():
            code, reply = cloud.post(f"/api/v1/agents/{agent_id}/commands", body)
            assert code == expected, reply
        # With consent granted on the device, the cloud vouches for it and the agent runs the command.
        agent.cli("consent", "grant", "--minutes", "10")
        wait_for(
            lambda: cloud.post(f"/api/v1/agents/{agent_id}/commands", {"name": "support_bundle"})[0] == 202,
            20,
            "the cloud to learn of the consent",
        )
        audit = cloud.get(f"/api/v1/audit?agent_id={agent_id}")
        outcomes = [a["outcome"] for a in reversed(audit)]
        assert outcomes[0] == "sent"
        assert sum(o.startswith("refused") for o in outcomes) >= len(refusals)
        ids = [a["details"].get("command_id") for a in audit if a["details"].get("command_id")]
        assert len(ids) == len(set(ids)), "each command audited exactly once"
        assert sent["command_id"] in ids
    finally:
        agent.stop()


def test_offline_agent_refused_or_waited_for(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent_id = agent.enroll(cloud)
    body = {"name": "run_probe", "params": {"probe": "netdev"}}
    code, reply = cloud.post(f"/api/v1/agents/{agent_id}/commands", body)
    assert code == 409 and "offline" in reply["detail"]
    code, queued = cloud.post(f"/api/v1/agents/{agent_id}/commands", {**body, "wait": True, "ttl_s": 120})
    assert code == 202 and queued["state"] == "queued"
    agent.start()
    try:
        final = wait_for(
            lambda: (c := cloud.get(f"/api/v1/commands/{queued['command_id']}"))["state"] == "complete" and c,
            30,
            "the queued command to run when the agent came back",
        )
        assert final["status"] == "Complete"
    finally:
        agent.stop()
