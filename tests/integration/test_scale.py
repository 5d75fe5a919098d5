"""Horizontal ingestion: several ingest processes share the agents' messages through an MQTT shared
subscription on mosquitto, on PostgreSQL; a worker SIGKILLed mid-stream loses and duplicates nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import AgentProcess, CloudProcess, Mosquitto, PostgresServer, assert_exactly_once, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_shared_ingest_workers(postgres: PostgresServer, mosquitto: Mosquitto, tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path, broker_url=mosquitto.url, db_url=postgres.new_database())
    cloud.env["HOMEDIAG_INGEST_SHARE_GROUP"] = "ingest"
    cloud.start()
    workers: list[subprocess.Popen[bytes]] = []

    def start_worker(i: int) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker{i}.log").open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cloud",
                    "--state-dir",
                    str(cloud.state_dir),
                    "--db",
                    cloud.db_url,
                    "ingest",
                    "--broker",
                    mosquitto.url,
                    "--share-group",
                    "ingest",
                ],
                stdout=log,
                stderr=log,
                env=cloud.env,
            )

    agents = [
        AgentProcess(tmp_path, name=f"agent{i}", probes={"netdev": {"interval_s": 0.05}}) for i in range(3)
    ]
    try:
        workers = [start_worker(0), start_worker(1)]
        for agent in agents:
            agent.enroll(cloud)
            agent.start()
        stored = lambda: sum(len(cloud.report_keys(a.agent_id)) for a in agents)  # noqa: E731
        wait_for(lambda: stored() > 200, 30, "ingest by three processes")
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        wait_for(lambda: stored() > 500, 60, "the remaining processes to carry on")
        workers[0] = start_worker(0)
        for agent in agents:
            agent.restart_quiet()
        total = sum(assert_exactly_once(cloud, agent, timeout=90) for agent in agents)
        handled_by_serve = cloud.get("/api/v1/ingest/stats")["stored"]
        assert 0 < handled_by_serve < total, "the load was shared, not handled by one process"
    finally:
        for agent in agents:
            agent.stop()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        cloud.stop()
