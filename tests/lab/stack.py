"""The whole product inside the virtual home: the cloud in the ISP namespace, agents on home hosts.

Both run as real processes (`python -m cloud`, `python -m agent`) inside the lab's namespaces, the
agent enrolling over HTTP by the cloud's name and reporting over MQTT through the gateway's NAT.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import CLOUD_ADDRESS, CLOUD_NAME, Lab, LabError

API_PORT, BROKER_PORT = 8000, 1883
_GET = (
    "import sys, urllib.request; r = urllib.request.Request(sys.argv[1], headers={'Authorization': "
    "'Bearer ' + sys.argv[2]}); print(urllib.request.urlopen(r, timeout=5).read().decode())"
)

_POST = """
import sys, urllib.error, urllib.request
r = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method=sys.argv[4], headers={
    "Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(r, timeout=10) as reply:
        print(reply.status); print(reply.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"""

_EVENTS = """
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
event = ""
with urllib.request.urlopen(r, timeout=100) as stream:
    for raw in stream:
        line = raw.decode().rstrip("\\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            print(event, line[6:])
"""


@dataclass
class LabStack:
    home: Lab
    workdir: Path
    token: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://{CLOUD_NAME}:{API_PORT}"

    def cloud_cmd(self) -> list[str]:
        return [sys.executable, "-m", "cloud", "--state-dir", str(self.workdir / "cloud")]

    def get(self, path: str) -> Any:
        done = self.home.exec("isp", [sys.executable, "-c", _GET, self.api + path, self.token], timeout_s=15)
        return json.loads(done.stdout)

    def agent(self, host: str, probes: dict[str, dict[str, Any]], env: dict[str, str] | None = None) -> str:
        """Enroll and start an agent on ``host`` with these probes; returns its id."""
        state = self.workdir / f"agent-{host}"
        config = [f'state_dir = "{state}"', "[link]", "keepalive_s = 10"]
        for probe, options in probes.items():
            config += [f"[probes.{probe}]", *(f"{k} = {json.dumps(v)}" for k, v in options.items())]
        (self.workdir / f"{host}.toml").write_text("\n".join(config) + "\n")
        env = {**(env or {}), "HOMEDIAG_AGENT_CONFIG": str(self.workdir / f"{host}.toml")}
        code = subprocess.run(
            [*self.cloud_cmd(), "pairing-code"], capture_output=True, text=True, check=True
        ).stdout.strip()
        argv = [sys.executable, "-m", "agent", "--state-dir", str(state)]
        self.home.exec(host, [*argv, "enroll", "--cloud", self.api, "--code", code], env=env, timeout_s=60)
        with (self.workdir / f"agent-{host}.log").open("ab") as log:
            self.procs.append(self.home.popen(host, [*argv, "run"], stdout=log, stderr=log, env=env))
        return str(json.loads((state / "enrollment.json").read_text())["agent_id"])

    def agent_cli(self, host: str, *args: str) -> str:
        argv = [sys.executable, "-m", "agent", "--state-dir", str(self.workdir / f"agent-{host}"), *args]
        return self.home.exec(host, argv, timeout_s=30).stdout

    def post(self, path: str, body: dict[str, Any], method: str = "POST") -> tuple[int, Any]:
        """POST (or ``method``) JSON from inside the ISP namespace; (status, reply)."""
        argv = [sys.executable, "-c", _POST, self.api + path, self.token, json.dumps(body), method]
        done = self.home.exec("isp", argv, timeout_s=15)
        code, _, reply = done.stdout.partition("\n")
        return int(code), json.loads(reply)

    def events(self, path: str) -> list[tuple[str, Any]]:
        """Follow a server-sent event stream to its end, from inside the ISP namespace."""
        done = self.home.exec(
            "isp", [sys.executable, "-c", _EVENTS, self.api + path, self.token], timeout_s=120
        )
        return [(e, json.loads(d)) for e, d in (line.split(" ", 1) for line in done.stdout.splitlines())]

    def wait(self, what: str, check: Any, timeout_s: float = 60) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = check()
            except (LabError, subprocess.SubprocessError, OSError, ValueError, KeyError):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                logs = "".join(p.read_text()[-2000:] for p in self.workdir.glob("*.log"))
                raise AssertionError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.5)


@contextmanager
def lab_stack(home: Lab, workdir: Path) -> Iterator[LabStack]:
    stack = LabStack(home, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    stack.token = subprocess.run(
        [*stack.cloud_cmd(), "api-token"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        "HOMEDIAG_EMBEDDED_BROKER_HOST": CLOUD_ADDRESS,
        "HOMEDIAG_PUBLIC_BROKER_URL": f"mqtt://{CLOUD_NAME}:{BROKER_PORT}",
    }
    serve = ["serve", "--host", CLOUD_ADDRESS, "--port", str(API_PORT), "--broker-port", str(BROKER_PORT)]
    with (workdir / "cloud.log").open("ab") as log:
        stack.procs.append(home.popen("isp", [*stack.cloud_cmd(), *serve], stdout=log, stderr=log, env=env))
    try:
        stack.wait("the cloud", lambda: stack.get("/api/v1/ingest/stats")["running"])
        yield stack
    finally:
        for proc in reversed(stack.procs):
            home.stop(proc)
