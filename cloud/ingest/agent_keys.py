"""The enrolled agents' public keys, cached for verification.

A key is reloaded after ``KEY_CACHE_TTL_S`` so that a revocation made by another process (an API
worker) takes effect here too; an agent that is unknown or revoked is asked about again only after
``UNKNOWN_AGENT_RECHECK_S``, so a flood from one cannot become a flood of queries.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

import protocol
from protocol import Ed25519PublicKey

from ..const import KEY_CACHE_TTL_S, UNKNOWN_AGENT_RECHECK_S
from ..storage import Agent

#: Why an agent has no key to verify with (also the rejection counter's label).
NoKey = Literal["unknown_agent", "revoked"]
#: Beyond this many refused agents remembered, the memory starts again (a bound, not a policy).
_MAX_REMEMBERED = 100_000


class AgentKeyCache:
    def __init__(self, sessions: sessionmaker[Session], db: Executor) -> None:
        self._sessions = sessions
        self._db = db
        #: agent id -> (key, when loaded).
        self._keys: dict[str, tuple[Ed25519PublicKey, float]] = {}
        #: agent id -> (when refused, why).
        self._refused: dict[str, tuple[float, NoKey]] = {}

    async def key_for(self, agent_id: str) -> Ed25519PublicKey | NoKey:
        """The agent's key, or why there is none."""
        cached = self._keys.get(agent_id)
        if cached is not None and time.monotonic() - cached[1] < KEY_CACHE_TTL_S:
            return cached[0]
        refused = self._refused.get(agent_id)
        if refused is not None and time.monotonic() - refused[0] < UNKNOWN_AGENT_RECHECK_S:
            return refused[1]
        loop = asyncio.get_running_loop()
        row = await loop.run_in_executor(self._db, self._load, agent_id)
        if row is None or row[1]:
            reason: NoKey = "unknown_agent" if row is None else "revoked"
            self._keys.pop(agent_id, None)
            if len(self._refused) > _MAX_REMEMBERED:
                self._refused.clear()
            self._refused[agent_id] = (time.monotonic(), reason)
            return reason
        key = protocol.load_public_key(row[0])
        self._keys[agent_id] = (key, time.monotonic())
        return key

    def _load(self, agent_id: str) -> tuple[str, bool] | None:
        with self._sessions() as session:
            agent = session.get(Agent, agent_id)
            return None if agent is None else (agent.public_key, agent.revoked)

    def forget(self, agent_id: str) -> None:
        """Drop what is known of the agent (after revocation): the next message asks the database."""
        self._keys.pop(agent_id, None)
        self._refused.pop(agent_id, None)
