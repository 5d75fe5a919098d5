"""The USP agent beside the homediag link: MTP in, records checked, Messages handled, answers out.

:func:`serve` is what the runner starts when ``[usp] enabled = true``; it never returns and never
raises, so whatever happens on the USP side (a broker away, a hostile controller, a bug here) the
agent's link to its cloud keeps working. Bad records are dropped and counted (logged loudly once,
then quietly), as TR-369 says.

The endpoint ID is ``os::<OUI>-<serial>`` (TR-369 section "Endpoint Identifier", authority scheme
``os``): the OUI is ``[usp] oui`` or, when empty, the first three octets of the lowest-named
network interface with a universally administered MAC address (the hardware maker's IEEE OUI, as
``Device.DeviceInfo.ManufacturerOUI`` is); the serial is the agent ID the cloud assigned at
enrollment, which is unique within an operator's fleet and never changes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from protocol import BrokerAddress
from protocol.catalogue import Params

from .. import consent as consent_store
from ..config import UspConfig
from ..consent import Consent
from ..const import AGENT_VERSION
from ..errors import ConfigError
from .audit import Audit
from .const import DEFAULT_VERSION, SUBSCRIPTIONS_FILE, VALUE_CHANGE_POLL_S
from .device import DeviceInfo, MQTTClient
from .errors import RecordDropped, UspError
from .handlers import Handlers
from .mtp import MqttMtp
from .records import decode_record, encode_record, error_msg
from .trust import Trust

if TYPE_CHECKING:
    from pathlib import Path

    from ..runner import Agent

_LOGGER = logging.getLogger(__name__)
_RETRY_S = 30.0


def host_oui() -> str:
    """The IEEE OUI of this host's first universally administered MAC, ``000000`` if none."""
    import psutil  # noqa: PLC0415 - already resident in the agent

    macs = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        for addr in addrs:
            if addr.family == psutil.AF_LINK and re.fullmatch(
                r"([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}", addr.address
            ):
                octets = addr.address.replace("-", ":").split(":")
                if octets != ["00"] * 6 and not int(octets[0], 16) & 0x02 and name != "lo":
                    macs.append("".join(octets[:3]).upper())
    return macs[0] if macs else "000000"


def endpoint_id(agent_id: str, oui: str) -> str:
    """``os::<OUI>-<serial>``; characters TR-369 does not allow in a serial are percent-encoded."""
    if not re.fullmatch(r"[0-9A-F]{6}", oui):
        raise ConfigError(f"usp.oui must be six upper-case hexadecimal digits, got {oui!r}")
    serial = "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02X}" for c in agent_id)
    return f"os::{oui}-{serial}"


class UspAgent:
    """One USP agent endpoint on one MQTT broker, answering one controller."""

    def __init__(
        self,
        config: UspConfig,
        *,
        endpoint: str,
        state_dir: Path,
        device_info: DeviceInfo,
        inventory: Callable[[], Mapping[str, Any]],
        run: Callable[[str, Params], Awaitable[dict[str, Any]]],
        consent: Callable[[], Consent | None],
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if not config.broker_url or not config.controller_endpoint_id or not config.controller_topic:
            raise ConfigError("[usp] needs broker_url, controller_endpoint_id and controller_topic")
        try:
            broker = BrokerAddress.parse(config.broker_url)
        except ValueError as exc:
            raise ConfigError(f"usp.broker_url: {exc}") from exc
        try:
            trust = Trust(config.controller_endpoint_id, config.controller_role, consent)
        except ValueError as exc:
            raise ConfigError(f"usp.controller_role: {exc}") from exc
        self.config = config
        self.endpoint = endpoint
        self._device_info = device_info
        self._inventory = inventory
        self._run = run
        self.dropped = 0
        self.mtp = MqttMtp(
            broker,
            endpoint,
            agent_topic=config.agent_topic or f"usp/agent/{endpoint}",
            controller_topic=config.controller_topic,
            on_record=self.on_record,
            on_connect=self._on_connect,
            keepalive_s=config.keepalive_s,
            # mqtts:// checks the broker against the system's trust store unless given a context.
            tls_context=(tls_context or ssl.create_default_context()) if broker.tls else None,
        )
        self.handlers = Handlers(
            endpoint, trust, self, Audit(state_dir), self._send_notify, store=state_dir / SUBSCRIPTIONS_FILE
        )
        #: Where the controller last asked to be answered (its Response Topic), for Notifies.
        self._controller_topic: str | None = None
        self._booted = False

    # -- AgentView -----------------------------------------------------------------------------

    def inventory(self) -> Mapping[str, Any]:
        return self._inventory()

    def device_info(self) -> DeviceInfo:
        return msgspec.structs.replace(
            self._device_info, UpTime=int(time.monotonic() - self.handlers.started)
        )

    def mqtt_client(self) -> MQTTClient:
        broker = self.mtp.broker
        return MQTTClient(
            Status="Connected" if self.mtp.connected.is_set() else "Connecting",
            BrokerAddress=broker.host,
            BrokerPort=broker.port,
            TransportProtocol="TLS" if broker.tls else "TCP/IP",
            ClientID=self.mtp.client_id,
            KeepAliveTime=self.config.keepalive_s,
            ResponseInformation=self.mtp.response_information,
            DroppedRecords=self.dropped,
        )

    async def run(self, catalogue_name: str, params: Params) -> dict[str, Any]:
        return await self._run(catalogue_name, params)

    # -- records -------------------------------------------------------------------------------

    async def on_record(self, data: bytes, response_topic: str | None) -> None:
        """One PUBLISH from the broker: checked, handled, answered. Never raises."""
        try:
            incoming = decode_record(data, self.endpoint)
            if not self.handlers.trust.knows(incoming.from_id):
                raise RecordDropped("record from an endpoint that is not this agent's controller")
        except RecordDropped as exc:
            self._drop(exc.message)
            return
        answer = await self.handlers.handle(incoming)
        self._controller_topic = response_topic or self._controller_topic
        if answer is None:
            return
        try:
            record = encode_record(
                answer, version=incoming.version, own_id=self.endpoint, to_id=incoming.from_id
            )
        except UspError as exc:
            record = encode_record(
                error_msg(incoming.msg_id, exc),
                version=incoming.version,
                own_id=self.endpoint,
                to_id=incoming.from_id,
            )
        await self.mtp.publish(record, response_topic)

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        level = logging.WARNING if self.dropped == 1 or self.dropped % 100 == 0 else logging.DEBUG
        _LOGGER.log(level, "USP record dropped: %s (%d so far)", reason, self.dropped)

    async def _send_notify(self, msg: Any, to_id: str) -> None:
        record = encode_record(msg, version=DEFAULT_VERSION, own_id=self.endpoint, to_id=to_id)
        if not await self.mtp.publish(record, self._controller_topic):
            raise UspError("not connected to the broker")

    async def _on_connect(self) -> None:
        if not self._booted:
            self._booted = True
            await self.handlers.boot()

    # -- running -------------------------------------------------------------------------------

    async def serve(self) -> None:
        watcher = asyncio.create_task(self._watch_values(), name="usp-value-change")
        try:
            await self.mtp.run()
        finally:
            watcher.cancel()
            await self.handlers.close()

    async def _watch_values(self) -> None:
        while True:
            await asyncio.sleep(VALUE_CHANGE_POLL_S)
            try:
                await self.handlers.check_value_changes()
            except Exception:  # a bug in one look must not end the watching
                _LOGGER.exception("USP value-change check failed")


def for_agent(agent: Agent) -> UspAgent:
    """The USP agent of a running homediag agent: its identity, inventory, engines and consent."""
    config = agent.config.usp
    oui = config.oui or host_oui()
    endpoint = config.endpoint_id or endpoint_id(agent.agent_id, oui)

    async def run(name: str, params: Params) -> dict[str, Any]:
        result: dict[str, Any] = await agent.commands.catalogue.get(name).handler(params)
        return result

    return UspAgent(
        config,
        endpoint=endpoint,
        state_dir=agent.config.state_dir,
        device_info=DeviceInfo(
            ManufacturerOUI=oui, SerialNumber=agent.agent_id, SoftwareVersion=AGENT_VERSION
        ),
        inventory=lambda: agent.last_data.get("discovery", {}),
        run=run,
        consent=lambda: consent_store.load(agent.config.state_dir),
    )


async def serve(agent: Agent) -> None:
    """Run the USP agent for ``agent`` forever; errors are logged and retried, never raised."""
    while True:
        try:
            usp = for_agent(agent)
        except ConfigError as exc:
            _LOGGER.error("USP agent not started: %s", exc)  # noqa: TRY400 - a sentence, no trace
            await asyncio.Event().wait()  # wrong configuration: wait for a restart, keep the link
        try:
            await usp.serve()
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("USP agent failed; restarting in %.0f s", _RETRY_S)
        await asyncio.sleep(_RETRY_S)
