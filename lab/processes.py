"""The processes a lab started, so that teardown can stop them politely before killing what is left.

Each runs in a session of its own: Ctrl-C in the terminal reaches only the lab's owner, which then stops
the devices in order (an avahi-daemon that gets SIGTERM sends its mDNS goodbyes), instead of every
daemon dying at once from the same SIGINT.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from .const import POLL_INTERVAL_S, STOP_GRACE_S


class ProcessTable:
    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def add(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self._procs.append(proc)
        return proc

    def __len__(self) -> int:
        return len(self._procs)

    def stop(self, proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> int | None:
        _stop_all([proc], grace_s)
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)
        return proc.returncode

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        procs, self._procs = self._procs, []
        _stop_all(procs, grace_s)


def _stop_all(procs: list[subprocess.Popen[bytes]], grace_s: float) -> None:
    live = [p for p in procs if p.poll() is None]
    for proc in live:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(p.poll() is None for p in live) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
    for proc in live:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
    for proc in live:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
