"""Named network namespaces: list, create, empty of processes, delete.

Deleting a namespace only unlinks its name: the kernel keeps it (with its veths and bridge) alive while
any process still runs inside it. So every process found by ``ip netns pids`` is killed first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Sequence

from .commands import ip_batch, run
from .const import NETNS_RE, POLL_INTERVAL_S
from .errors import CommandError


def list_netns() -> list[str]:
    out = run(["ip", "netns", "list"]).stdout
    # Lines look like "hd1a2b3c-pc (id: 3)" once the kernel has assigned an id.
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def lab_netns(prefix: str | None = None) -> list[str]:
    """Namespaces that follow the lab's naming scheme, optionally of one lab only."""
    found = []
    for name in list_netns():
        match = NETNS_RE.match(name)
        if match and (prefix is None or match.group(1) == prefix):
            found.append(name)
    return found


def add_netns(names: Sequence[str]) -> None:
    ip_batch([f"netns add {name}" for name in names])


def delete_netns(names: Iterable[str]) -> None:
    existing = set(list_netns())
    for name in names:
        if name in existing:
            with contextlib.suppress(CommandError):
                run(["ip", "netns", "delete", name])


def netns_pids(name: str) -> list[int]:
    done = run(["ip", "netns", "pids", name], check=False)
    return [int(tok) for tok in done.stdout.split() if tok.isdigit()]


def kill_pids(pids: Iterable[int], *, sig: signal.Signals = signal.SIGKILL) -> None:
    me = os.getpid()
    for pid in pids:
        if pid != me:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def wait_gone(pids: Iterable[int], timeout_s: float) -> list[int]:
    """Wait for processes to exit, reaping those that are our own children; return the survivors."""
    remaining = set(pids)
    deadline = time.monotonic() + timeout_s
    while remaining:
        for pid in list(remaining):
            if not _alive(pid):
                remaining.discard(pid)
        if not remaining or time.monotonic() > deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    return sorted(remaining)


def empty_netns(names: Iterable[str], *, timeout_s: float = 5.0) -> list[int]:
    """SIGKILL everything inside the namespaces, repeatedly (a dying parent may just have forked)."""
    survivors: list[int] = []
    deadline = time.monotonic() + timeout_s
    names = list(names)
    while time.monotonic() < deadline:
        pids = [pid for name in names for pid in netns_pids(name)]
        if not pids:
            return []
        kill_pids(pids)
        survivors = wait_gone(pids, max(0.0, deadline - time.monotonic()))
    return survivors


def _alive(pid: int) -> bool:
    """True while the process runs; a zombie counts as gone (it holds no namespace), reaped if ours."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The state follows the parenthesised command name, which may itself contain spaces.
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in (b"Z", b"X")
