"""The ingest's counters, served at ``GET /api/v1/ingest/stats``: what arrived, what was stored,
and why each refused message was refused."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    batches: int = 0
    acks_sent: int = 0
    dropped_by_agents: int = 0
    #: Reports set aside (out of bounds, undecodable, or failing to store alone) and acknowledged.
    quarantined: int = 0
    #: Times the writer found the database down and backed off.
    store_retries: int = 0
    revoked_notices: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rejected": dict(self.rejected)}
