"""Nothing lost, nothing duplicated: broker outages, SIGKILLed agents and a SIGKILLed cloud."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support import AgentProcess, CloudProcess, SecureBroker, assert_exactly_once, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _stored(cloud: CloudProcess, agent: AgentProcess) -> int:
    return len(cloud.report_keys(agent.agent_id))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_secure_broker_down_for_60_seconds(tmp_path: Path, sig: signal.Signals) -> None:
    """mosquitto with mTLS and ACLs stopped (or killed) for 60 s while two agents report every second."""
    cloud = CloudProcess(tmp_path, broker_url="mqtts://placeholder:1")
    broker = SecureBroker(tmp_path, cloud)
    broker.start()
    agents = [AgentProcess(tmp_path, name=f"agent{i}") for i in range(2)]
    try:
        cloud.start()
        for agent in agents:
            agent.enroll(cloud)
            agent.start()
        wait_for(lambda: all(_stored(cloud, a) >= 3 for a in agents), 30, "first reports")
        broker.stop(sig)
        time.sleep(60)
        assert all(a.outbox()[1] >= 50 for a in agents), "the agents kept reports in their outboxes"
        assert cloud.get("/healthz")["status"] == "ok", "the cloud rode out the outage"
        broker.start()
        # The running agents reconnect by themselves and drain their backlog ...
        wait_for(lambda: all(a.outbox()[1] <= 5 for a in agents), 90, "the backlog to drain")
        # ... then, quiet, everything produced is stored exactly once.
        for agent in agents:
            agent.restart_quiet()
        for agent in agents:
            assert assert_exactly_once(cloud, agent, timeout=90) >= 63
    finally:
        for agent in agents:
            agent.stop()
        cloud.stop()
        broker.stop()


def test_agent_sigkill_mid_stream(secure: tuple[CloudProcess, SecureBroker], tmp_path: Path) -> None:
    cloud, _ = secure
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 0.05}})
    agent.enroll(cloud)
    try:
        for _ in range(3):
            target = agent.outbox()[2] + 20
            agent.start()
            wait_for(lambda: agent.outbox()[2] > target, 20, "reports to be produced")  # noqa: B023
            time.sleep(0.5)
            agent.stop(signal.SIGKILL)
        agent.restart_quiet()
        total = assert_exactly_once(cloud, agent)
    finally:
        agent.stop()
    assert total > 60


def test_cloud_sigkill_mid_batch(secure: tuple[CloudProcess, SecureBroker], tmp_path: Path) -> None:
    cloud, _ = secure
    agents = [
        AgentProcess(tmp_path, name=f"agent{i}", probes={"netdev": {"interval_s": 0.05}}) for i in range(3)
    ]
    for agent in agents:
        agent.enroll(cloud)
        agent.start()
    try:
        for _ in range(2):
            wait_for(lambda: all(_stored(cloud, a) > 50 for a in agents), 30, "ingest under load")
            cloud.stop(signal.SIGKILL)
            time.sleep(2)
            cloud.start()
        wait_for(lambda: all(_stored(cloud, a) > 150 for a in agents), 60, "ingest after the crashes")
        for agent in agents:
            agent.restart_quiet()
        for agent in agents:
            assert_exactly_once(cloud, agent)
    finally:
        for agent in agents:
            agent.stop()
        cloud.stop()
