"""The embedded MQTT broker (amqtt), so one command gives a working system.

It listens on loopback only by default; production deployments use Mosquitto or a
clustered broker through ``--broker`` (see docs/operations.md).
"""

from __future__ import annotations

import logging

from amqtt.broker import Broker

from .errors import BrokerError

_LOGGER = logging.getLogger(__name__)


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 10000}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._broker = Broker(config)

    async def start(self) -> None:
        try:
            await self._broker.start()
        except Exception as exc:  # amqtt raises its own and OS errors alike
            raise BrokerError(f"embedded broker could not listen on {self.host}:{self.port}: {exc}") from exc
        _LOGGER.info("embedded MQTT broker listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        await self._broker.shutdown()
