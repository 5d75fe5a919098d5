"""`./dev demo`: a cloud, an agent enrolled with it, real telemetry, and where to look.

As root (with the lab's Debian packages) the demo builds the virtual home of docs/lab.md and runs the
cloud (embedded broker, SQLite) in its ISP namespace and the agent on its PC, so the agent measures a
real, if virtual, home and nothing touches the machine's own network. Without root it runs both on
loopback with probes that send no traffic, and says what it skipped and why.

Both sides run as processes: the demo imports neither ``agent`` nor ``cloud``.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .const import CLOUD_ADDRESS, CLOUD_NAME
from .defaults import default_home
from .forward import Forwarder
from .lab import Lab
from .prereqs import missing

DEMO_DIR = Path("var/demo")
API_PORT, BROKER_PORT = 8000, 1883
#: Agent probes for each placement: on loopback only those that send nothing.
LOOPBACK_PROBES = {"netdev": {"interval_s": 5}}
LAB_PROBES: dict[str, dict[str, object]] = {
    "netdev": {"interval_s": 5},
    "usage": {"interval_s": 60},
    # The home's devices for the console: mDNS/DNS-SD, an ARP sweep of the lab's LAN, SSDP, IPP.
    "discovery": {"interval_s": 60, "timeout_s": 3},
    # Connectivity sampling into the virtual home only: the gateway, the cloud's address, its resolver.
    "connectivity": {
        "interval_s": 30,
        "count": 10,
        "echo_interval_s": 0.5,
        "targets": [CLOUD_NAME],
        "dns_names": [CLOUD_NAME],
    },
}


def _free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Placement:
    """Where the cloud and the agent run, and how the demo reaches the API."""

    name: str
    api_url: str
    cloud_args: list[str]
    cloud_env: dict[str, str]
    spawn: Callable[[str, list[str], dict[str, str], Path], subprocess.Popen[bytes]]
    get: Callable[[str, str], Any]
    #: Send JSON (method, url, token, body) -> reply; raises OSError on an error status.
    send: Callable[[str, str, str, dict[str, Any]], Any]
    curl_prefix: str
    stop: Callable[[subprocess.Popen[bytes]], None]
    #: The console as a browser on this machine reaches it.
    console_url: str = ""


def _spawn_local(_host: str, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=out, env=env)


def _get_local(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a loopback URL we built
        return json.loads(response.read())


def _send_local(method: str, url: str, token: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _stop_local(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _loopback(env: dict[str, str]) -> Placement:
    api_port, broker_port = _free_port(API_PORT), _free_port(BROKER_PORT)
    return Placement(
        name="loopback",
        api_url=f"http://127.0.0.1:{api_port}",
        cloud_args=["serve", "--port", str(api_port), "--broker-port", str(broker_port)],
        cloud_env=env,
        spawn=_spawn_local,
        get=_get_local,
        send=_send_local,
        curl_prefix="",
        stop=_stop_local,
        console_url=f"http://127.0.0.1:{api_port}/console/",
    )


_GET_SCRIPT = (
    "import sys, urllib.request; r = urllib.request.Request(sys.argv[1], headers={'Authorization': "
    "'Bearer ' + sys.argv[2]}); print(urllib.request.urlopen(r, timeout=5).read().decode())"
)


_POST_SCRIPT = """
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method=sys.argv[4], headers={
    "Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
print(urllib.request.urlopen(r, timeout=10).read().decode())
"""


def _in_lab(home: Lab, env: dict[str, str]) -> Placement:
    def spawn(host: str, argv: list[str], extra: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return home.popen(host, argv, stdout=out, stderr=out, env=extra)

    def get(url: str, token: str) -> Any:
        done = home.exec("isp", [sys.executable, "-c", _GET_SCRIPT, url, token], check=False, timeout_s=10)
        if done.returncode != 0:
            raise OSError(done.stderr.strip()[-200:])
        return json.loads(done.stdout)

    def send(method: str, url: str, token: str, body: dict[str, Any]) -> Any:
        argv = [sys.executable, "-c", _POST_SCRIPT, url, token, json.dumps(body), method]
        done = home.exec("isp", argv, check=False, timeout_s=15)
        if done.returncode != 0:
            raise OSError(done.stderr.strip()[-300:])
        return json.loads(done.stdout)

    def stop(proc: subprocess.Popen[bytes]) -> None:
        home.stop(proc)

    cloud_env = {
        **env,
        "HOMEDIAG_EMBEDDED_BROKER_HOST": CLOUD_ADDRESS,
        "HOMEDIAG_PUBLIC_BROKER_URL": f"mqtt://{CLOUD_NAME}:{BROKER_PORT}",
    }
    return Placement(
        name="lab",
        api_url=f"http://{CLOUD_NAME}:{API_PORT}",
        cloud_args=[
            "serve",
            "--host",
            CLOUD_ADDRESS,
            "--port",
            str(API_PORT),
            "--broker-port",
            str(BROKER_PORT),
        ],
        cloud_env=cloud_env,
        spawn=spawn,
        get=get,
        send=send,
        curl_prefix=f"{Path(sys.executable).parent / 'homediag-lab'} exec --prefix {home.prefix} isp -- ",
        stop=stop,
    )


def _console_accounts(placement: Placement, token: str, agent_id: str) -> list[tuple[str, str, str]]:
    """An operator "demo" whose premium household owns the agent, and a login per kind of user."""
    api = f"{placement.api_url}/api/v1"
    placement.send("POST", f"{api}/tenants", token, {"id": "demo", "name": "Demo Broadband"})
    plan = placement.send(
        "POST",
        f"{api}/plans",
        token,
        {
            "name": "Home 500",
            "cap_bytes": 500 * 10**9,
            "cycle_start_day": 1,
            "timezone": "UTC",
            "tier": "premium",
            "tenant": "demo",
        },
    )
    household = placement.send(
        "POST",
        f"{api}/subscribers",
        token,
        {
            "reference": "DEMO-0001",
            "name": "Demo household",
            "email": "household@example.test",
            "tier": "premium",
            "plan_id": plan["id"],
            "tenant": "demo",
        },
    )
    placement.send("PUT", f"{api}/agents/{agent_id}/subscriber", token, {"subscriber_id": household["id"]})
    logins = []
    for username, role in (
        ("csr", "csr"),
        ("tech", "technician"),
        ("lead", "supervisor"),
        ("home", "subscriber"),
    ):
        body = {"username": username, "role": role, "tenant": "demo"}
        if role == "subscriber":
            body["subscriber_id"] = household["id"]
        created = placement.send("POST", f"{api}/users", token, body)
        logins.append((role, username, created["generated_password"]))
    return logins


def _wait(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
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


@contextlib.contextmanager
def _placement(use_lab: bool, env: dict[str, str]) -> Iterator[Placement]:
    if not use_lab:
        yield _loopback(env)
        return
    with Lab() as home:
        print(f"==> virtual home {home.prefix} is up: gateway, ISP, PC, printer, TV, phone, silent host")
        # The console from this machine's browser: 127.0.0.1 here -> the cloud in the ISP namespace.
        forward = Forwarder(home.netns("isp"), (CLOUD_ADDRESS, API_PORT), _free_port(API_PORT))
        try:
            yield replace(_in_lab(home, env), console_url=f"http://127.0.0.1:{forward.port}/console/")
        finally:
            forward.close()


def _run(placement: Placement, workdir: Path, duration: float | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
    cloud_cmd = [sys.executable, "-m", "cloud", "--state-dir", str(workdir / "cloud")]
    agent_cmd = [sys.executable, "-m", "agent", "--state-dir", str(workdir / "agent")]
    probes = LAB_PROBES if placement.name == "lab" else LOOPBACK_PROBES
    config = [f'state_dir = "{workdir / "agent"}"', "[link]", "keepalive_s = 10"]
    for probe, options in probes.items():
        config += [f"[probes.{probe}]", *(f"{k} = {json.dumps(v)}" for k, v in options.items())]
    (workdir / "agent.toml").write_text("\n".join(config) + "\n")
    agent_env = {**env, "HOMEDIAG_AGENT_CONFIG": str(workdir / "agent.toml")}
    token = subprocess.run([*cloud_cmd, "api-token"], capture_output=True, text=True, check=True, env=env)
    token_text = token.stdout.strip()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print(f"==> starting the cloud (API {placement.api_url}, embedded MQTT broker, SQLite)")
        procs.append(
            placement.spawn(
                "isp", [*cloud_cmd, *placement.cloud_args], placement.cloud_env, workdir / "cloud.log"
            )
        )
        _wait(
            "the cloud",
            lambda: placement.get(f"{placement.api_url}/api/v1/ingest/stats", token_text)["running"],
        )
        code = subprocess.run(
            [*cloud_cmd, "pairing-code", "--note", "demo"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        where = "on the PC" if placement.name == "lab" else "here"
        print(f"==> pairing code {code}; enrolling the agent ({where})")
        enroll = placement.spawn(
            "pc",
            [*agent_cmd, "enroll", "--cloud", placement.api_url, "--code", code],
            agent_env,
            workdir / "enroll.log",
        )
        if enroll.wait(60) != 0:
            raise SystemExit(f"demo: enrollment failed, see {workdir / 'enroll.log'}")
        agent_id = json.loads((workdir / "agent" / "enrollment.json").read_text())["agent_id"]
        procs.append(placement.spawn("pc", [*agent_cmd, "run"], agent_env, workdir / "agent.log"))
        latest = _wait(
            "the first telemetry",
            lambda: placement.get(
                f"{placement.api_url}/api/v1/agents/{agent_id}/telemetry/latest", token_text
            )["probes"],
        )
        interfaces = ", ".join(sorted(i["Name"] for i in latest["netdev"]["data"]["Interface"]))
        print(f"==> agent {agent_id} is online and reporting (interfaces: {interfaces})")
        logins = _console_accounts(placement, token_text, agent_id)
        accounts = "\n".join(f"    {role:11} {user:5} {password}" for role, user, password in logins)
        curl = f"{placement.curl_prefix}curl -s -H 'Authorization: Bearer {token_text}' {placement.api_url}"
        print(f"""
The console: open {placement.console_url} and log in to operator "demo" as
{accounts}
    (csr: search DEMO-0001, open the home, run a ping; home: the subscriber's self-care page)

Where to look{" (the API lives in the virtual home's ISP namespace)" if placement.name == "lab" else ""}:
  OpenAPI      {curl}/openapi.json
  agents       {curl}/api/v1/agents
  telemetry    {curl}/api/v1/agents/{agent_id}/telemetry/latest
  ingest       {curl}/api/v1/ingest/stats
  agent        {" ".join(agent_cmd)} status
  logs         {workdir}/cloud.log, {workdir}/agent.log
""")
        signal.signal(signal.SIGTERM, _interrupt)
        if duration is None:
            print("Ctrl-C stops the demo.")
            while True:
                signal.pause()
        else:
            time.sleep(duration)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in reversed(procs):
            placement.stop(proc)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=DEMO_DIR, help="where the demo keeps its state (wiped first)"
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--no-lab", action="store_true", help="run on loopback even as root")
    args = parser.parse_args(argv)

    workdir: Path = args.dir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    reasons = ["--no-lab given"] if args.no_lab else missing(default_home())
    if reasons:
        print("==> running on loopback only, the virtual home was skipped: " + "; ".join(reasons))
        print("    (as root with the lab's Debian packages the agent would measure a virtual home)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
    try:
        with _placement(not reasons, env) as placement:
            _run(placement, workdir, args.duration)
    except KeyboardInterrupt:
        pass
    print("==> demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
