"""Nothing lost, nothing duplicated: broker outages, SIGKILLed agents and a SIGKILLed cloud."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support import AgentProcess, CloudProcess, Mosquitto, assert_exactly_once, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def broker(tmp_path: Path):
    mosquitto = Mosquitto(tmp_path)
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def cloud_on_mosquitto(tmp_path: Path, broker: Mosquitto):
    cloud = CloudProcess(tmp_path, broker_url=broker.url)
    cloud.start()
    yield cloud
    cloud.stop()


def _stored(cloud: CloudProcess, agent: AgentProcess) -> int:
    return len(cloud.report_keys(agent.agent_id))


def test_broker_outage_of_30_seconds(
    cloud_on_mosquitto: CloudProcess, broker: Mosquitto, tmp_path: Path
) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path)
    agent.enroll(cloud)
    agent.start()
    try:
        wait_for(lambda: _stored(cloud, agent) >= 3, 20, "first reports")
        broker.stop()
        time.sleep(30)
        _, queued, _ = agent.outbox()
        assert queued >= 25, "the agent kept producing reports into its outbox during the outage"
        broker.start()
        wait_for(lambda: agent.outbox()[1] <= 2, 60, "the backlog to drain after the outage")
        agent.restart_quiet()
        total = assert_exactly_once(cloud, agent)
    finally:
        agent.stop()
    assert total >= 33


def test_agent_sigkill_mid_stream(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
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


def test_cloud_sigkill_mid_batch(broker: Mosquitto, tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path, broker_url=broker.url)
    cloud.start()
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
