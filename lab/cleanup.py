"""Removing a lab completely, and sweeping up after runs that crashed or were killed.

Order matters: processes first (a namespace outlives its name while a process runs in it), then the
namespaces (which takes their veths and bridge with them), then the files under the state directory.
Mounts need no step of their own: the lab mounts only inside private mount namespaces of its processes,
which vanish with the last of those processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .const import LAB_ENV, NETNS_RE
from .errors import LabStateError
from .netns import delete_netns, empty_netns, kill_pids, lab_netns, wait_gone
from .state import lab_dir, list_records, remove_record, state_dir


@dataclass
class Removal:
    prefix: str
    namespaces: list[str] = field(default_factory=list)
    killed: int = 0
    survivors: list[int] = field(default_factory=list)


def marked_pids(prefix: str) -> list[int]:
    """Processes whose environment says they belong to this lab, wherever they run."""
    marker = f"{LAB_ENV}={prefix}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def remove_lab(prefix: str, namespaces: list[str] | None = None) -> Removal:
    """Kill, delete and unlink everything of one lab; safe to call twice or on a half-built lab."""
    names = sorted(set(namespaces or []) | set(lab_netns(prefix)))
    removal = Removal(prefix, names)
    strays = marked_pids(prefix)
    kill_pids(strays)
    removal.killed = len(strays)
    removal.survivors = wait_gone(strays, 2.0) + empty_netns(names)
    delete_netns(names)
    shutil.rmtree(lab_dir(prefix), ignore_errors=True)
    remove_record(prefix)
    return removal


def stale_prefixes() -> list[str]:
    """Labs whose owner is dead, and namespaces of our naming scheme that no live lab claims."""
    live: set[str] = set()
    stale: set[str] = set()
    for record in list_records():
        (live if record.owner_alive() else stale).add(record.prefix)
    for name in lab_netns():
        match = NETNS_RE.match(name)
        if match and match.group(1) not in live:
            stale.add(match.group(1))
    for path in state_dir().glob("hd*"):
        # A lab directory without record or namespace: a run killed between the two.
        if path.is_dir() and path.name not in live and not (state_dir() / f"{path.name}.json").exists():
            stale.add(path.name)
    return sorted(stale)


def sweep() -> list[Removal]:
    removals = []
    for prefix in stale_prefixes():
        try:
            removals.append(remove_lab(prefix))
        except LabStateError:
            continue
    return removals
