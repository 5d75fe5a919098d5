"""Issue 19 acceptance: an independent USP controller drives the agent through a real MQTT 5 broker.

The controller is the npm package ``usp-js`` (maintained outside this project), run by
``tests/usp/controller.js`` in the ISP namespace; the broker is Debian's mosquitto there; the agent
runs on the home's PC, enrolled with the lab's cloud (its homediag link goes on working throughout),
with ``[usp]`` enabled by environment overrides. usp-js sends no Response Topic, so every answer
reaches it through the agent's configured controller topic.
"""

from __future__ import annotations

import json
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lab import CLOUD_ADDRESS, Lab
from lab.pytest_plugin import on_ci
from tests.tr181 import load_model, usp_deviations

from .stack import LabStack, lab_stack

pytestmark = pytest.mark.lab

USP_DIR = Path(__file__).resolve().parents[1] / "usp"
USP_PORT = 1884
CONTROLLER_ID = "self::homediag-test-controller"
CONTROLLER_TOPIC = "usp/controller/test"


def _require_controller() -> str:
    node = shutil.which("node")
    reason = ""
    if node is None:
        reason = "node is not installed (./dev test installs nodejs and npm as root)"
    elif not (USP_DIR / "node_modules" / "usp-js").is_dir():
        reason = "usp-js is not installed (./dev test runs npm ci --prefix tests/usp)"
    if reason:
        if on_ci():
            pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
        pytest.skip(reason)
    assert node is not None
    return node


def _broker(home: Lab, stack: LabStack) -> None:
    """mosquitto (MQTT 5 and 3.1.1) for USP, beside the cloud's own broker in the ISP namespace."""
    conf = stack.workdir / "usp-mosquitto.conf"
    conf.write_text(
        f"listener {USP_PORT} {CLOUD_ADDRESS}\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\nlog_type warning\nuser root\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with (stack.workdir / "usp-mosquitto.log").open("ab") as log:
        stack.procs.append(home.popen("isp", [binary, "-c", str(conf)], stdout=log, stderr=log))


def _lines(out: str) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            steps[entry["step"]] = entry
    return steps


def _start_agent(home: Lab, stack: LabStack) -> tuple[str, str]:
    oui = home.exec(
        "pc", [sys.executable, "-c", "from agent.usp.service import host_oui; print(host_oui())"]
    ).stdout.strip()
    env = {
        "HOMEDIAG_AGENT_USP__ENABLED": "true",
        "HOMEDIAG_AGENT_USP__BROKER_URL": f"mqtt://{CLOUD_ADDRESS}:{USP_PORT}",
        "HOMEDIAG_AGENT_USP__CONTROLLER_ENDPOINT_ID": CONTROLLER_ID,
        "HOMEDIAG_AGENT_USP__CONTROLLER_TOPIC": CONTROLLER_TOPIC,
    }
    probes = {"netdev": {"interval_s": 5}, "discovery": {"interval_s": 10, "timeout_s": 2}}
    agent_id = stack.agent("pc", probes, env=env)
    return agent_id, f"os::{oui}-{agent_id}"


def test_usp_js_drives_the_agent_over_mqtt5(clean_home: Lab, tmp_path: Path) -> None:
    home = clean_home  # the TV is unplugged below; clean_home plugs it back in
    node = _require_controller()
    printer = home.address("printer")
    with lab_stack(home, tmp_path / "stack") as stack:
        _broker(home, stack)
        agent_id, endpoint = _start_agent(home, stack)
        stack.wait("the agent online", lambda: stack.get(f"/api/v1/agents/{agent_id}")["online"])
        log = stack.workdir / "agent-pc.log"
        stack.wait("the USP agent connected", lambda: "USP agent" in log.read_text(), timeout_s=30)
        stack.wait("the first discovery", lambda: _discovered(stack), timeout_s=60)

        config = {
            "host": CLOUD_ADDRESS, "port": USP_PORT, "agentId": endpoint, "controllerId": CONTROLLER_ID,
            "agentTopic": f"usp/agent/{endpoint}", "controllerTopic": CONTROLLER_TOPIC,
            "pingHost": printer, "traceHost": CLOUD_ADDRESS,
        }  # fmt: skip
        done = home.exec("isp", [node, str(USP_DIR / "controller.js"), json.dumps(config)], timeout_s=180)
        steps = _lines(done.stdout)
        assert steps.get("done", {}).get("ok"), done.stdout + done.stderr

        assert steps["supportedProto"]["result"] == ["1.2", "1.3", "1.4"]

        (hosts,) = steps["getHosts"]["result"]
        by_address = {
            r["resultParams"].get("IPAddress"): r
            for r in hosts["resolvedPathResults"]
            if re.fullmatch(r"Device\.Hosts\.Host\.\d+\.", r["resolvedPath"])
        }
        assert printer in by_address, hosts
        assert by_address[printer]["resolvedPath"].startswith("Device.Hosts.Host.")
        assert by_address[printer]["resultParams"]["Active"] == "true"

        (dm,) = steps["supportedDM"]["result"]
        objects = {o["supportedObjPath"]: o for o in dm["supportedObjs"]}
        commands = {c["commandName"]: c for c in objects["Device.IP.Diagnostics."]["supportedCommands"]}
        assert {"IPPing()", "TraceRoute()"} <= set(commands)
        assert "Device.Hosts.Host.{i}." in objects and "Device.LocalAgent.Subscription.{i}." in objects

        assert steps["unknownPath"]["error"]["errCode"] == 7026

        ping = steps["ipping"]
        assert ping["ok"], ping
        out = ping["result"]
        assert out["Status"] == "Complete" and out["IPAddressUsed"] == printer
        assert out["SuccessCount"] == "3" and out["FailureCount"] == "0"
        # TR-181 unsignedInt milliseconds, as the model types them.
        for name in ("AverageResponseTime", "MinimumResponseTime", "MaximumResponseTime"):
            assert out[name].isdigit(), (name, out[name])
        assert out["X_HOMEDIAG-DEV_LossPercent"] == "0"
        # Every output is a model name of its type (or ours, prefixed), read as USP's text values.
        model = load_model()
        assert usp_deviations(model, "Device.IP.Diagnostics.IPPing()", _flat(out)) == []

        trace = steps["traceroute"]
        assert trace["ok"], trace
        route = trace["result"]
        assert route["Status"] == "Complete", route
        hops = route["RouteHops"]
        # The hop that answered last is the cloud itself, one hop past the home's gateway.
        assert hops[-1]["HostAddress"] == CLOUD_ADDRESS and len(hops) >= 2, hops
        assert all(t.isdigit() for hop in hops for t in hop["RTTimes"].split(",") if t)
        assert usp_deviations(model, "Device.IP.Diagnostics.TraceRoute()", _flat(route)) == []
        for row in hosts["resolvedPathResults"]:  # Device.Hosts.Host.3., ...Host.3.IPv4Address.1.
            where = re.sub(r"\.\d+\.", ".{i}.", row["resolvedPath"])
            assert usp_deviations(model, where, row["resultParams"]) == [], row

        assert steps["badArgument"]["error"]["errCode"] == 7004
        refused = steps["consentGated"]
        assert not refused["ok"] and refused["error"]["errCode"] == 7006, refused

        audit = [
            json.loads(line)
            for line in (stack.workdir / "agent-pc" / "usp-audit.jsonl").read_text().splitlines()
        ]
        operations = [(a.get("command"), a["outcome"]) for a in audit if a["action"] == "operate"]
        assert ("Device.IP.Diagnostics.IPPing()", "complete") in operations
        assert ("Device.IP.Diagnostics.TraceRoute()", "complete") in operations
        assert ("Device.X_HOMEDIAG-DEV_SupportBundle()", "refused") in operations
        assert all(a["controller"] == CONTROLLER_ID for a in audit)

        # ValueChange on Device.Hosts.Host.{i}.Active: the TV leaves, a subscribed controller hears it.
        tv_path = by_address[home.address("tv")]["resolvedPath"]
        watch = _watch(home, stack, node, config)
        assert watch.stdout is not None
        with watch.stdout:
            home.host_down("tv")
            changed = _read_steps(watch, "done", 150)["valueChange"]
        assert changed["ok"], changed
        assert changed["result"] == {"paramPath": f"{tv_path}Active", "paramValue": "false"}, changed

        # Garbage on the agent's topic is dropped; the homediag link is untouched.
        pub = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
        for payload in ("not a record", "\x0a\x03\xff\xff"):
            home.exec("isp", [pub, "-h", CLOUD_ADDRESS, "-p", str(USP_PORT), "-V", "mqttv5", "-q", "1",
                              "-t", f"usp/agent/{endpoint}", "-m", payload])  # fmt: skip
        stack.wait("the drop logged", lambda: "USP record dropped" in log.read_text(), timeout_s=20)
        code, sent = stack.post(
            f"/api/v1/agents/{agent_id}/commands", {"name": "ping", "params": {"host": printer}}
        )
        assert code == 202, sent
        stack.wait(
            "the cloud's ping answered",
            lambda: stack.get(f"/api/v1/commands/{sent['command_id']}")["state"] == "complete",
        )


def _flat(value: Any, prefix: str = "") -> dict[str, str]:
    """usp-js's parsed output arguments back to USP's names (``RouteHops.1.RTTimes``) and texts."""
    if isinstance(value, dict):
        return {k: v for name, item in value.items() for k, v in _flat(item, f"{prefix}{name}.").items()}
    if isinstance(value, list):
        return {k: v for n, item in enumerate(value, 1) for k, v in _flat(item, f"{prefix}{n}.").items()}
    return {prefix.removesuffix("."): str(value)}


def _discovered(stack: LabStack) -> bool:
    """True once a discovery run is done: its inventory is what Get serves as Device.Hosts."""
    status = json.loads((stack.workdir / "agent-pc" / "status.json").read_text())
    return bool((status["probes"].get("discovery") or {}).get("last"))


def _watch(home: Lab, stack: LabStack, node: str, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    """The controller in watch mode, once it has subscribed."""
    argv = [node, str(USP_DIR / "controller.js"), json.dumps(config | {"mode": "watch", "watchMs": 120_000})]
    with (stack.workdir / "usp-watch.log").open("ab") as log:
        proc = home.popen("isp", argv, stdout=subprocess.PIPE, stderr=log)
    stack.procs.append(proc)
    _read_steps(proc, "subscribed", 30)
    return proc


def _read_steps(proc: subprocess.Popen[bytes], until: str, timeout_s: float) -> dict[str, dict[str, Any]]:
    """The JSON lines ``proc`` prints, up to and including step ``until``."""
    assert proc.stdout is not None
    steps: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while until not in steps:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else b""
        if not line:
            raise AssertionError(f"the controller said nothing more before {until!r}: {steps}")
        if line.startswith(b"{"):
            entry = json.loads(line)
            steps[entry["step"]] = entry
    return steps
