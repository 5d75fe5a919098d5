"""The local audit of every controller action, in the agent's state directory for the subscriber.

One JSON object a line (``usp-audit.jsonl``, mode 0644 like ``status.json``): when, which
controller, what it asked, and the outcome. Bounded: past :data:`AUDIT_MAX_BYTES` the file is
rotated once to ``.1``, so a chatty controller cannot fill the disk. Writes are blocking and run
off the loop; a failing disk is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from .const import AUDIT_FILE, AUDIT_MAX_BYTES

_LOGGER = logging.getLogger(__name__)


class Audit:
    def __init__(self, state_dir: Path, max_bytes: int = AUDIT_MAX_BYTES) -> None:
        self.path = state_dir / AUDIT_FILE
        self.max_bytes = max_bytes
        self.failures = 0
        self._lock = asyncio.Lock()

    async def record(self, controller: str, action: str, outcome: str, **details: Any) -> None:
        entry = {"at": time.time(), "controller": controller[:256], "action": action, "outcome": outcome}
        line = json.dumps(entry | details, separators=(",", ":"), default=str)[:4096] + "\n"
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                self.failures += 1
                _LOGGER.warning("cannot write the USP audit %s: %s", self.path, exc)

    def _append(self, line: str) -> None:
        try:
            if self.path.stat().st_size + len(line) > self.max_bytes:
                os.replace(self.path, self.path.with_suffix(".jsonl.1"))
        except FileNotFoundError:
            pass
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line)

    def read(self) -> list[dict[str, Any]]:
        """Every entry of the current file (for tests and a future ``homediag-agent`` command)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]
