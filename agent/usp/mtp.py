"""The MQTT Message Transfer Protocol (TR-369 section "MQTT Binding"), MQTT 5 over aiomqtt.

What the binding asks of an agent, and where it is done here:

- CONNECT carries the ``usp-endpoint-id`` user property (R-MQTT.13) and Request Response
  Information = 1 (R-MQTT.12); a Response Information in CONNACK becomes our "reply to" topic and
  the topic we subscribe to (R-MQTT.21), else the configured ``agent_topic``;
- every PUBLISH is QoS 1 with Content Type ``usp.msg`` (R-MQTT.27) and our Response Topic
  (R-MQTT.22/23);
- an answer goes to the request's Response Topic (R-MQTT.26); a controller that sends none
  (usp-js does not) is answered on the configured ``controller_topic``.

Reconnects back off with full jitter like the homediag link; this loop's failures are its own and
never reach the link's.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocol import BrokerAddress

from .const import CONTENT_TYPE, ENDPOINT_ID_PROPERTY

_LOGGER = logging.getLogger(__name__)

OnRecord = Callable[[bytes, str | None], Awaitable[None]]


class _Client(aiomqtt.Client):
    """aiomqtt's client, keeping the CONNACK properties it drops (Response Information)."""

    connack: Properties | None = None

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any = None
    ) -> None:
        self.connack = properties
        super()._on_connect(client, userdata, flags, reason_code, properties)


class MqttMtp:
    def __init__(
        self,
        broker: BrokerAddress,
        endpoint_id: str,
        *,
        agent_topic: str,
        controller_topic: str,
        on_record: OnRecord,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        keepalive_s: int = 30,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        tls_context: Any = None,
    ) -> None:
        self.broker = broker
        self.endpoint_id = endpoint_id
        self.agent_topic = agent_topic
        self.controller_topic = controller_topic
        self.reply_topic = agent_topic
        self.keepalive_s = keepalive_s
        self._on_record = on_record
        self._on_connect = on_connect
        self._min_s, self._max_s = reconnect_min_s, reconnect_max_s
        self._tls = tls_context
        self._client: _Client | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self.received = 0
        self.sent = 0
        self.response_information = ""

    @property
    def client_id(self) -> str:
        # R-MQTT.11: the same ClientId every time; MQTT allows 23 characters for sure, brokers more.
        return "usp-" + "".join(c for c in self.endpoint_id if c.isalnum())[-60:]

    async def run(self) -> None:
        """Connect, serve and reconnect until cancelled."""
        attempt = 0
        while True:
            try:
                await self._session()
                attempt = 0
            except aiomqtt.MqttError as exc:
                _LOGGER.warning("USP MQTT connection to %s: %s", self.broker, exc)
            finally:
                self.connected.clear()
                self._client = None
            attempt += 1
            await asyncio.sleep(random.uniform(0, min(self._max_s, self._min_s * 2**attempt)))  # noqa: S311

    async def _session(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.UserProperty = [(ENDPOINT_ID_PROPERTY, self.endpoint_id)]
        properties.RequestResponseInformation = 1
        client = _Client(
            self.broker.host,
            self.broker.port,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            properties=properties,
            keepalive=self.keepalive_s,
            tls_context=self._tls,
            timeout=10,
        )
        async with client:
            info = getattr(client.connack, "ResponseInformation", "") if client.connack else ""
            self.response_information = info or ""
            self.reply_topic = info or self.agent_topic
            await client.subscribe(self.reply_topic, qos=1)
            self._client = client
            self.connects += 1
            self.connected.set()
            _LOGGER.info("USP agent %s on %s, topic %s", self.endpoint_id, self.broker, self.reply_topic)
            if self._on_connect is not None:
                await self._on_connect()
            async for message in client.messages:
                self.received += 1
                payload = message.payload
                response_topic = (
                    getattr(message.properties, "ResponseTopic", None) if message.properties else None
                )
                await self._on_record(
                    bytes(payload) if isinstance(payload, bytes | bytearray) else b"", response_topic or None
                )

    async def publish(self, record: bytes, topic: str | None = None) -> bool:
        """Send a record to ``topic`` (the controller's topic when None); False when not connected."""
        client = self._client
        if client is None:
            return False
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ContentType = CONTENT_TYPE
        properties.ResponseTopic = self.reply_topic
        try:
            await client.publish(topic or self.controller_topic, record, qos=1, properties=properties)
        except aiomqtt.MqttError as exc:
            _LOGGER.warning("USP publish failed: %s", exc)
            return False
        self.sent += 1
        return True
