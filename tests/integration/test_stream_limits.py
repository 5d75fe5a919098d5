"""Issue 17, finding 8, against a real cloud process: live command streams are bounded per login
(the extra ones get 429 with Retry-After), give their slot back when they end or the client leaves,
and never write: they keep working while another process holds the database's write lock, which a
poll that writes (as each poll did) waits on.

The commands go to an enrolled agent that is not running: nothing acts on them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cloud.const import COMMAND_STREAMS_PER_LOGIN
from tests.support import API_TOKEN, AgentProcess, CloudProcess, wait_for

pytestmark = pytest.mark.broker


class Stream:
    """One server-sent event stream, read in a thread until it ends."""

    def __init__(self, cloud: CloudProcess, command_id: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", cloud.api_port, timeout=60)
        self.connection.request(
            "GET", f"/api/v1/commands/{command_id}/events", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        self.response = self.connection.getresponse()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ended = threading.Event()
        self._thread: threading.Thread | None = None
        if self.response.status == 200:
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()

    def _read(self) -> None:
        event = ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line[6:])))
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by close()
        finally:
            self.ended.set()

    def close(self) -> None:
        """Leave as a browser tab does: the socket goes; the reader sees the end, then stops."""
        if self.connection.sock is not None:
            with contextlib.suppress(OSError):
                self.connection.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(10)
        self.connection.close()


def _queue(cloud: CloudProcess, agent_id: str, ttl_s: float) -> str:
    body = {"name": "run_probe", "params": {"probe": "netdev"}, "wait": True, "ttl_s": ttl_s}
    code, reply = cloud.post(f"/api/v1/agents/{agent_id}/commands", body)
    assert code == 202 and reply["state"] == "queued", reply
    return str(reply["command_id"])


@contextmanager
def _write_lock(cloud: CloudProcess) -> Iterator[None]:
    """Hold SQLite's write lock from another process's point of view, as a long write would."""
    db = sqlite3.connect(cloud.db_path, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()


def _accepted(cloud: CloudProcess, command_id: str) -> Stream | None:
    stream = Stream(cloud, command_id)
    if stream.response.status == 200:
        return stream
    stream.close()
    return None


def test_streams_are_bounded_read_only_and_give_their_slot_back(
    cloud_on_mosquitto: CloudProcess, tmp_path: Path
) -> None:
    cloud = cloud_on_mosquitto
    agent_id = AgentProcess(tmp_path).enroll(cloud)  # enrolled, never started
    waiting = [_queue(cloud, agent_id, ttl_s=600) for _ in range(COMMAND_STREAMS_PER_LOGIN + 1)]
    short = _queue(cloud, agent_id, ttl_s=5)

    streams: list[Stream] = []
    try:
        with _write_lock(cloud):
            # Opened and polled while nothing else may write: a stream that wrote would wait here.
            streams = [Stream(cloud, command_id) for command_id in waiting[:-1]]
            assert [s.response.status for s in streams] == [200] * len(streams)
            wait_for(lambda: all(s.events for s in streams), 20, "each stream's first event")
            assert {(s.events[0][0], s.events[0][1]["state"]) for s in streams} == {("state", "queued")}

            extra = Stream(cloud, waiting[-1])
            try:
                assert extra.response.status == 429
                assert int(extra.response.getheader("Retry-After") or 0) > 0
                detail = json.loads(extra.response.read())["detail"]
                assert "try again" in detail and "{" not in detail
            finally:
                extra.close()

            # A client that leaves gives its slot back; the command that expires meanwhile is
            # reported expired, and its stream ends, all while the lock is still held.
            streams.pop().close()
            follow = wait_for(lambda: _accepted(cloud, short), 20, "the slot of a client that left", 0.5)
            streams.append(follow)
            wait_for(follow.ended.is_set, 25, "the stream to report the command's expiry")
            assert follow.events[-1][0] == "result" and follow.events[-1][1]["state"] == "expired"
            assert not any(s.ended.is_set() for s in streams[:-1]), "the others are still held"
        # A stream that ended gave its slot back too.
        streams.append(
            wait_for(lambda: _accepted(cloud, waiting[-1]), 20, "the slot of an ended stream", 0.5)
        )
    finally:
        for stream in streams:
            stream.close()
