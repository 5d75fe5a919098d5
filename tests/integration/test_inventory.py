"""The home inventory end to end: the agent on the virtual home's PC, a real mosquitto and cloud
in its ISP namespace. Take the printer away: gone and offline with a reason; bring it back: online,
the same device."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import CLOUD_ADDRESS, Lab
from lab.model import Service
from tests.support import API_TOKEN, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.broker]

_GET = (
    "import sys, urllib.request\n"
    "body = sys.argv[3].encode() if len(sys.argv) > 3 else None\n"
    "headers = {'Authorization': 'Bearer ' + sys.argv[2], 'Content-Type': 'application/json'}\n"
    "r = urllib.request.Request(sys.argv[1], data=body, headers=headers)\n"
    "print(urllib.request.urlopen(r, timeout=5).read().decode())\n"
)


class LabCloud:
    """mosquitto and `homediag-cloud serve` inside the lab's ISP namespace, reachable from the home."""

    def __init__(self, home: Lab, workdir: Path) -> None:
        self.home, self.workdir = home, workdir
        port = random.randint(20000, 29000)
        self.api_port, self.broker_port = port, port + 1
        self.api_url = f"http://{CLOUD_ADDRESS}:{self.api_port}"
        self.db = f"sqlite:///{workdir / 'cloud.sqlite'}"
        self.base = [sys.executable, "-m", "cloud", "--state-dir", str(workdir / "cloud"), "--db", self.db]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
        self.env["HOMEDIAG_API_TOKEN"] = API_TOKEN
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.broker_port} {CLOUD_ADDRESS}\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nlog_dest stderr\nlog_type error\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        with (self.workdir / "mosquitto.log").open("ab") as log:
            self.procs.append(self.home.popen("isp", ["mosquitto", "-c", str(conf)], stdout=log, stderr=log))
        broker = f"mqtt://{CLOUD_ADDRESS}:{self.broker_port}"
        argv = [
            *self.base,
            "serve",
            "--host",
            CLOUD_ADDRESS,
            "--port",
            str(self.api_port),
            "--broker",
            broker,
        ]
        env = {**self.env, "HOMEDIAG_PUBLIC_BROKER_URL": broker}
        with (self.workdir / "cloud.log").open("ab") as log:
            self.procs.append(self.home.popen("isp", argv, stdout=log, stderr=log, env=env))
        wait_for(self._ready, 40, "the cloud in the ISP namespace")

    def _ready(self) -> bool:
        try:
            return bool(self.get("/api/v1/ingest/stats")["running"])
        except (AssertionError, ValueError):
            return False

    def get(self, path: str, body: dict[str, Any] | None = None) -> Any:
        argv = [sys.executable, "-c", _GET, self.api_url + path, API_TOKEN]
        done = self.home.exec("isp", argv + ([json.dumps(body)] if body else []), check=False)
        if done.returncode != 0:
            raise AssertionError(done.stderr[-300:])
        return json.loads(done.stdout)

    def pairing_code(self) -> str:
        argv = [*self.base, "pairing-code"]
        return subprocess.run(argv, capture_output=True, text=True, env=self.env, check=True).stdout.strip()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            self.home.stop(proc)


@pytest.fixture
def lab_cloud(home: Lab, tmp_path: Path) -> Iterator[LabCloud]:
    cloud = LabCloud(home, tmp_path)
    try:
        cloud.start()
        yield cloud
    finally:
        cloud.stop()


def command(cloud: LabCloud, agent_id: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    sent = cloud.get(f"/api/v1/agents/{agent_id}/commands", {"name": name, "params": params})
    path = f"/api/v1/commands/{sent['command_id']}"
    done: dict[str, Any] = wait_for(lambda: (c := cloud.get(path))["finished_at"] and c, 40, name)
    return done


def test_printer_taken_away_goes_offline_and_comes_back_as_the_same_device(
    home: Lab, lab_cloud: LabCloud, tmp_path: Path
) -> None:
    truth = home.describe()["hosts"]
    printer = next(n for n, h in truth.items() if Service.IPP_PRINTER.value in h["services"])
    printer_mac = truth[printer]["mac"]
    config = tmp_path / "agent.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "agent"}"\n[link]\nkeepalive_s = 2\nresend_after_s = 2.0\n'
        "reconnect_min_s = 0.2\nreconnect_max_s = 1.0\n"
        "[probes.discovery]\ninterval_s = 3.0\ntimeout_s = 1.5\n"
    )
    agent = [sys.executable, "-m", "agent", "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
    home.exec(
        "pc", [*agent, "enroll", "--cloud", lab_cloud.api_url, "--code", lab_cloud.pairing_code()], env=env
    )
    agent_id = json.loads((tmp_path / "agent" / "enrollment.json").read_text())["agent_id"]
    with (tmp_path / "agent.log").open("ab") as log:
        proc = home.popen("pc", [*agent, "run"], stdout=log, stderr=log, env=env)
    devices_path = f"/api/v1/agents/{agent_id}/devices"

    def printer_row() -> dict[str, Any] | None:
        rows = [d for d in lab_cloud.get(devices_path)["devices"] if d["PhysAddress"] == printer_mac]
        assert len(rows) <= 1, "one device per physical host"
        return rows[0] if rows else None

    try:
        row = wait_for(
            lambda: (r := printer_row()) and r["Active"] and r["printer_state"] == "online" and r,
            40,
            "the printer",
        )
        key = row["key"]
        assert row["kind"] == "printer" and row["printer"]["make_and_model"]
        # TR-181's types as the API reads them: one primary address, the tables, the interface.
        assert row["IPAddress"] == truth[printer]["address"] and row["IPv4Address"] == [row["IPAddress"]]
        assert row["InterfaceType"] == "Ethernet"
        assert row["Layer3Interface"].startswith("Device.IP.Interface.")
        first_change = row["ActiveLastChange"]
        assert first_change is not None
        ipp = next(s for s in row["services"] if s["Type"] == "_ipp._tcp")
        assert ipp["Target"].endswith(".local.") and ipp["TimeToLive"] > 0 and ipp["Status"] == "LeaseActive"
        assert {"Key": "rp", "Value": "ipp/print"} in ipp["TextRecord"]
        every = lab_cloud.get(devices_path)
        lan_macs = {h["mac"] for h in truth.values() if h["address"] and h["address"].startswith("10.213.0.")}
        assert {d["PhysAddress"] for d in every["devices"]} == lan_macs

        home.host_down(printer)
        row = wait_for(lambda: (r := printer_row()) and not r["Active"] and r, 30, "the printer to be gone")
        assert row["printer_state"] == "offline" and row["printer_reason"]
        assert row["ActiveLastChange"] > first_change, "when it was first missed"
        history = lab_cloud.get(f"{devices_path}/{key}")
        assert [e["event"] for e in history["events"]][:2] == ["printer_offline", "gone"]

        home.host_up(printer)
        row = wait_for(
            lambda: (r := printer_row()) and r["Active"] and r["printer_state"] == "online" and r,
            40,
            "the printer back",
        )
        assert row["key"] == key, "the same device"
        history = lab_cloud.get(f"{devices_path}/{key}")
        assert [e["event"] for e in history["events"]][:2] == ["printer_online", "back"]
        events = lab_cloud.get(f"{devices_path}/events")
        assert {"new", "gone", "back", "printer_offline", "printer_online"} <= {e["event"] for e in events}

        # A CSR asks for the printer now, and for a fresh discovery: the catalogue commands.
        check = command(lab_cloud, agent_id, "printer_check", {"uri": row["printer"]["uri"]})
        assert check["status"] == "Complete" and check["result"]["state"] in ("idle", "processing")
        found = command(lab_cloud, agent_id, "discover", {"timeout_s": 2})
        assert printer_mac in {d["mac"] for d in found["result"]["devices"]}
        public = command(lab_cloud, agent_id, "printer_check", {"uri": "ipp://8.8.8.8:631/ipp/print"})
        assert public["status"] == "Error_Refused", "printer_check asks home printers only"
    finally:
        home.host_up(printer)
        home.stop(proc)
