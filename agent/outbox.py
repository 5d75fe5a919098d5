"""Durable store-and-forward: a report leaves the outbox only when the cloud says it stored it.

Every report is sealed (signed) once, when it is put in, with the next sequence
number of this outbox's epoch; the exact bytes are what gets re-sent, so the
cloud's de-duplication on ``(agent, epoch, seq)`` makes delivery exactly-once.

Full-outbox policy: past ``max_messages`` or ``max_bytes`` the *oldest* reports
are discarded (fresh data is worth more to a CSR than week-old counters) and the
running total discarded in this epoch travels in every telemetry batch as
``dropped`` (a total, so the count survives the loss of any one report), and the
cloud can show the gap rather than hide it.

A full disk is survivable: a report that cannot be written is counted as
discarded in memory and the count joins the running total with the next report
that can be written, so the gap is reported, never hidden.

All methods are blocking SQLite calls; :class:`AsyncOutbox` runs them on one
dedicated thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ParamSpec, TypeVar

from protocol import Kind

from .errors import OutboxError

P = ParamSpec("P")
R = TypeVar("R")

#: build(epoch, seq, dropped_total) -> sealed payload
Builder = Callable[[int, int, int], bytes]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    sent_at REAL
);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    kind: Kind
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    epoch: int
    depth: int
    bytes: int
    inflight: int
    next_seq: int
    dropped_total: int


class Outbox:
    """The SQLite outbox. Not thread-safe: use it from one thread (see AsyncOutbox)."""

    def __init__(self, path: Path, *, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        #: Reports that could not be written at all (disk full), not yet in dropped_total.
        self.lost_unwritten = 0
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a report acknowledged to a probe survives power loss, not only a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            with self._tx():
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('epoch', ?), ('next_seq', 1), ('dropped_total', 0)",
                    (time.time_ns() // 1_000_000,),
                )
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> sqlite3.Connection:
        # sqlite3's connection context manager commits or rolls back; BEGIN IMMEDIATE
        # takes the write lock up front so a second process (status) never deadlocks us.
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    @property
    def epoch(self) -> int:
        return self._meta("epoch")

    def put(self, kind: Kind, build: Builder) -> int:
        """Seal and store one report; returns its sequence number."""
        try:
            with self._tx():
                if self.lost_unwritten:
                    self._set_meta("dropped_total", self._meta("dropped_total") + self.lost_unwritten)
                epoch, seq = self._meta("epoch"), self._meta("next_seq")
                dropped = self._meta("dropped_total") if kind is Kind.TELEMETRY else 0
                payload = build(epoch, seq, dropped)
                self._db.execute(
                    "INSERT INTO outbox (seq, kind, payload, size, created) VALUES (?, ?, ?, ?, ?)",
                    (seq, kind.value, payload, len(payload), time.time()),
                )
                self._set_meta("next_seq", seq + 1)
                self._enforce_bounds()
        except sqlite3.Error as exc:
            self.lost_unwritten += 1
            raise OutboxError(f"outbox write failed, report discarded: {exc}") from exc
        self.lost_unwritten = 0
        return seq

    def _enforce_bounds(self) -> None:
        count, size = self._db.execute("SELECT count(*), coalesce(sum(size), 0) FROM outbox").fetchone()
        excess = 0
        if count > self.max_messages:
            excess = count - self.max_messages
        if size > self.max_bytes:
            # Walk from the oldest until enough bytes are freed.
            freed, n = 0, 0
            for (row_size,) in self._db.execute("SELECT size FROM outbox ORDER BY seq"):
                if size - freed <= self.max_bytes:
                    break
                freed += row_size
                n += 1
            excess = max(excess, n)
        if excess:
            self._db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,)
            )
            self._set_meta("dropped_total", self._meta("dropped_total") + excess)

    def due(self, *, now: float, resend_after_s: float, max_inflight: int) -> list[Pending]:
        """Reports to send now: never sent, or sent and unacknowledged for too long."""
        stale = now - resend_after_s
        (inflight,) = self._db.execute(
            "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL AND sent_at >= ?", (stale,)
        ).fetchone()
        room = max_inflight - inflight
        if room <= 0:
            return []
        rows = self._db.execute(
            "SELECT seq, kind, payload FROM outbox WHERE sent_at IS NULL OR sent_at < ? ORDER BY seq LIMIT ?",
            (stale, room),
        ).fetchall()
        return [Pending(seq, Kind(kind), payload) for seq, kind, payload in rows]

    def mark_sent(self, seqs: Iterable[int], now: float) -> None:
        try:
            with self._tx():
                self._db.executemany("UPDATE outbox SET sent_at = ? WHERE seq = ?", [(now, s) for s in seqs])
        except sqlite3.Error as exc:
            # Not fatal: unmarked reports are simply sent again (the cloud de-duplicates).
            raise OutboxError(f"outbox update failed: {exc}") from exc

    def reset_sent(self) -> None:
        """After a reconnect everything unacknowledged is due again at once."""
        try:
            with self._tx():
                self._db.execute("UPDATE outbox SET sent_at = NULL")
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox update failed: {exc}") from exc

    def ack(self, epoch: int, seqs: Iterable[int]) -> int:
        """Remove acknowledged reports; acks for another epoch are stale and ignored."""
        try:
            if epoch != self.epoch:
                return 0
            with self._tx():
                cur = self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
                return cur.rowcount
        except sqlite3.Error as exc:
            # The reports stay and are sent again; the cloud acknowledges the duplicates.
            raise OutboxError(f"outbox delete failed: {exc}") from exc

    def has_pending(self, kind: Kind) -> bool:
        return (
            self._db.execute("SELECT 1 FROM outbox WHERE kind = ? LIMIT 1", (kind.value,)).fetchone()
            is not None
        )

    def stats(self, now: float | None = None, resend_after_s: float = 30.0) -> OutboxStats:
        stale = (time.time() if now is None else now) - resend_after_s
        depth, size, inflight = self._db.execute(
            "SELECT count(*), coalesce(sum(size), 0), "
            "coalesce(sum(sent_at IS NOT NULL AND sent_at >= ?), 0) FROM outbox",
            (stale,),
        ).fetchone()
        return OutboxStats(
            epoch=self._meta("epoch"),
            depth=depth,
            bytes=size,
            inflight=inflight,
            next_seq=self._meta("next_seq"),
            dropped_total=self._meta("dropped_total"),
        )


class AsyncOutbox:
    """Runs an :class:`Outbox` on a single worker thread (SQLite connections are thread-bound)."""

    def __init__(self, outbox: Outbox) -> None:
        self.sync = outbox
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")

    async def _call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def put(self, kind: Kind, build: Builder) -> int:
        return await self._call(self.sync.put, kind, build)

    async def due(self, *, now: float, resend_after_s: float, max_inflight: int) -> list[Pending]:
        return await self._call(
            self.sync.due, now=now, resend_after_s=resend_after_s, max_inflight=max_inflight
        )

    async def mark_sent(self, seqs: list[int], now: float) -> None:
        await self._call(self.sync.mark_sent, seqs, now)

    async def reset_sent(self) -> None:
        await self._call(self.sync.reset_sent)

    async def ack(self, epoch: int, seqs: list[int]) -> int:
        return await self._call(self.sync.ack, epoch, seqs)

    async def has_pending(self, kind: Kind) -> bool:
        return await self._call(self.sync.has_pending, kind)

    async def stats(self, resend_after_s: float) -> OutboxStats:
        return await self._call(self.sync.stats, None, resend_after_s)

    async def close(self) -> None:
        await self._call(self.sync.close)
        self._executor.shutdown(wait=True)
