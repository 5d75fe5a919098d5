"""Nothing is left behind when a step fails or is cancelled: no child process, no open socket."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from agent.connectivity import icmp, wireless
from agent.discovery import arp, ssdp
from agent.discovery.arp import Attached


def _new_children(before: set[int]) -> list[psutil.Process]:
    alive = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.pid not in before and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[socket.socket]]:
    """Every socket opened through ``socket.socket`` during the test."""
    opened: list[socket.socket] = []

    class Tracked(socket.socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(socket, "socket", Tracked)
    yield opened
    for sock in opened:
        sock.close()


async def test_a_cancelled_sweep_kills_its_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text("import time\ntime.sleep(30)\n")
    monkeypatch.setattr(arp, "WORKER", worker)
    attached = Attached("lo", "10.0.0.1", ipaddress.IPv4Network("10.0.0.0/29"), "02:00:00:00:00:01")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    task = asyncio.create_task(arp.sweep(attached))
    await asyncio.sleep(0.5)
    assert _new_children(before), "the worker started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _new_children(before) == []


async def test_a_search_that_cannot_bind_closes_its_socket(sockets: list[socket.socket]) -> None:
    with pytest.raises(OSError):
        await ssdp.search(0.1, "192.0.2.1")  # TEST-NET-1: not ours, so bind fails before anything is sent
    udp = [s for s in sockets if s.type == socket.SOCK_DGRAM]
    assert udp and all(s.fileno() == -1 for s in udp)


def test_a_half_built_echo_socket_is_closed(sockets: list[socket.socket]) -> None:
    for method in (icmp.METHOD_RAW, icmp.METHOD_DGRAM):
        # Outside a running loop __init__ fails after the socket exists (or the host refuses it).
        with pytest.raises((RuntimeError, OSError)):
            icmp.EchoSocket(method, lambda _event: None)
    assert all(s.fileno() == -1 for s in sockets)


async def test_iw_that_hangs_is_killed(tmp_path: Path) -> None:
    iw = tmp_path / "iw"
    iw.write_text("#!/bin/sh\nexec sleep 30\n")
    iw.chmod(0o755)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await wireless._iw_link(str(iw), "wlan0", timeout_s=0.3) == ""
    assert loop.time() - started < 2
    assert _new_children(before) == []
