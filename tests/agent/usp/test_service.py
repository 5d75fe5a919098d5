"""The USP agent's edges: configuration, endpoint ID, records from the MTP, isolation when off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent import ConfigError, load_config
from agent.config import UspConfig
from agent.usp.schema import Msg, Record
from agent.usp.service import UspAgent, endpoint_id

from .helpers import AGENT_ID, CONTROLLER, FakeAgent, record, request


def test_usp_is_off_by_default_and_configured_per_agent(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("")
    assert load_config(path, environ={}).usp.enabled is False
    path.write_text(
        '[usp]\nenabled = true\nbroker_url = "mqtt://broker:1883"\ncontroller_endpoint_id = "self::c"\n'
        'controller_topic = "usp/controller/c"\n'
    )
    config = load_config(path, environ={"HOMEDIAG_AGENT_USP__CONTROLLER_ROLE": "Viewer"})
    assert (config.usp.enabled, config.usp.controller_role, config.usp.endpoint_id) == (True, "Viewer", "")


@pytest.mark.parametrize("text", ["[usp]\nenabled = true\n", "[usp]\nenabled = 'yes'\n", "[usp]\nport = 1\n"])
def test_bad_usp_configuration_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_endpoint_id_is_os_scheme_oui_and_serial() -> None:
    assert endpoint_id("a1b2-c3", "00D0B7") == "os::00D0B7-a1b2-c3"
    assert endpoint_id("a/b", "00D0B7") == "os::00D0B7-a%2Fb"
    with pytest.raises(ConfigError):
        endpoint_id("a1", "00d0b7")


def _usp(tmp_path: Path, **overrides: Any) -> UspAgent:
    fake = FakeAgent()
    settings: dict[str, Any] = {
        "enabled": True,
        "broker_url": "mqtt://127.0.0.1:1",
        "controller_endpoint_id": CONTROLLER,
        "controller_topic": "usp/controller/t",
    }
    config = UspConfig(**(settings | overrides))  # fmt: skip
    return UspAgent(
        config, endpoint=AGENT_ID, state_dir=tmp_path, device_info=fake.device_info(),
        inventory=fake.inventory, run=fake.run, consent=lambda: None,
    )  # fmt: skip


def test_a_usp_agent_needs_a_controller_and_a_role(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="controller_role"):
        _usp(tmp_path, controller_role="Root")
    with pytest.raises(ConfigError, match="broker_url"):
        _usp(tmp_path, broker_url="http://x")


async def test_records_from_the_mtp_are_answered_or_dropped_and_counted(tmp_path: Path) -> None:
    usp = _usp(tmp_path)
    published: list[tuple[bytes, str | None]] = []

    async def publish(data: bytes, topic: str | None = None) -> bool:
        published.append((data, topic))
        return True

    usp.mtp.publish = publish  # type: ignore[method-assign, assignment]
    for bad in (
        b"\x00garbage",
        record(request("get", param_paths=["Device."]), to_id="os::000000-other"),
        record(request("get", param_paths=["Device."]), from_id="self::stranger"),
        b"\x0a" * (70 * 1024),
    ):
        await usp.on_record(bad, "reply/here")
    assert usp.dropped == 4 and published == []
    await usp.on_record(record(request("get", param_paths=["Device.DeviceInfo."])), None)
    ((data, topic),) = published
    assert topic is None  # the MTP sends it to the configured controller topic
    answer = Msg.FromString(Record.FromString(data).no_session_context.payload)
    params = answer.body.response.get_resp.req_path_results[0].resolved_path_results[0].result_params
    assert params["SerialNumber"] == "agent-1"
    mqtt = usp.mqtt_client()
    assert mqtt.DroppedRecords == 4 and mqtt.ProtocolVersion == "5.0"


def test_nothing_of_usp_or_protobuf_is_imported_when_usp_is_off() -> None:
    code = (
        "import sys, json, agent, agent.runner, agent.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('agent.usp', 'google.protobuf')))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
