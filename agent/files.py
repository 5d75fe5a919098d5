"""Files in the agent's state directory, written so that a reader or a power cut never sees half.

A gateway loses power without warning. ``os.replace`` alone makes the new name atomic for readers,
but the data and the rename may still be in the page cache: after a crash the file can be empty or
the old one. So the data is fsynced before the rename, and the directory after it (the rename is an
entry of the directory; POSIX only, Windows has no directory handle to flush).

These are blocking calls: from the agent's loop, run them on an executor.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["fsync_directory", "write_atomic"]


def fsync_directory(path: Path) -> None:
    """Flush ``path``'s entries (a new or renamed file in it) to disk; nothing to do off POSIX."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: whole or not at all, and on disk when this returns.

    The temporary file has a name of its own, so two writers of one path (in two executor
    threads) never write into each other's; the last rename wins.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(path.parent)
