"""The MQTT binding against a real mosquitto: what an agent's PUBLISH carries (TR-369 R-MQTT.22-27)
and where its answers go, with and without the controller's Response Topic."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.config import UspConfig
from agent.usp.schema import Msg, Record
from agent.usp.service import UspAgent
from tests.support import Mosquitto

from .helpers import AGENT_ID, CONTROLLER, FakeAgent, record, request

pytestmark = pytest.mark.broker

AGENT_TOPIC = "usp/agent/test"
CONTROLLER_TOPIC = "usp/controller/test"


async def test_answers_carry_the_binding_and_go_where_they_should(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    fake = FakeAgent()
    config = UspConfig(enabled=True, broker_url=mosquitto.url, controller_endpoint_id=CONTROLLER,
                       controller_topic=CONTROLLER_TOPIC, agent_topic=AGENT_TOPIC)  # fmt: skip
    usp = UspAgent(config, endpoint=AGENT_ID, state_dir=tmp_path, device_info=fake.device_info(),
                   inventory=fake.inventory, run=fake.run, consent=lambda: None)  # fmt: skip
    serving = asyncio.create_task(usp.serve())
    try:
        await asyncio.wait_for(usp.mtp.connected.wait(), 10)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5) as ctl:
            await ctl.subscribe(CONTROLLER_TOPIC, qos=1)
            await ctl.subscribe("usp/controller/elsewhere", qos=1)
            # usp-js style: no Response Topic -> the configured controller topic.
            await ctl.publish(
                AGENT_TOPIC, record(request("get", msg_id="A@1", param_paths=["Device."])), qos=1
            )
            # With a Response Topic -> that topic (R-MQTT.26).
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = "usp/controller/elsewhere"
            second = record(request("get", msg_id="B@1", param_paths=["Device."]))
            await ctl.publish(AGENT_TOPIC, second, qos=1, properties=props)
            seen: dict[str, tuple[str, int, object]] = {}
            async with asyncio.timeout(10):
                async for message in ctl.messages:
                    assert isinstance(message.payload, bytes)
                    msg = Msg.FromString(Record.FromString(message.payload).no_session_context.payload)
                    seen[msg.header.msg_id] = (str(message.topic), message.qos, message.properties)
                    if len(seen) == 2:
                        break
        topic, qos, properties = seen["A@1"]
        assert (topic, qos) == (CONTROLLER_TOPIC, 1)
        assert getattr(properties, "ContentType", None) == "usp.msg"
        assert getattr(properties, "ResponseTopic", None) == AGENT_TOPIC
        assert seen["B@1"][0] == "usp/controller/elsewhere"
        assert usp.mqtt_client().Status == "Connected" and usp.mtp.client_id.startswith("usp-")
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
