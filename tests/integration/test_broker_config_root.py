"""`homediag-cloud broker-config` run as docs/operations.md says, then mosquitto on what it wrote
(issue 17, finding 10).

Started as root, mosquitto 2.0 drops to the ``mosquitto`` user before it loads the ACL, keys and
CRL, and re-reads them as that user on SIGHUP: root-owned 0600 keys and the 0700 ``pki/`` folder
stopped it starting. Both ways are run for real here, the configuration untouched: as root (mosquitto
drops), and as an unprivileged user who owns the files (mosquitto runs as that user). Each time an
agent certificate connects and reaches the cloud's identity, and a revocation written to the CRL and
a SIGHUP shut it out.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from cloud.pki import CertificateAuthority
from protocol import Channel
from tests.support import ROOT, free_port, port_open, wait_for

pytestmark = pytest.mark.broker

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
UNPRIVILEGED = "nobody"


@dataclass
class Setup:
    """Where `broker-config` writes (``/etc/mosquitto/homediag`` and the state directory in the guide)."""

    base: Path
    out: Path
    state: Path
    port: int

    @property
    def conf(self) -> Path:
        return self.out / "mosquitto.conf"


@pytest.fixture
def setup() -> Iterator[Setup]:
    """A world-traversable base, like ``/etc/mosquitto`` (pytest's own temporary folders are 0700)."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (./dev test installs it as root)")
    base = Path(tempfile.mkdtemp(prefix="homediag-broker-config-"))
    base.chmod(0o755)
    (base / "etc").mkdir(mode=0o755)
    try:
        yield Setup(base, base / "etc" / "homediag", base / "state", free_port())
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
    return {**env, **extra}


def _broker_config(setup: Setup, python: list[str], env: dict[str, str], **user: Any) -> str:
    """`homediag-cloud broker-config` as the guide writes it; returns what it printed on stderr."""
    argv = [*python, "-m", "cloud", "--state-dir", str(setup.state), "broker-config"]
    argv += ["--out", str(setup.out), "--listen", "127.0.0.1", "--listen-port", str(setup.port)]
    argv += ["--name", "localhost"]
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=120, check=False, cwd=setup.base, **user
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return "\n".join(line for line in done.stderr.splitlines() if "alembic" not in line)


class Broker:
    """mosquitto started on the generated configuration, unchanged."""

    def __init__(self, setup: Setup, **user: Any) -> None:
        self.setup = setup
        self.log = setup.base / "mosquitto.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(setup.conf)], stdout=log, stderr=log, cwd=setup.base, **user
            )
        wait_for(self._listening, 15, "mosquitto to listen")

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited: {self.log.read_text(errors='replace')[-3000:]}")
        return port_open(self.setup.port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class AgentCert:
    agent_id: str
    cert: Path
    key: Path
    serial: int


def _agent_certificate(ca: CertificateAuthority, where: Path) -> AgentCert:
    """What enrollment issues: a key made on the device, the CA's certificate for its agent id."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    agent_id = uuid.uuid4().hex
    issued = ca.sign_agent_csr(csr, agent_id, days=1)
    cert, key_path = where / "agent-cert.pem", where / "agent-key.pem"
    cert.write_bytes(issued.pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return AgentCert(agent_id, cert, key_path, issued.serial)


def _connect(setup: Setup, cert: Path, key: Path, client_id: str) -> mqtt.Client | None:
    """A mutual-TLS MQTT connection, or None if the broker refused it (handshake or CONNACK)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    context = ssl.create_default_context(cafile=str(setup.out / "ca.pem"))
    context.load_cert_chain(cert, key)
    client.tls_set_context(context)
    outcome: list[bool] = []
    connected = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        outcome.append(not reason.is_failure)
        connected.set()

    client.on_connect = on_connect
    client.on_disconnect = lambda *_a: connected.set()
    try:
        client.connect("localhost", setup.port)
    except (ssl.SSLError, OSError):
        return None
    client.loop_start()
    connected.wait(10)
    if outcome[:1] == [True]:
        return client
    client.disconnect()
    client.loop_stop()
    return None


def _close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def _check_broker(setup: Setup, broker: Broker, crl: Path) -> None:
    """An agent reaches the cloud through the broker; once revoked (CRL and SIGHUP) it is refused."""
    ca = CertificateAuthority(setup.state / "pki")
    agent = _agent_certificate(ca, setup.base)
    received = threading.Event()
    cloud = _connect(setup, setup.out / "cloud-client.pem", setup.out / "cloud-client.key", "cloud")
    assert cloud is not None, "the cloud's identity was refused"
    try:
        cloud.on_message = lambda _c, _u, _m: received.set()
        cloud.subscribe(protocol.subscription_for(Channel.TELEMETRY), qos=1)
        client = _connect(setup, agent.cert, agent.key, agent.agent_id)
        assert client is not None, "the agent's certificate was refused"
        topic = protocol.topic_for(agent.agent_id, Channel.TELEMETRY)

        def delivered() -> bool:
            # Until the cloud's subscription is in place: the ACL (loaded after mosquitto dropped
            # root) lets the agent write its own telemetry and the cloud read it.
            client.publish(topic, b"{}", qos=1)
            return received.wait(0.5)

        try:
            wait_for(delivered, 15, "the agent's message to reach the cloud's identity")
        finally:
            _close(client)
    finally:
        _close(cloud)
    # Revoked: the cloud rewrites the CRL (world-readable, replaced whole) and mosquitto is HUPed.
    tmp = crl.with_name(f".{crl.name}.tmp")
    tmp.write_bytes(ca.crl([(agent.serial, dt.datetime.now(dt.UTC))]))
    tmp.chmod(0o644)
    tmp.replace(crl)
    broker.proc.send_signal(signal.SIGHUP)

    def refused() -> bool:
        client = _connect(setup, agent.cert, agent.key, agent.agent_id)
        if client is None:
            return True
        _close(client)
        return False

    wait_for(refused, 15, "the broker to refuse the revoked certificate after SIGHUP")


def test_as_root_as_the_guide_says(setup: Setup) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: it starts mosquitto as root, which then drops to the mosquitto user")
    try:
        broker_user = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no mosquitto user (Debian's mosquitto package creates it)")
    setup.state.mkdir(mode=0o700)  # like /var/lib/homediag-cloud, root's alone
    crl = setup.out / "crl.pem"
    warnings = _broker_config(setup, [sys.executable], _env(HOMEDIAG_CRL_FILE=str(crl)))
    assert "warning" not in warnings, warnings
    broker = Broker(setup)
    try:
        assert psutil.Process(broker.proc.pid).username() == "mosquitto", "mosquitto dropped root"
        _check_broker(setup, broker, crl)
        assert broker.proc.poll() is None, "the reload as user mosquitto worked"
    finally:
        broker.stop()
    # What the broker must never read: the CA's key and the cloud's client key.
    for secret in (setup.state / "pki" / "ca-key.pem", setup.out / "cloud-client.key"):
        denied = subprocess.run(
            ["cat", str(secret)],
            user=broker_user.pw_uid,
            group=broker_user.pw_gid,
            extra_groups=[],
            capture_output=True,
            check=False,
        )
        assert denied.returncode != 0 and b"Permission denied" in denied.stderr, secret
    assert (setup.out / "broker.key").stat().st_mode & 0o777 == 0o640
    assert grp.getgrgid((setup.out / "broker.key").stat().st_gid).gr_name == "mosquitto"


def test_as_root_without_a_crl_the_broker_can_read_says_so(setup: Setup) -> None:
    """The CRL left in the state directory (0700) would stop mosquitto: the command says what to do."""
    if os.geteuid() != 0:
        pytest.skip("needs root: only mosquitto started as root changes user")
    setup.state.mkdir(mode=0o700)
    warnings = _broker_config(setup, [sys.executable], _env())
    assert "HOMEDIAG_CRL_FILE" in warnings and str(setup.state / "pki" / "crl.pem") in warnings


def _unprivileged_python(user: dict[str, Any], env: dict[str, str]) -> list[str]:
    """An interpreter the unprivileged user can run, with this checkout and its packages importable."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/python{version}"):
        try:
            probe = subprocess.run(
                [python, "-c", "import cloud.cli"], env=env, capture_output=True, check=False, cwd="/", **user
            )
        except OSError:  # not executable for that user (e.g. under root's 0700 home)
            continue
        if probe.returncode == 0:
            return [python]
    pytest.skip(f"no Python {version} that {UNPRIVILEGED} may run reaches this checkout")


def test_as_an_unprivileged_user_who_owns_the_files(setup: Setup) -> None:
    user: dict[str, Any] = {}
    env = _env()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(UNPRIVILEGED)
        user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        env["PYTHONPATH"] = os.pathsep.join([sysconfig.get_paths()["purelib"], str(ROOT)])
        os.chown(setup.base, entry.pw_uid, entry.pw_gid)
        os.chown(setup.base / "etc", entry.pw_uid, entry.pw_gid)
    python = _unprivileged_python(user, env)
    warnings = _broker_config(setup, python, env, **user)
    assert "warning" not in warnings, warnings
    owner = os.geteuid() if not user else user["user"]
    assert (setup.out / "broker.key").stat().st_uid == owner
    assert (setup.out / "broker.key").stat().st_mode & 0o777 == 0o600
    broker = Broker(setup, **user)
    try:
        assert psutil.Process(broker.proc.pid).uids().effective == owner
        _check_broker(setup, broker, setup.state / "pki" / "crl.pem")  # the default place: its own
        assert broker.proc.poll() is None
    finally:
        broker.stop()
