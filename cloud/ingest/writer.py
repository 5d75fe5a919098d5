"""The writer: verified messages wait in a bounded queue and are stored in batches on the ingest's
one database thread while the loop keeps reading MQTT; each committed batch is acknowledged.

A database that does not answer is retried with back-off (loud once, then quiet until it
recovers), the batch kept; what waits is bounded by ``max_pending`` (beyond it a message is refused
unacknowledged, and its agent re-sends it later).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from sqlalchemy.orm import Session, sessionmaker

from protocol import Kind

from ..const import INGEST_MAX_PENDING, INGEST_RETRY_MAX_S, INGEST_RETRY_MIN_S
from ..errors import StoreUnavailable
from .acks import Downlink
from .incoming import Incoming
from .stats import IngestStats
from .store import store_or_set_aside

_LOGGER = logging.getLogger(__name__)


class Writer:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        db: Executor,
        downlink: Downlink,
        stats: IngestStats,
        batch_max: int = 500,
        batch_wait_s: float = 0.02,
        max_pending: int = INGEST_MAX_PENDING,
    ) -> None:
        self._sessions = sessions
        self._db = db
        self._downlink = downlink
        self._stats = stats
        self._batch_max = batch_max
        self._batch_wait_s = batch_wait_s
        self.max_pending = max_pending
        #: Verified messages in arrival order, not yet stored.
        self.pending: list[Incoming] = []
        self._has_pending = asyncio.Event()

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.max_pending

    def put(self, item: Incoming) -> None:
        self.pending.append(item)
        self._has_pending.set()

    async def run(self) -> None:
        """Store batches until cancelled."""
        loop = asyncio.get_running_loop()
        retry_s = INGEST_RETRY_MIN_S
        while True:
            await self._has_pending.wait()
            if len(self.pending) < self._batch_max:
                await asyncio.sleep(self._batch_wait_s)
            batch, self.pending = self.pending[: self._batch_max], self.pending[self._batch_max :]
            if not self.pending:
                self._has_pending.clear()
            try:
                outcome = await loop.run_in_executor(self._db, store_or_set_aside, self._sessions, batch)
            except StoreUnavailable as exc:
                # Nothing is acknowledged, so the agents re-send; keep the batch for a retry too
                # (the queue's bound limits what waits). Loud once, then quiet until it recovers.
                self._stats.store_retries += 1
                level = logging.WARNING if retry_s == INGEST_RETRY_MIN_S else logging.DEBUG
                _LOGGER.log(level, "the database does not answer (%s); retrying in %.0f s", exc, retry_s)
                self.pending[:0] = batch
                self._has_pending.set()
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, INGEST_RETRY_MAX_S)
                continue
            if retry_s != INGEST_RETRY_MIN_S:
                _LOGGER.warning("the database answers again; storing %d waiting messages", len(self.pending))
            retry_s = INGEST_RETRY_MIN_S
            self._stats.batches += 1
            self._stats.stored += outcome.stored
            self._stats.duplicates += outcome.duplicates
            self._stats.quarantined += outcome.quarantined
            self._stats.statuses += sum(1 for i in batch if i.envelope.kind is Kind.STATUS)
            await self._downlink.send_acks(outcome.acks)
            hellos = {i.envelope.agent for i in batch if i.envelope.kind is Kind.HELLO and not i.rejected}
            if hellos:
                await self._downlink.send_key_rotation(hellos)
                await self._downlink.send_queued_commands(hellos)
