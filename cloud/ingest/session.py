"""The ingest's MQTT session and the check of every uplink message, in this order:

1. size and topic (``homediag/v1/agent/{id}/{channel}``);
2. the agent is enrolled (else ``unknown_agent``) and not revoked (else ``revoked``, and it is told
   so, signed, once a minute at most);
3. the Ed25519 signature over the received bytes, with that agent's key;
4. the envelope names the topic's agent and the channel fits its kind;
5. the envelope and body decode within the contract's bounds (``protocol/limits.py``,
   ``protocol/samples.py``). A signed report that does not is set aside in the quarantine
   (``cloud/quarantine.py``) and acknowledged as *rejected*, so the agent stops re-sending it.

Each failure is counted by reason and logged (loudly the first time, quietly after, like
python-zeroconf's QuietLogger) without ever stopping the loop. What passes goes to the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aiomqtt
from sqlalchemy.orm import Session, sessionmaker

import protocol
from protocol import BrokerAddress, Channel, Envelope, Kind, Status, TelemetryBatch
from protocol.messages import CHANNEL_OF

from ..const import INGEST_MAX_PENDING
from ..keys import KeyRing
from .acks import Downlink
from .agent_keys import AgentKeyCache
from .incoming import REPORT_BODIES, Incoming, stand_in
from .stats import IngestStats
from .writer import Writer

_LOGGER = logging.getLogger(__name__)

UPLINK_CHANNELS = (Channel.HELLO, Channel.TELEMETRY, Channel.RESULT, Channel.STATUS)


@dataclass(frozen=True)
class TlsSettings:
    """How the ingest meets an ``mqtts://`` broker: the CA to trust, and its own client identity."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        return context


class Ingest:
    """MQTT -> verify -> store in batches -> acknowledge, on one loop and one database thread.

    Composes the key cache (``agent_keys``), the writer (``writer``, which stores through
    ``store``) and the downlink (``acks``); the API reaches the downlink through
    :meth:`publish_command` and :meth:`forget_agent` (``cloud.downlink.CommandPublisher``).
    """

    def __init__(
        self,
        *,
        broker: BrokerAddress,
        session_factory: sessionmaker[Session],
        keys: KeyRing,
        batch_max: int = 500,
        batch_wait_s: float = 0.02,
        share_group: str | None = None,
        client_id: str | None = None,
        tls: TlsSettings | None = None,
        max_pending: int = INGEST_MAX_PENDING,
    ) -> None:
        self.broker = broker
        self._tls = (tls or TlsSettings()).context() if broker.tls else None
        self._share_group = share_group
        self._client_id = client_id or f"homediag-ingest-{random.getrandbits(32):08x}"
        self.stats = IngestStats()
        self.connected = asyncio.Event()
        #: The one database thread: key lookups, batches and queued commands, in order.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-db")
        self._agent_keys = AgentKeyCache(session_factory, self._db)
        self._downlink = Downlink(sessions=session_factory, keys=keys, db=self._db, stats=self.stats)
        self._writer = Writer(
            sessions=session_factory,
            db=self._db,
            downlink=self._downlink,
            stats=self.stats,
            batch_max=batch_max,
            batch_wait_s=batch_wait_s,
            max_pending=max_pending,
        )
        self._logged_reasons: set[str] = set()
        self._dropped: dict[tuple[str, int], int] = {}

    # -- what the API asks of the ingest (cloud.downlink.CommandPublisher) ---------

    async def publish_command(self, agent_id: str, payload: bytes) -> bool:
        """Publish a sealed command; False when the broker is not connected."""
        return await self._downlink.publish_command(agent_id, payload)

    def forget_agent(self, agent_id: str) -> None:
        """Drop a cached key (after revocation)."""
        self._agent_keys.forget(agent_id)

    # -- verification -------------------------------------------------------------

    def _reject(self, reason: str, detail: str) -> None:
        self.stats.rejected[reason] += 1
        level = logging.DEBUG if reason in self._logged_reasons else logging.WARNING
        self._logged_reasons.add(reason)
        _LOGGER.log(level, "rejected a message (%s): %s", reason, detail)

    async def handle(self, topic: str, payload: bytes) -> None:
        """Verify one uplink message and queue it for storage, or count why not."""
        self.stats.received += 1
        if self._writer.full:
            # The database is behind or down: refuse unacknowledged (its agent re-sends later)
            # rather than grow without bound.
            self._reject("backlog", f"{len(self._writer.pending)} messages wait for the database")
            return
        try:
            parsed = protocol.parse_topic(topic)
            data, signature = protocol.split(payload)  # size and framing before any database work
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, str(exc))
            return
        key = await self._agent_keys.key_for(parsed.agent_id)
        if isinstance(key, str):
            self._reject(key, f"agent {parsed.agent_id}")
            if key == "revoked":
                self._downlink.tell_revoked(parsed.agent_id)
            return
        try:
            protocol.verify(key, signature, data)
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
            return
        try:
            envelope = protocol.decode_envelope(data)
            protocol.check_topic(envelope, parsed)
        except protocol.MalformedMessage as exc:
            self._refuse_signed(parsed, data, payload, exc)
            return
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
            return
        item = Incoming(envelope, None, payload=payload)
        try:
            if envelope.kind is Kind.STATUS:
                item.body = protocol.decode_body(envelope, Status)
            else:
                item.body = protocol.decode_body(envelope, REPORT_BODIES[envelope.kind])
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, f"from {parsed.agent_id} seq {envelope.seq}: {exc}")
            if envelope.kind is Kind.STATUS:
                return  # a status is not a report: nothing to quarantine or acknowledge
            item.rejected, item.reason, item.detail = True, exc.reason, str(exc)
        if isinstance(item.body, TelemetryBatch) and item.body.dropped:
            self._note_dropped(envelope, item.body.dropped)
        self._writer.put(item)

    def _refuse_signed(
        self, parsed: protocol.ParsedTopic, data: bytes, payload: bytes, exc: protocol.MalformedMessage
    ) -> None:
        """A report its agent signed whose envelope breaks the contract (a time past 2100, say):
        quarantined and acknowledged when its identity can be read, else only counted."""
        self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
        identity = protocol.peek_identity(data)
        if (
            identity is None
            or identity.agent != parsed.agent_id
            or identity.kind not in REPORT_BODIES
            or CHANNEL_OF[identity.kind] is not parsed.channel
        ):
            return
        self._writer.put(Incoming(stand_in(identity), None, True, payload, exc.reason, str(exc)))

    def _note_dropped(self, envelope: Envelope, total: int) -> None:
        key = (envelope.agent, envelope.epoch)
        known = self._dropped.get(key, 0)
        if total > known:
            self._dropped[key] = total
            self.stats.dropped_by_agents += total - known
            _LOGGER.warning("agent %s has discarded %d reports in all (outbox full)", envelope.agent, total)

    # -- connection ---------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer.run(), name="ingest-writer")
        delay = 0.5
        try:
            while True:
                try:
                    await self._session()
                except* aiomqtt.MqttError as group:
                    _LOGGER.warning("ingest lost the broker %s: %s", self.broker, group.exceptions[0])
                finally:
                    self._downlink.client = None
                    self.connected.clear()
                await asyncio.sleep(random.uniform(0.2, delay))  # noqa: S311 - jitter, not crypto
                delay = min(delay * 2, 10.0)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._db.shutdown(wait=True)

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=self._client_id,
            clean_session=True,
            keepalive=30,
            timeout=30,
            max_inflight_messages=1000,
            tls_context=self._tls,
        ) as client:
            await client.subscribe(
                [(protocol.subscription_for(ch, self._share_group), 1) for ch in UPLINK_CHANNELS]
            )
            self._downlink.client = client
            self.connected.set()
            _LOGGER.info("ingest subscribed on %s", self.broker)
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, bytes | bytearray):
                    await self.handle(message.topic.value, bytes(payload))
