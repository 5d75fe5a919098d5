"""Real peers for tests: a mosquitto broker, a cloud process and agent processes on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
API_TOKEN = "test-operator-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Mosquitto:
    """Debian's mosquitto on a free loopback port, with a config of our own."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise FileNotFoundError("mosquitto is not installed (./dev test installs it as root)")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            # Deliberate limits (LAB.md: the default 1000 dropped QoS 1 messages under load).
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\n" + ("user root\n" if os.geteuid() == 0 else "")
            # As root mosquitto drops to its own user, which cannot read pytest's 0700 temp dirs.
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with (self.workdir / "mosquitto.log").open("ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_for(lambda: port_open(self.port), 10, "mosquitto to listen")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.proc, sig)
        self.proc = None


class CloudProcess:
    """`homediag-cloud serve` as a real process (so it can be SIGKILLed)."""

    def __init__(self, workdir: Path, broker_url: str | None = None, db_url: str | None = None) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "cloud"
        self.db_path = self.state_dir / "homediag.sqlite"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.api_port = free_port()
        self.broker_port = free_port()
        self.broker_url = broker_url or f"mqtt://127.0.0.1:{self.broker_port}"
        self.external_broker = broker_url is not None
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "HOMEDIAG_API_TOKEN": API_TOKEN, "HOMEDIAG_LOG_LEVEL": "INFO"}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "cloud", "--state-dir", str(self.state_dir), "--db", self.db_url, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()

    def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "cloud",
            "--state-dir",
            str(self.state_dir),
            "--db",
            self.db_url,
            "serve",
            "--port",
            str(self.api_port),
        ]
        if self.external_broker:
            args += ["--broker", self.broker_url]
        else:
            args += ["--broker-port", str(self.broker_port)]
        with (self.workdir / "cloud.log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=self.env)
        wait_for(self._ready, 30, "the cloud to serve")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"cloud exited with {self.proc.returncode}: {self.log_tail()}")
        try:
            stats = self.get("/api/v1/ingest/stats")
        except OSError:
            return False
        return bool(stats["running"])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.proc, sig)
        self.proc = None

    def log_tail(self, n: int = 30) -> str:
        path = self.workdir / "cloud.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.api_url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """(status, JSON reply), also for 4xx answers."""
        request = urllib.request.Request(
            self.api_url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return int(exc.code), json.loads(exc.read() or b"null")

    def events(self, path: str, timeout: float = 30) -> list[tuple[str, Any]]:
        """Read a server-sent event stream to its end: [(event, data), ...]."""
        request = urllib.request.Request(
            self.api_url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        out: list[tuple[str, Any]] = []
        event = ""
        with urllib.request.urlopen(request, timeout=timeout) as response:
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    out.append((event, json.loads(line[6:])))
        return out

    def pairing_code(self) -> str:
        return self.cli("pairing-code")

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30)

    def report_keys(self, agent_id: str) -> list[tuple[int, int]]:
        if self.db_url.startswith("postgresql"):
            dsn = self.db_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn) as conn:
                rows = conn.execute(
                    "SELECT epoch, seq FROM reports WHERE agent_id = %s ORDER BY epoch, seq", (agent_id,)
                ).fetchall()
            return [(int(e), int(s)) for e, s in rows]
        with self.db() as db:
            return db.execute(
                "SELECT epoch, seq FROM reports WHERE agent_id = ? ORDER BY epoch, seq", (agent_id,)
            ).fetchall()


class AgentProcess:
    """`homediag-agent` enrolled with a cloud and run as a real process."""

    def __init__(self, workdir: Path, name: str = "agent", **config: Any) -> None:
        self.workdir = workdir
        self.state_dir = workdir / name
        self.name = name
        self.config_path = workdir / f"{name}.toml"
        link = {"keepalive_s": 2, "resend_after_s": 2.0, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}
        link.update(config.pop("link", {}))
        probes = config.pop("probes", {"netdev": {"interval_s": 1.0}})
        lines = [f'state_dir = "{self.state_dir}"', "[link]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in link.items()]
        for probe, options in probes.items():
            lines.append(f"[probes.{probe}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_AGENT_")}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=check,
        )

    def enroll(self, cloud: CloudProcess) -> str:
        self.cli("enroll", "--cloud", cloud.api_url, "--code", cloud.pairing_code())
        return self.agent_id

    @property
    def agent_id(self) -> str:
        return str(json.loads((self.state_dir / "enrollment.json").read_text())["agent_id"])

    def start(self) -> None:
        with (self.workdir / f"{self.name}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent", "--config", str(self.config_path), "run"],
                stdout=log,
                stderr=log,
                env=self.env,
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop(self.proc, sig)
        self.proc = None

    def restart_quiet(self) -> None:
        """Restart with probes that report once and then rest, so the outbox can drain to zero."""
        self.stop()
        self.env["HOMEDIAG_AGENT_PROBES__NETDEV__INTERVAL_S"] = "3600"
        self.start()

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.cli("status", "--json").stdout))

    def outbox(self) -> tuple[int, int, int]:
        """(epoch, depth, next_seq) read straight from the outbox database; zeros before it exists."""
        path = self.state_dir / "outbox.sqlite"
        if not path.exists():
            return 0, 0, 0
        try:
            # One read transaction: the count and next_seq of the same moment (the agent may store
            # a report between two separate reads, which would look like a gap).
            with contextlib.closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
                db.execute("BEGIN")
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                (depth,) = db.execute("SELECT count(*) FROM outbox").fetchone()
                db.execute("COMMIT")
        except sqlite3.OperationalError:
            return 0, 0, 0
        return int(meta.get("epoch", 0)), int(depth), int(meta.get("next_seq", 0))


def assert_exactly_once(cloud: CloudProcess, agent: AgentProcess, timeout: float = 60) -> int:
    """Wait until the agent's outbox is drained, then check seq 1..N are stored once each, no gap."""

    moment: list[tuple[int, int, int]] = []

    def drained() -> bool:
        moment[:] = [agent.outbox()]
        return moment[0][1] == 0

    wait_for(drained, timeout, "the outbox to drain")
    # Every report below next_seq of the drained moment was acknowledged, so stored; the agent may
    # have made more since (a probe's next interval), which the cloud may or may not have yet.
    epoch, _, next_seq = moment[0]
    keys = cloud.report_keys(agent.agent_id)
    assert len(keys) == len(set(keys)), "a report was stored twice"
    assert {e for e, _ in keys} == {epoch}
    missing = sorted(set(range(1, next_seq)) - {s for _, s in keys})
    assert not missing, (
        f"reports are missing: {missing[:20]} of 1..{next_seq - 1}; {cloud.get('/api/v1/ingest/stats')}"
    )
    return next_seq - 1


class SecureBroker(Mosquitto):
    """Mosquitto configured by `homediag-cloud broker-config`: mutual TLS, ACLs and the CRL.

    The broker makes each certificate's CN the client id, so two cloud processes with one identity
    disconnect each other: ``cloud_clients`` identities are written, the first is ``cloud``'s, and
    every further `serve` or `ingest` process takes one of its own (:meth:`client_env`).
    """

    def __init__(
        self, workdir: Path, cloud: CloudProcess, *, debug_log: bool = True, cloud_clients: int = 1
    ) -> None:
        super().__init__(workdir)
        self.directory = workdir / "broker"
        self.cloud_clients = cloud_clients
        cloud.cli(
            "broker-config",
            "--out",
            str(self.directory),
            "--listen",
            "127.0.0.1",
            "--listen-port",
            str(self.port),
            "--cloud-clients",
            str(cloud_clients),
        )
        self.conf = self.directory / "mosquitto.conf"
        # debug: mosquitto 2.0 reports ACL denials ("Denied PUBLISH") only at this level; a line a
        # packet, too much for a benchmark's fleet.
        extra = "log_dest stderr\n" + (
            "log_type all\n" if debug_log else "log_type error\nlog_type warning\n"
        )
        if os.geteuid() == 0:
            extra += "user root\n"
        self.conf.write_text(self.conf.read_text() + extra)
        self.ca = self.directory / "ca.pem"
        cloud.broker_url = f"mqtts://localhost:{self.port}"
        cloud.external_broker = True
        cloud.env.update(
            HOMEDIAG_BROKER_CA_FILE=str(self.ca),
            HOMEDIAG_PUBLIC_BROKER_URL=cloud.broker_url,
            **self.client_env(1),
        )

    def client_files(self, i: int) -> tuple[Path, Path]:
        """Certificate and key of cloud identity ``i``: 1 is ``homediag-cloud``, 2 ``homediag-cloud-2``..."""
        if not 1 <= i <= self.cloud_clients:
            raise ValueError(f"no cloud identity {i}: pass cloud_clients={i} or more to SecureBroker")
        stem = "cloud-client" if i == 1 else f"cloud-client-{i}"
        return self.directory / f"{stem}.pem", self.directory / f"{stem}.key"

    def client_env(self, i: int) -> dict[str, str]:
        """The environment that gives a cloud process identity ``i`` on this broker."""
        cert, key = self.client_files(i)
        return {"HOMEDIAG_BROKER_CERT_FILE": str(cert), "HOMEDIAG_BROKER_KEY_FILE": str(key)}

    @property
    def url(self) -> str:
        return f"mqtts://localhost:{self.port}"

    def reload(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def log(self) -> str:
        return (self.workdir / "mosquitto.log").read_text(errors="replace")


class PostgresServer:
    """A throw-away PostgreSQL cluster on a free loopback port (Debian's postgresql package).

    As root the server runs as the ``postgres`` user (initdb refuses root); its data lives in a
    temporary directory owned by that user and removed at the end.
    """

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise FileNotFoundError("PostgreSQL is not installed (./dev test installs it as root)")
        self.bin = bins[-1].parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="homediag-pg-"))
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"
