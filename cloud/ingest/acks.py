"""The downlink: everything the cloud publishes to an agent, signed with the cloud's active key.

* acks, once a batch is committed (the agent deletes a report from its outbox only then);
* during a key rotation, to each agent that says hello: pin the next key, or drop the retired one;
* to each agent that says hello: the commands a CSR queued for it, and its usage plan;
* to a revoked agent: that it is refused for good (so it stops re-sending);
* for the API: a command a CSR sent (:meth:`Downlink.publish_command`).

A broker that is gone loses nothing here: an unsent ack means the agent re-sends and the duplicate
is acknowledged then; an unsent command is the API's to report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field

import aiomqtt
from sqlalchemy.orm import Session, sessionmaker

import protocol
from protocol import Ack, Channel, Revoked
from protocol.const import MAX_ACK_SEQS

from ..commands import seal_command, seal_plan
from ..const import REVOKED_NOTICE_INTERVAL_S
from ..keys import KeyRing
from ..remote import queued_for
from ..storage.usage import UsagePlan
from .stats import IngestStats

_LOGGER = logging.getLogger(__name__)

#: What an agent is told when it is revoked: shown on the gateway, so a sentence with a next step.
REVOKED_REASON = "this home's agent was revoked by its provider; enroll it again with a new code"


@dataclass(slots=True)
class AckPlan:
    """What one ack says for one ``(agent, epoch)``: the seqs stored (or already had), and those
    refused for good (quarantined)."""

    seqs: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)


class Downlink:
    """Publishes on the ingest's MQTT session; ``client`` is None while it is disconnected."""

    def __init__(
        self, *, sessions: sessionmaker[Session], keys: KeyRing, db: Executor, stats: IngestStats
    ) -> None:
        self.client: aiomqtt.Client | None = None
        self._sessions = sessions
        self._keys = keys
        self._db = db
        self._stats = stats
        self._told_revoked: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def send_acks(self, acks: Mapping[tuple[str, int], AckPlan]) -> None:
        client = self.client
        if client is None:
            return  # the agents will re-send; the duplicates are acknowledged then
        publishes = []
        signing_key = self._keys.get().active
        for (agent_id, epoch), plan in acks.items():
            for i in range(0, max(len(plan.seqs), len(plan.rejected)), MAX_ACK_SEQS):
                body = Ack(
                    epoch=epoch,
                    seqs=plan.seqs[i : i + MAX_ACK_SEQS],
                    rejected=plan.rejected[i : i + MAX_ACK_SEQS],
                )
                payload = protocol.seal(signing_key, agent=agent_id, body=body)
                publishes.append(client.publish(protocol.topic_for(agent_id, Channel.ACK), payload, qos=1))
        try:
            await asyncio.gather(*publishes)
            self._stats.acks_sent += len(publishes)
        except aiomqtt.MqttError as exc:
            _LOGGER.info("could not send acks: %s", exc)

    async def send_key_rotation(self, agent_ids: Iterable[str]) -> None:
        """During a key rotation every agent that says hello is told to pin the next key, or to
        drop the retired one (see cloud/keys.py)."""
        client = self.client
        keys = self._keys.get()
        if client is None or (keys.next is None and keys.retired is None):
            return
        commands = []
        if keys.next is not None:
            commands.append(("trust_cloud_key", protocol.public_key_text(keys.next)))
        if keys.retired is not None:
            commands.append(("retire_cloud_key", protocol.public_key_text(keys.retired)))
        try:
            for agent_id in agent_ids:
                for name, public_key in commands:
                    _, payload = seal_command(keys.active, agent_id, name, {"public_key": public_key})
                    await client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1)
        except aiomqtt.MqttError as exc:
            _LOGGER.info("could not send key rotation commands: %s", exc)

    async def send_queued_commands(self, agent_ids: Iterable[str]) -> None:
        """Commands a CSR asked to deliver when the agent came back: it just said hello."""
        client = self.client
        if client is None:
            return
        key = self._keys.get().active
        homes = list(agent_ids)

        def take() -> list[tuple[str, str, bytes]]:
            out = []
            with self._sessions.begin() as session:
                for agent_id in homes:
                    out += [(agent_id, cid, payload) for cid, payload in queued_for(session, agent_id, key)]
                    # The agent's copy of its plan, for cycle-to-date on the device itself.
                    plan = session.get(UsagePlan, agent_id)
                    if plan is not None:
                        sealed = seal_plan(
                            key,
                            agent_id,
                            cap_bytes=plan.cap_bytes,
                            cycle_start_day=plan.cycle_start_day,
                            timezone=plan.timezone,
                        )
                        out.append((agent_id, *sealed))
            return out

        loop = asyncio.get_running_loop()
        try:
            for agent_id, _, payload in await loop.run_in_executor(self._db, take):
                await client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1)
        except aiomqtt.MqttError as exc:
            _LOGGER.info("could not send queued commands: %s", exc)

    def tell_revoked(self, agent_id: str) -> None:
        """Say, signed, that the agent is refused for good, so it stops re-sending (at most once per
        REVOKED_NOTICE_INTERVAL_S for each agent: a revoked agent cannot make us amplify)."""
        now = time.monotonic()
        told = self._told_revoked.get(agent_id)
        client = self.client
        if client is None or (told is not None and now - told < REVOKED_NOTICE_INTERVAL_S):
            return
        if len(self._told_revoked) > 100_000:
            self._told_revoked.clear()
        self._told_revoked[agent_id] = now
        payload = protocol.seal(self._keys.get().active, agent=agent_id, body=Revoked(reason=REVOKED_REASON))

        async def publish() -> None:
            try:
                await client.publish(protocol.topic_for(agent_id, Channel.ACK), payload, qos=1)
                self._stats.revoked_notices += 1
            except aiomqtt.MqttError as exc:
                _LOGGER.info("could not tell agent %s it is revoked: %s", agent_id, exc)

        task = asyncio.create_task(publish(), name=f"revoked-{agent_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def publish_command(self, agent_id: str, payload: bytes) -> bool:
        """Publish a sealed command; False when the broker is not connected."""
        client = self.client
        if client is None:
            return False
        await client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1)
        return True
