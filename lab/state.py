"""Who owns which lab: one JSON record per running lab, written before anything is built.

The record names the owner process (pid and start time, so a recycled pid is not mistaken for the owner)
and describes the home, so that ``homediag-lab status`` and ``down`` work from another process and
``sweep`` can tell a crashed run's leftovers from a lab that is still in use.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .const import PREFIX_RE, PREFIX_STEM, STATE_DIR, STATE_DIR_ENV
from .errors import LabStateError


def state_dir() -> Path:
    """The lab's directory under /tmp (never /run or /etc), created private to root."""
    path = Path(os.environ.get(STATE_DIR_ENV, STATE_DIR))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not path.is_dir() or path.is_symlink() or info.st_uid != os.geteuid():
        # /tmp is world-writable: refuse a directory someone else planted there.
        raise LabStateError(f"{path} is not a directory owned by uid {os.geteuid()}")
    return path


def lab_dir(prefix: str) -> Path:
    return state_dir() / prefix


def new_prefix() -> str:
    while True:
        prefix = f"{PREFIX_STEM}{secrets.token_hex(3)}"
        if not (state_dir() / f"{prefix}.json").exists():
            return prefix


def process_start_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])  # field 22 of proc(5), counted after the command name


@dataclass(frozen=True)
class LabRecord:
    prefix: str
    owner_pid: int
    owner_start: int | None
    created_at: float
    namespaces: tuple[str, ...]
    description: dict[str, Any] = field(default_factory=dict)

    def owner_alive(self) -> bool:
        start = process_start_ticks(self.owner_pid)
        return start is not None and start == self.owner_start

    @classmethod
    def for_this_process(
        cls, prefix: str, namespaces: tuple[str, ...], description: dict[str, Any]
    ) -> LabRecord:
        pid = os.getpid()
        return cls(prefix, pid, process_start_ticks(pid), time.time(), namespaces, description)


def record_path(prefix: str) -> Path:
    if not PREFIX_RE.match(prefix):
        raise LabStateError(f"{prefix!r} is not a lab prefix (hd + 6 hex digits)")
    return state_dir() / f"{prefix}.json"


def write_record(record: LabRecord) -> None:
    path = record_path(record.prefix)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2))
    tmp.replace(path)


def read_record(prefix: str) -> LabRecord:
    path = record_path(prefix)
    try:
        raw = json.loads(path.read_text())
        return LabRecord(
            prefix=str(raw["prefix"]),
            owner_pid=int(raw["owner_pid"]),
            owner_start=None if raw["owner_start"] is None else int(raw["owner_start"]),
            created_at=float(raw["created_at"]),
            namespaces=tuple(str(n) for n in raw["namespaces"]),
            description=dict(raw.get("description", {})),
        )
    except FileNotFoundError as exc:
        raise LabStateError(f"no lab {prefix} (no {path})") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabStateError(f"unreadable lab record {path}: {exc}") from exc


def list_records() -> list[LabRecord]:
    records = []
    for path in sorted(state_dir().glob("hd*.json")):
        with contextlib.suppress(LabStateError):
            records.append(read_record(path.stem))
    return records


def remove_record(prefix: str) -> None:
    record_path(prefix).unlink(missing_ok=True)
