"""Whole-line usage against the kernel's own counters, across an agent restart (loopback only)."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import psutil
import pytest

from tests.support import AgentProcess, CloudProcess, wait_for

pytestmark = pytest.mark.broker
CHUNK = 64 * 1024
MARKER = b"PAYLOAD-MARKER-7f3a "


def _move_bytes(n: int) -> None:
    """Push n bytes through a TCP connection on 127.0.0.1 (counted by lo's counters twice: rx and tx)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        received = 0

        def sink() -> None:
            nonlocal received
            conn, _ = server.accept()
            with conn:
                while data := conn.recv(1 << 20):
                    received += len(data)

        thread = threading.Thread(target=sink)
        thread.start()
        with socket.create_connection(("127.0.0.1", port)) as client:
            payload = (MARKER * (CHUNK // len(MARKER) + 1))[:CHUNK]
            for _ in range(n // CHUNK):
                client.sendall(payload)
        thread.join(30)
    assert received == n // CHUNK * CHUNK


def _lo_rx() -> int:
    return int(psutil.net_io_counters(pernic=True)["lo"].bytes_recv)


def test_line_usage_matches_the_kernel_across_a_restart(
    cloud_on_mosquitto: CloudProcess, tmp_path: Path
) -> None:
    cloud = cloud_on_mosquitto
    agent = AgentProcess(tmp_path, probes={"usage": {"interval_s": 0.5, "interface": "lo"}})
    agent_id = agent.enroll(cloud)
    agent.start()
    try:
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}/usage")["bytes_rx"] > 0, 30, "usage to flow")
        before = _lo_rx()
        used_before = cloud.get(f"/api/v1/agents/{agent_id}/usage")["bytes_rx"]
        _move_bytes(20 * 1024 * 1024)
        agent.stop()  # the bytes moved while it is down are counted at its first reading after
        _move_bytes(20 * 1024 * 1024)
        agent.start()
        _move_bytes(10 * 1024 * 1024)
        kernel = _lo_rx() - before
        wait_for(
            lambda: cloud.get(f"/api/v1/agents/{agent_id}/usage")["bytes_rx"] - used_before >= kernel,
            30,
            "the cloud to count at least what the kernel did",
        )
        counted = cloud.get(f"/api/v1/agents/{agent_id}/usage")["bytes_rx"] - used_before
        # The agent's window is a little wider than ours (background MQTT chatter on lo): within 1%.
        assert counted == pytest.approx(kernel, rel=0.01)
        local = agent.cli("usage", "--json").stdout
        assert '"bytes_rx"' in local
    finally:
        agent.stop()
    # Privacy by default: metadata only. No payload byte and no address left the home.
    with cloud.db() as db:
        sent = "\n".join(
            row[0] for row in db.execute("SELECT body FROM reports WHERE agent_id = ?", (agent_id,))
        )
    assert MARKER.decode().strip() not in sent
    assert re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", sent) is None, "no IPv4 address in any report"
