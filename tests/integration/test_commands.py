"""Commands are an allowlist, signed, expiring and single-use, even when the agent's clock is off."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from cloud.commands import seal_command
from protocol import BrokerAddress, Channel
from tests.support import AgentProcess, CloudProcess, wait_for

pytestmark = pytest.mark.broker
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def _cloud_key(cloud: CloudProcess) -> protocol.Ed25519PrivateKey:
    return protocol.load_private_key_pem((cloud.state_dir / "cloud-key.pem").read_bytes())


def _publish(cloud: CloudProcess, agent_id: str, payload: bytes) -> None:
    address = BrokerAddress.parse(cloud.broker_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="csr-console")
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def _results(cloud: CloudProcess, agent_id: str, progress: bool = False) -> list[dict[str, Any]]:
    """The agent's command results in the order it sent them; without ``Running`` progress by default."""
    with cloud.db() as db:
        rows = db.execute(
            "SELECT body FROM reports WHERE agent_id = ? AND kind = 'result' ORDER BY seq", (agent_id,)
        ).fetchall()
    results = [json.loads(r[0]) for r in rows]
    return results if progress else [r for r in results if r["status"] != "Running"]


def _result_for(cloud: CloudProcess, agent_id: str, command_id: str) -> dict[str, Any]:
    result: dict[str, Any] = wait_for(
        lambda: next((r for r in _results(cloud, agent_id) if r["command_id"] == command_id), None),
        20,
        f"the result of {command_id}",
    )
    return result


def _started(cloud: CloudProcess, agent: AgentProcess) -> str:
    agent_id = agent.enroll(cloud)
    agent.start()
    # Acks carry the cloud's clock; the agent needs one before it can judge expiry by it.
    wait_for(lambda: len(cloud.report_keys(agent_id)) >= 2, 20, "reports and their acks")
    return agent_id


def test_command_checks(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent_id = _started(cloud, agent)
    key = _cloud_key(cloud)
    try:
        command_id, good = seal_command(key, agent_id, "run_probe", {"probe": "netdev"})
        _publish(cloud, agent_id, good)
        result = _result_for(cloud, agent_id, command_id)
        assert result["status"] == "Complete"
        assert result["data"]["probe"] == "netdev"
        # Progress arrives before the result.
        statuses = [
            r["status"] for r in _results(cloud, agent_id, progress=True) if r["command_id"] == command_id
        ]
        assert statuses == ["Running", "Complete"]
        assert "lo" in [i["Name"] for i in result["data"]["data"]["Interface"]]

        _publish(cloud, agent_id, good)  # the very same bytes again
        replays = wait_for(
            lambda: [r for r in _results(cloud, agent_id) if r["command_id"] == command_id][1:],
            20,
            "the replay",
        )
        assert [r["status"] for r in replays] == ["Error_Replay"]

        cases = {
            "Error_Expired": seal_command(
                key, agent_id, "run_probe", {"probe": "netdev"}, 60, now=time.time() - 600
            ),
            "Error_UnknownCommand": seal_command(key, agent_id, "shell", {"cmd": "rm -rf /"}),
            "Error_InvalidParameters": seal_command(
                key, agent_id, "run_probe", {"probe": "../../etc/passwd"}
            ),
            "Error_Refused": seal_command(key, agent_id, "run_probe", {"probe": "netdev"}, ttl_s=7200),
        }
        for expected, (cid, payload) in cases.items():
            _publish(cloud, agent_id, payload)
            assert _result_for(cloud, agent_id, cid)["status"] == expected

        # Tampered or foreign-signed commands are not even answered: nothing runs.
        cid, payload = seal_command(key, agent_id, "run_probe", {"probe": "netdev"})
        _publish(cloud, agent_id, payload.replace(b'"netdev"', b'"netdex"'))
        foreign_id, foreign = seal_command(
            protocol.generate_private_key(), agent_id, "run_probe", {"probe": "netdev"}
        )
        _publish(cloud, agent_id, foreign)
        # ... and a command for another agent, replayed to this one, fails the topic check.
        other_id, other = seal_command(key, "someone-else", "run_probe", {"probe": "netdev"})
        _publish(cloud, agent_id, other)
        wait_for(lambda: agent.status().get("link", {}).get("bad_downlink", 0) >= 3, 20, "three rejections")
        ids = {r["command_id"] for r in _results(cloud, agent_id)}
        assert not ids & {cid, foreign_id, other_id}
    finally:
        agent.stop()


@pytest.mark.skipif(not FAKETIME_LIB.exists(), reason="libfaketime (Debian: faketime) is not installed")
@pytest.mark.parametrize("skew", ["-2h", "+2h"])
def test_expired_commands_are_refused_despite_clock_skew(
    cloud: CloudProcess, tmp_path: Path, skew: str
) -> None:
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent.env.update(LD_PRELOAD=str(FAKETIME_LIB), FAKETIME=skew, FAKETIME_DONT_FAKE_MONOTONIC="1")
    agent_id = _started(cloud, agent)
    key = _cloud_key(cloud)
    try:
        offset = wait_for(lambda: agent.status().get("cloud_clock_offset_s"), 20, "a clock estimate")
        assert abs(abs(offset) - 7200) < 60, "the agent learnt the cloud's clock from signed acks"
        expired_id, expired = seal_command(
            key, agent_id, "run_probe", {"probe": "netdev"}, 300, now=time.time() - 900
        )
        fresh_id, fresh = seal_command(key, agent_id, "run_probe", {"probe": "netdev"}, 300)
        _publish(cloud, agent_id, expired)
        _publish(cloud, agent_id, fresh)
        assert _result_for(cloud, agent_id, expired_id)["status"] == "Error_Expired"
        assert _result_for(cloud, agent_id, fresh_id)["status"] == "Complete"
    finally:
        agent.stop()


def test_replay_is_refused_after_a_restart(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent_id = _started(cloud, agent)
    try:
        command_id, payload = seal_command(_cloud_key(cloud), agent_id, "run_probe", {"probe": "netdev"})
        _publish(cloud, agent_id, payload)
        assert _result_for(cloud, agent_id, command_id)["status"] == "Complete"
        agent.stop()
        agent.start()
        wait_for(lambda: agent.status().get("link", {}).get("state") == "connected", 20, "reconnect")
        _publish(cloud, agent_id, payload)
        wait_for(
            lambda: len([r for r in _results(cloud, agent_id) if r["command_id"] == command_id]) == 2,
            20,
            "the answer to the replay",
        )
        assert [r["status"] for r in _results(cloud, agent_id) if r["command_id"] == command_id] == [
            "Complete",
            "Error_Replay",
        ]
    finally:
        agent.stop()
    assert os.path.exists(agent.state_dir / "commands.sqlite")


def test_consent_commands_need_a_session(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 5}})
    agent_id = _started(cloud, agent)
    key = _cloud_key(cloud)

    def bundle(**kwargs: Any) -> dict[str, Any]:
        command_id, payload = seal_command(key, agent_id, "support_bundle", {}, **kwargs)
        _publish(cloud, agent_id, payload)
        return _result_for(cloud, agent_id, command_id)

    try:
        assert bundle()["status"] == "Error_ConsentRequired"
        # Granted on the device ...
        agent.cli("consent", "grant", "--minutes", "5")
        granted = bundle()
        assert granted["status"] == "Complete"
        assert granted["data"]["status"]["agent_id"] == agent_id
        assert any("running command support_bundle" in line for line in granted["data"]["log"])
        assert "PRIVATE KEY" not in json.dumps(granted), "no secrets in the bundle"
        # ... and revoked there: refused at once.
        agent.cli("consent", "revoke")
        assert bundle()["status"] == "Error_ConsentRequired"
        # Granted in the portal: the cloud vouches for the session inside the signed command; but
        # not in a command it sealed before the revoke here.
        assert (
            bundle(consent_until=time.time() + 300, now=time.time() - 30)["status"] == "Error_ConsentRequired"
        )
        assert bundle(consent_until=time.time() + 300)["status"] == "Complete"
        assert bundle(consent_until=time.time() - 1)["status"] == "Error_ConsentRequired"
    finally:
        agent.stop()
