"""What the API may ask of the ingest it runs beside, as protocols: the API depends on these, not
on the MQTT session (``cloud/ingest/``), and tests hand it a fake that records what it would send.

:class:`cloud.ingest.Ingest` is both; ``cloud/api/deps.py`` serves them to routes (``PublisherDep``,
``MonitorDep``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class CommandPublisher(Protocol):
    """The downlink to agents, as the API uses it."""

    async def publish_command(self, agent_id: str, payload: bytes) -> bool:
        """Publish a command sealed for ``agent_id``; False when the broker is not connected."""
        ...

    def forget_agent(self, agent_id: str) -> None:
        """Stop trusting the agent's cached key at once (it was just revoked)."""
        ...


class IngestCounters(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class IngestMonitor(Protocol):
    """What ``GET /api/v1/ingest/stats`` reads: is the broker connected, and the counters."""

    @property
    def connected(self) -> asyncio.Event: ...

    @property
    def stats(self) -> IngestCounters: ...
