"""A network partition between the agent and the broker, inside the virtual home (issue 7's fault suite).

The broker and the cloud run in the ISP namespace, the agent on the PC. The gateway then *drops*
(not rejects) everything between them for PARTITION_S, long enough for TCP and MQTT keepalives to
give up on both sides; afterwards every report produced is in the database exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lab import CLOUD_ADDRESS, CLOUD_NAME, Lab
from tests.support import API_TOKEN, AgentProcess, CloudProcess, assert_exactly_once, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]

#: "Several minutes" in the issue; HOMEDIAG_TEST_PARTITION_S shortens it for local iteration only.
PARTITION_S = float(os.environ.get("HOMEDIAG_TEST_PARTITION_S", "150"))
_GET = (
    "import sys, urllib.request; r = urllib.request.Request(sys.argv[1], headers={'Authorization': "
    "'Bearer ' + sys.argv[2]}); print(urllib.request.urlopen(r, timeout=5).read().decode())"
)


class LabCloud(CloudProcess):
    """The cloud in the ISP namespace; its database file is still reachable from here."""

    def __init__(self, workdir: Path, home: Lab) -> None:
        super().__init__(workdir, broker_url=f"mqtt://{CLOUD_ADDRESS}:1883")
        self.home = home
        self.api_port = 8000

    @property
    def api_url(self) -> str:
        return f"http://{CLOUD_NAME}:{self.api_port}"

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "cloud",
            "--state-dir",
            str(self.state_dir),
            "--db",
            self.db_url,
            "serve",
            "--host",
            CLOUD_ADDRESS,
            "--port",
            str(self.api_port),
            "--broker",
            self.broker_url,
        ]
        with (self.workdir / "cloud.log").open("ab") as log:
            self.proc = self.home.popen("isp", argv, stdout=log, stderr=log, env=self.env)
        wait_for(self._ready, 30, "the cloud in the ISP namespace")

    def stop(self, sig: int = 15) -> None:
        if self.proc is not None:
            self.home.stop(self.proc)
            self.proc = None

    def get(self, path: str) -> Any:
        done = self.home.exec(
            "isp", [sys.executable, "-c", _GET, self.api_url + path, API_TOKEN], check=False, timeout_s=15
        )
        if done.returncode != 0:
            raise OSError(done.stderr[-300:])
        return json.loads(done.stdout)


def _gateway_drop(home: Lab, pc: str, on: bool) -> None:
    action = "-I" if on else "-D"
    for direction in ("-s", "-d"):
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                home.netns("gw"),
                "iptables",
                "-w",
                action,
                "FORWARD",
                direction,
                pc,
                "-j",
                "DROP",
            ],
            check=True,
            timeout=30,
        )


def test_partition_between_agent_and_broker(clean_home: Lab, tmp_path: Path) -> None:
    home = clean_home
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener 1883 {CLOUD_ADDRESS}\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nuser root\n"
    )
    with (tmp_path / "mosquitto.log").open("ab") as log:
        broker = home.popen("isp", ["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    cloud = LabCloud(tmp_path, home)
    agent = AgentProcess(tmp_path)
    pc = home.address("pc")
    try:
        cloud.start()
        code = cloud.pairing_code()
        home.exec(
            "pc",
            [
                sys.executable,
                "-m",
                "agent",
                "--config",
                str(agent.config_path),
                "enroll",
                "--cloud",
                cloud.api_url,
                "--code",
                code,
            ],
            env=agent.env,
        )
        with (tmp_path / "agent.log").open("ab") as log:
            agent.proc = home.popen(
                "pc",
                [sys.executable, "-m", "agent", "--config", str(agent.config_path), "run"],
                stdout=log,
                stderr=log,
                env=agent.env,
            )
        agent_id = agent.agent_id
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 3, 30, "reports through the gateway")
        _gateway_drop(home, pc, on=True)
        try:
            # Both sides notice: the broker publishes the agent's last will, the agent keeps reporting
            # into its outbox while its connection attempts vanish without an answer.
            wait_for(lambda: not cloud.get(f"/api/v1/agents/{agent_id}")["online"], 30, "the last will")
            time.sleep(PARTITION_S)
            assert agent.outbox()[1] >= PARTITION_S * 0.8, "reports kept in the outbox during the partition"
        finally:
            _gateway_drop(home, pc, on=False)
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 60, "the agent to come back")
        wait_for(lambda: agent.outbox()[1] <= 3, 60, "the backlog to drain")
        agent.stop()
        agent.env["HOMEDIAG_AGENT_PROBES__NETDEV__INTERVAL_S"] = "3600"
        with (tmp_path / "agent.log").open("ab") as log:
            agent.proc = home.popen(
                "pc",
                [sys.executable, "-m", "agent", "--config", str(agent.config_path), "run"],
                stdout=log,
                stderr=log,
                env=agent.env,
            )
        assert assert_exactly_once(cloud, agent, timeout=60) >= PARTITION_S
    finally:
        if agent.proc is not None:
            home.stop(agent.proc)
            agent.proc = None
        cloud.stop()
        home.stop(broker)
