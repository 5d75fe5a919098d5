"""The MQTT link to the cloud (aiomqtt over paho-mqtt).

One connection at a time, re-established with exponential back-off and jitter.
On every connect it subscribes to its acks and commands, publishes a retained
signed ``online`` status (the broker publishes the pre-signed ``offline`` last
will if we vanish), and re-sends everything still in the outbox: the outbox, not
the MQTT session, is what guarantees delivery, so the session is clean.

A signed ``revoked`` message from the cloud ends the link for good: the operator no longer
accepts this agent, and re-sending would only be refused (issue 17, finding 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeVar

import aiomqtt

import protocol
from protocol import (
    Ack,
    BrokerAddress,
    Channel,
    Ed25519PrivateKey,
    Ed25519PublicKey,
    Envelope,
    Kind,
    Revoked,
    Status,
)

from .clock import CloudClock
from .config import LinkConfig
from .errors import OutboxError
from .identity import TlsFiles
from .outbox import AsyncOutbox

_LOGGER = logging.getLogger(__name__)
_Body = TypeVar("_Body", Ack, Revoked)

CHANNEL_OF_KIND = {Kind.HELLO: Channel.HELLO, Kind.TELEMETRY: Channel.TELEMETRY, Kind.RESULT: Channel.RESULT}


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"
    #: The cloud said, signed, that it refuses this agent: nothing more is sent.
    REVOKED = "revoked"


@dataclass
class LinkCounters:
    connects: int = 0
    published: int = 0
    acked: int = 0
    bad_downlink: int = 0
    last_error: str = ""


CommandHandler = Callable[[Envelope], Awaitable[None]]
RevokedHandler = Callable[[Revoked, float], Awaitable[None]]


class Link:
    def __init__(
        self,
        *,
        agent_id: str,
        broker: BrokerAddress,
        key: Ed25519PrivateKey,
        cloud_keys: Callable[[], list[Ed25519PublicKey]],
        outbox: AsyncOutbox,
        config: LinkConfig,
        clock: CloudClock,
        tls: TlsFiles | None = None,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        on_command: CommandHandler | None = None,
        on_revoked: RevokedHandler | None = None,
        revoked: str | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.broker = broker
        self._key = key
        self._cloud_keys = cloud_keys
        self._clock = clock
        self._tls_files = tls
        self._outbox = outbox
        self._config = config
        self._on_connect = on_connect
        self._on_command = on_command
        self._on_revoked = on_revoked
        #: Why the cloud refuses this agent, once it said so (here or before a restart).
        self.revoked: str | None = revoked
        self.state = LinkState.REVOKED if revoked else LinkState.DISCONNECTED
        self.counters = LinkCounters()
        self._wake = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._session_start = 0.0
        self._status_topic = protocol.topic_for(agent_id, Channel.STATUS)

    def wake(self) -> None:
        """New reports are in the outbox: send now rather than at the next tick."""
        self._wake.set()

    def _status(self, state: Literal["online", "offline"], session: float) -> bytes:
        return protocol.seal(self._key, agent=self.agent_id, body=Status(state=state, session=session))

    def _tls_context(self) -> ssl.SSLContext | None:
        """Verify the broker with the configured CA, else the CA from enrollment, else the system's;
        present the client certificate from enrollment (mutual TLS) when there is one."""
        if not self.broker.tls:
            return None
        cafile = self._config.ca_file or (str(self._tls_files.ca) if self._tls_files else None)
        context = ssl.create_default_context(cafile=cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self._tls_files is not None:
            context.load_cert_chain(self._tls_files.cert, self._tls_files.key)
        return context

    async def run(self) -> None:
        """Stay connected until cancelled (or, once revoked, stay quiet until cancelled)."""
        delay = self._config.reconnect_min_s
        while True:
            if self.revoked is not None:
                self.state = LinkState.REVOKED
                await asyncio.Event().wait()
            self.state = LinkState.CONNECTING
            connected_at = time.monotonic()
            try:
                await self._session()
            except* aiomqtt.MqttError as group:
                self.counters.last_error = str(group.exceptions[0])
                _LOGGER.info("link to %s lost: %s", self.broker, group.exceptions[0])
            finally:
                self._client = None
                if self.revoked is not None:
                    self.state = LinkState.REVOKED
                elif self.state is not LinkState.STOPPED:
                    self.state = LinkState.DISCONNECTED
            if self.revoked is not None:
                continue  # no back-off: straight to the quiet state at the top
            if time.monotonic() - connected_at > 2 * self._config.reconnect_max_s:
                delay = self._config.reconnect_min_s
            # Full jitter (AWS architecture blog): a fleet that lost its broker
            # together must not come back together.
            await asyncio.sleep(random.uniform(self._config.reconnect_min_s, delay))  # noqa: S311
            delay = min(delay * 2, self._config.reconnect_max_s)

    async def _session(self) -> None:
        self._session_start = session = time.time()
        will = aiomqtt.Will(self._status_topic, self._status("offline", session), qos=1, retain=True)
        # Reads the CA bundle and the client certificate and key from disk: off the loop.
        tls_context = await asyncio.to_thread(self._tls_context)
        async with aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=self.agent_id,
            will=will,
            clean_session=True,
            keepalive=self._config.keepalive_s,
            timeout=max(10.0, self._config.keepalive_s),
            tls_context=tls_context,
            max_inflight_messages=self._config.max_inflight,
        ) as client:
            self._client = client
            self.state = LinkState.CONNECTED
            self.counters.connects += 1
            self._clock.reset()
            _LOGGER.info("connected to %s as %s", self.broker, self.agent_id)
            await client.subscribe(
                [
                    (protocol.topic_for(self.agent_id, Channel.ACK), 1),
                    (protocol.topic_for(self.agent_id, Channel.COMMAND), 1),
                ]
            )
            await client.publish(self._status_topic, self._status("online", session), qos=1, retain=True)
            with contextlib.suppress(OutboxError):  # a full disk: they are sent when due anyway
                await self._outbox.reset_sent()
            if self._on_connect is not None:
                await self._on_connect()
            async with asyncio.TaskGroup() as tasks:
                sender = tasks.create_task(self._send_loop(client))
                async for message in client.messages:
                    await self._on_message(message)
                    if self.revoked is not None:
                        sender.cancel()
                        break

    async def _send_loop(self, client: aiomqtt.Client) -> None:
        tick = max(0.2, min(5.0, self._config.resend_after_s / 4))
        while True:
            self._wake.clear()
            now = time.time()
            batch = await self._outbox.due(
                now=now, resend_after_s=self._config.resend_after_s, max_inflight=self._config.max_inflight
            )
            if batch:
                await asyncio.gather(
                    *(
                        client.publish(
                            protocol.topic_for(self.agent_id, CHANNEL_OF_KIND[p.kind]), p.payload, qos=1
                        )
                        for p in batch
                    )
                )
                self.counters.published += len(batch)
                try:
                    await self._outbox.mark_sent([p.seq for p in batch], now)
                except OutboxError as exc:
                    # Cannot record the send (disk full): wait rather than re-send in a tight loop.
                    self.counters.last_error = str(exc)
                    await asyncio.sleep(tick)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=tick)

    def _unseal(self, payload: bytes) -> Envelope:
        """Verify with each pinned cloud key (at most three, during a key rotation)."""
        error: protocol.ProtocolError = protocol.BadSignature("no pinned cloud key")
        for key in self._cloud_keys():
            try:
                return protocol.unseal(payload, key)
            except protocol.BadSignature as exc:
                error = exc
        raise error

    async def _on_message(self, message: aiomqtt.Message) -> None:
        try:
            topic = protocol.parse_topic(message.topic.value)
            envelope = self._unseal(bytes(message.payload))
            protocol.check_topic(envelope, topic)
        except protocol.ProtocolError as exc:
            self._refuse("a downlink message", exc)
            return
        if envelope.kind is Kind.ACK:
            ack = self._body(envelope, Ack, "an ack")
            if ack is not None:
                await self._on_ack(envelope, ack)
        elif envelope.kind is Kind.COMMAND and self._on_command is not None:
            await self._on_command(envelope)
        elif envelope.kind is Kind.REVOKED:
            revoked = self._body(envelope, Revoked, "a revocation")
            if revoked is not None:
                await self._on_revocation(envelope, revoked)

    def _refuse(self, what: str, exc: protocol.ProtocolError) -> None:
        """A downlink message that fails its checks is counted and logged, never acted on."""
        self.counters.bad_downlink += 1
        _LOGGER.warning("rejected %s (%s): %s", what, exc.reason, exc)

    def _body(self, envelope: Envelope, body_type: type[_Body], what: str) -> _Body | None:
        try:
            return protocol.decode_body(envelope, body_type)
        except protocol.ProtocolError as exc:
            self._refuse(what, exc)
            return None

    async def _on_ack(self, envelope: Envelope, ack: Ack) -> None:
        self._clock.observe(envelope.sent)
        try:
            removed = await self._outbox.ack(ack.epoch, [*ack.seqs, *ack.rejected])
        except OutboxError as exc:
            self.counters.last_error = str(exc)
            return
        self.counters.acked += removed
        if ack.rejected:
            _LOGGER.error("the cloud refused reports %s for good", ack.rejected[:20])
        self.wake()

    async def _on_revocation(self, envelope: Envelope, revoked: Revoked) -> None:
        self.revoked = revoked.reason
        self.state = LinkState.REVOKED
        _LOGGER.error("the cloud revoked this agent (%s); it stops sending", revoked.reason)
        if self._on_revoked is not None:
            await self._on_revoked(revoked, envelope.sent)

    async def stop(self) -> None:
        """Say goodbye: an explicit retained offline status (a clean disconnect sends no will)."""
        client = self._client
        self.state = LinkState.STOPPED
        if client is not None:
            try:
                await asyncio.wait_for(
                    client.publish(
                        self._status_topic, self._status("offline", self._session_start), qos=1, retain=True
                    ),
                    5,
                )
            except (aiomqtt.MqttError, TimeoutError) as exc:
                _LOGGER.info("could not publish offline status: %s", exc)
