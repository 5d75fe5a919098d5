"""A full disk under the agent's outbox, and under the cloud's database: no crash, no corruption,
recovery when space returns, and the gap reported rather than hidden.

Each process gets a small tmpfs in a private mount namespace (``unshare -m``), so nothing is mounted
in the host's namespace; the test fills and frees it through ``nsenter``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import AgentProcess, CloudProcess, Mosquitto, assert_exactly_once, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_root() -> None:
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("nsenter"):
        return
    reason = "needs root and util-linux unshare/nsenter for private tmpfs mounts"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: must run, not skip)")
    pytest.skip(reason)


def _on_tmpfs(directory: Path, size: str, argv: list[str]) -> list[str]:
    """argv run with ``directory`` replaced by a tmpfs of ``size`` holding a copy of its files."""
    saved = directory.with_name(directory.name + ".saved")
    shutil.copytree(directory, saved, dirs_exist_ok=True)
    script = (
        f"mount -t tmpfs -o size={size},mode=0700 tmpfs {shlex.quote(str(directory))}"
        f" && cp -a {shlex.quote(str(saved))}/. {shlex.quote(str(directory))}/"
        f" && exec {shlex.join(argv)}"
    )
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script]


def _fill(pid: int, directory: Path) -> None:
    subprocess.run(
        [
            "nsenter",
            "-t",
            str(pid),
            "-m",
            "--",
            "sh",
            "-c",
            f"dd if=/dev/zero of={shlex.quote(str(directory))}/filler bs=4k 2>/dev/null; true",
        ],
        check=True,
        timeout=30,
    )


def _outbox_meta(pid: int, path: Path) -> dict[str, Any]:
    """Read the outbox from inside the agent's mount namespace, where its tmpfs is."""
    code = (
        "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
        "meta = dict(db.execute('SELECT key, value FROM meta'));"
        "meta['integrity'] = db.execute('PRAGMA integrity_check').fetchone()[0]; print(json.dumps(meta))"
    )
    out = subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "--", sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return dict(json.loads(out.stdout))


def _query(pid: int, db_path: Path, sql: str, *args: str) -> list[list[Any]]:
    code = (
        "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
        "print(json.dumps([list(r) for r in db.execute(sys.argv[2], sys.argv[3:])]))"
    )
    out = subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "--", sys.executable, "-c", code, str(db_path), sql, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return list(json.loads(out.stdout))


def _free(pid: int, directory: Path) -> None:
    subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "--", "rm", "-f", str(directory / "filler")], check=True, timeout=30
    )


def test_agent_outbox_disk_full(cloud_on_mosquitto: CloudProcess, tmp_path: Path) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 0.1}})
    agent_id = agent.enroll(cloud)
    argv = [sys.executable, "-m", "agent", "--config", str(agent.config_path), "run"]
    with (tmp_path / "agent.log").open("ab") as log:
        proc = subprocess.Popen(_on_tmpfs(agent.state_dir, "2m", argv), stdout=log, stderr=log, env=agent.env)
    agent.proc = proc
    try:
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 5, 20, "reports before the disk fills")
        _fill(proc.pid, agent.state_dir)
        wait_for(
            lambda: "database or disk is full" in (tmp_path / "agent.log").read_text(),
            20,
            "the agent to hit the full disk",
        )
        time.sleep(2)
        assert proc.poll() is None, "the agent is still running on a full disk"
        _free(proc.pid, agent.state_dir)
        wait_for(
            lambda: cloud.get("/api/v1/ingest/stats")["dropped_by_agents"] > 0,
            20,
            "the gap to be reported to the cloud",
        )
        meta = _outbox_meta(proc.pid, agent.state_dir / "outbox.sqlite")
        assert meta["integrity"] == "ok"
        assert meta["dropped_total"] == cloud.get("/api/v1/ingest/stats")["dropped_by_agents"]
    finally:
        agent.stop()
    # Everything that was written is stored exactly once (the lost ones never got a sequence number).
    keys = cloud.report_keys(agent_id)
    seqs = [s for _, s in keys]
    assert seqs == list(range(1, len(seqs) + 1)), "no duplicates and no gap in stored sequence numbers"


def test_cloud_database_disk_full(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    cloud = CloudProcess(tmp_path, broker_url=broker.url)
    code = cloud.pairing_code()  # in the database before it moves onto the tmpfs
    db_dir = cloud.state_dir
    argv = [
        sys.executable,
        "-m",
        "cloud",
        "--state-dir",
        str(db_dir),
        "--db",
        cloud.db_url,
        "serve",
        "--port",
        str(cloud.api_port),
        "--broker",
        broker.url,
    ]
    with (tmp_path / "cloud.log").open("ab") as log:
        cloud.proc = subprocess.Popen(_on_tmpfs(db_dir, "8m", argv), stdout=log, stderr=log, env=cloud.env)
    wait_for(cloud._ready, 30, "the cloud on its tmpfs")
    # The database lives on the tmpfs inside the cloud's mount namespace: read it from in there.
    pid, db_path = cloud.proc.pid, cloud.db_path
    cloud.report_keys = lambda agent_id: [  # type: ignore[method-assign]
        (e, s)
        for e, s in _query(
            pid, db_path, "SELECT epoch, seq FROM reports WHERE agent_id = ? ORDER BY epoch, seq", agent_id
        )
    ]
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 0.1}})
    try:
        agent.cli("enroll", "--cloud", cloud.api_url, "--code", code)
        agent.start()
        wait_for(lambda: len(cloud.report_keys(agent.agent_id)) >= 5, 20, "reports before the disk fills")
        _fill(cloud.proc.pid, db_dir)
        wait_for(
            lambda: "database or disk is full" in (tmp_path / "cloud.log").read_text(),
            30,
            "the ingest to hit the full disk",
        )
        assert cloud.get("/healthz")["status"] == "ok", "the API still answers"
        assert agent.outbox()[1] > 0, "unacknowledged reports wait in the agent's outbox"
        _free(cloud.proc.pid, db_dir)
        agent.restart_quiet()
        assert_exactly_once(cloud, agent, timeout=60)
        assert _query(pid, db_path, "PRAGMA integrity_check") == [["ok"]]
    finally:
        agent.stop()
        cloud.stop()
        broker.stop()
