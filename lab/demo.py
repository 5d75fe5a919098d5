"""`./dev demo`: a cloud, an agent enrolled with it, real telemetry, and where to look.

Runs both sides as processes (the demo imports neither ``agent`` nor ``cloud``), the
cloud with its embedded broker and SQLite, everything on loopback. The agent runs
only probes that send no traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

DEMO_DIR = Path("var/demo")


def _port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a loopback URL we built
        return json.loads(response.read())


def _wait(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise SystemExit(f"demo: timed out waiting for {what}")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=DEMO_DIR, help="where the demo keeps its state (wiped first)"
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args(argv)

    workdir: Path = args.dir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    api_port, broker_port = _port(8000), _port(1883)
    api = f"http://127.0.0.1:{api_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
    cloud_cmd = [sys.executable, "-m", "cloud", "--state-dir", str(workdir / "cloud")]
    agent_cmd = [sys.executable, "-m", "agent", "--state-dir", str(workdir / "agent")]
    agent_env = {**env, "HOMEDIAG_AGENT_CONFIG": str(workdir / "agent.toml")}
    (workdir / "agent.toml").write_text(
        f'state_dir = "{workdir / "agent"}"\n[probes.netdev]\ninterval_s = 5\n[link]\nkeepalive_s = 10\n'
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print(f"==> starting the cloud (API {api}, embedded MQTT broker on 127.0.0.1:{broker_port}, SQLite)")
        with (workdir / "cloud.log").open("ab") as log:
            procs.append(
                subprocess.Popen(
                    [*cloud_cmd, "serve", "--port", str(api_port), "--broker-port", str(broker_port)],
                    stdout=log,
                    stderr=log,
                    env=env,
                )
            )
        token = subprocess.run([*cloud_cmd, "api-token"], capture_output=True, text=True, check=True, env=env)
        token_text = token.stdout.strip()
        _wait("the cloud", lambda: _get(f"{api}/api/v1/ingest/stats", token_text)["running"])
        code = subprocess.run(
            [*cloud_cmd, "pairing-code", "--note", "demo"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        print(f"==> pairing code {code}; enrolling an agent on this machine")
        subprocess.run([*agent_cmd, "enroll", "--cloud", api, "--code", code], check=True, env=agent_env)
        agent_id = json.loads((workdir / "agent" / "enrollment.json").read_text())["agent_id"]
        with (workdir / "agent.log").open("ab") as log:
            procs.append(subprocess.Popen([*agent_cmd, "run"], stdout=log, stderr=log, env=agent_env))
        latest = _wait(
            "the first telemetry",
            lambda: _get(f"{api}/api/v1/agents/{agent_id}/telemetry/latest", token_text)["probes"],
        )
        interfaces = ", ".join(sorted(latest["netdev"]["data"]["Interface"]))
        print(f"==> agent {agent_id} is online and reporting (interfaces: {interfaces})")
        print(f"""
Where to look:
  OpenAPI      {api}/openapi.json   (interactive docs at {api}/docs need the Swagger UI CDN)
  agents       curl -s -H 'Authorization: Bearer {token_text}' {api}/api/v1/agents
  telemetry    curl -s -H 'Authorization: Bearer {token_text}' {api}/api/v1/agents/{agent_id}/telemetry/latest
  ingest       curl -s -H 'Authorization: Bearer {token_text}' {api}/api/v1/ingest/stats
  agent        {" ".join(agent_cmd)} status
  logs         {workdir}/cloud.log, {workdir}/agent.log
""")
        signal.signal(signal.SIGTERM, _interrupt)
        if args.duration is None:
            print("Ctrl-C stops the demo.")
            while True:
                signal.pause()
        else:
            time.sleep(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        print("==> demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
