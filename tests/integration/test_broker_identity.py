"""Client ids bound to certificates on the `broker-config` mosquitto (issue 17, finding 6).

With only ``use_identity_as_username``, any enrolled agent could connect with another agent's id as
its MQTT client id, and the broker disconnected the victim to make room for it. The broker now
replaces the client id with the certificate's CN, so an agent can only ever displace itself; the
cloud's processes, bound the same way, each have their own identity, so a share group of ingest
workers still works.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from protocol import Channel
from tests.support import AgentProcess, CloudProcess, PostgresServer, SecureBroker, wait_for

pytestmark = pytest.mark.broker

INTRUSIONS = 5


def _intrude(broker: SecureBroker, cert_of: AgentProcess, client_id: str, topic: str) -> bool:
    """Connect with ``cert_of``'s certificate and ``client_id``, publish once on ``topic``, leave.

    True if the broker accepted the connection; the publish is acknowledged either way (MQTT 3.1.1
    has no refusal for a denied publish: mosquitto drops it and logs ``Denied PUBLISH``).
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    context = ssl.create_default_context(cafile=str(broker.ca))
    context.load_cert_chain(cert_of.state_dir / "tls-cert.pem", cert_of.state_dir / "tls-key.pem")
    client.tls_set_context(context)
    connected = threading.Event()
    accepted: list[bool] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        accepted.append(not reason.is_failure)
        connected.set()

    client.on_connect = on_connect
    client.connect("localhost", broker.port)
    client.loop_start()
    try:
        connected.wait(10)
        if accepted[:1] == [True]:
            client.publish(topic, b"not alice's", qos=1).wait_for_publish(10)
        return accepted[:1] == [True]
    finally:
        client.disconnect()
        client.loop_stop()


def test_another_agents_certificate_cannot_take_over_a_session(
    secure: tuple[CloudProcess, SecureBroker], tmp_path: Path
) -> None:
    cloud, broker = secure
    alice, bob = AgentProcess(tmp_path, name="alice"), AgentProcess(tmp_path, name="bob")
    alice_id, bob_id = alice.enroll(cloud), bob.enroll(cloud)
    alice.start()
    try:
        wait_for(lambda: cloud.get(f"/api/v1/agents/{alice_id}")["online"], 30, "alice online")
        wait_for(lambda: alice.status().get("link", {}).get("connects") == 1, 30, "alice's link status")
        # Bob's certificate with Alice's id as client id, again and again: accepted, as Bob.
        topic = protocol.topic_for(alice_id, Channel.TELEMETRY)
        intrusions = [_intrude(broker, bob, alice_id, topic) for _ in range(INTRUSIONS)]
        # Alice's link never dropped: it kept publishing and receiving acks on its first connection.
        acked = int(alice.status()["link"]["acked"])
        link = wait_for(
            lambda: (link := alice.status()["link"])["acked"] >= acked + 5 and link,
            30,
            "alice's reports to keep being acknowledged",
        )
        assert link["state"] == "connected"
        assert link["connects"] == 1, f"alice was disconnected: {link}"
        assert intrusions == [True] * INTRUSIONS
        log = broker.log()
        assert f"Client {alice_id} already connected" not in log
        # The broker knew the intruder as Bob whatever id he gave, and refused him Alice's topic.
        assert log.count(f"Denied PUBLISH from {bob_id}") == INTRUSIONS, log[-3000:]
        assert cloud.get("/api/v1/ingest/stats")["rejected"] == {}, "nothing of Bob's reached ingestion"
    finally:
        alice.stop()


def _worker(cloud: CloudProcess, broker: SecureBroker, cert: Path, key: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "cloud", "--state-dir", str(cloud.state_dir), "--db", cloud.db_url]
    argv += ["ingest", "--broker", broker.url, "--share-group", "ingest"]
    env = {**cloud.env, "HOMEDIAG_BROKER_CERT_FILE": str(cert), "HOMEDIAG_BROKER_KEY_FILE": str(key)}
    with (cloud.workdir / "worker.log").open("ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=log, env=env)


@pytest.mark.slow
def test_cloud_processes_share_the_load_each_with_its_own_identity(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """`serve` and an `ingest` worker in one share group, as docs/operations.md says to run them."""
    cloud = CloudProcess(tmp_path, broker_url="mqtts://placeholder:1", db_url=postgres.new_database())
    cloud.env["HOMEDIAG_INGEST_SHARE_GROUP"] = "ingest"
    broker = SecureBroker(tmp_path, cloud)
    # Again, with a second identity for the worker (SecureBroker writes one, then adds its logging).
    cloud.cli(
        "broker-config",
        *("--out", str(broker.directory), "--listen", "127.0.0.1", "--listen-port", str(broker.port)),
        *("--cloud-clients", "2"),
    )
    extra = "log_dest stderr\nlog_type all\n" + ("user root\n" if os.geteuid() == 0 else "")
    broker.conf.write_text(broker.conf.read_text() + extra)
    agents = [
        AgentProcess(tmp_path, name=f"agent{i}", probes={"netdev": {"interval_s": 0.1}}) for i in range(2)
    ]
    worker: subprocess.Popen[bytes] | None = None
    broker.start()
    try:
        cloud.start()
        worker = _worker(
            cloud, broker, broker.directory / "cloud-client-2.pem", broker.directory / "cloud-client-2.key"
        )
        wait_for(lambda: "ingest subscribed" in (tmp_path / "worker.log").read_text(), 30, "the worker")
        for agent in agents:
            agent.enroll(cloud)
            agent.start()
        stored = lambda: sum(len(cloud.report_keys(a.agent_id)) for a in agents)  # noqa: E731
        wait_for(lambda: stored() > 100, 60, "reports from both agents")
        by_serve = cloud.get("/api/v1/ingest/stats")["stored"]
        assert 0 < by_serve < stored(), "both processes took their share"
        log = broker.log()
        assert "already connected" not in log, "a cloud process was disconnected by another"
        for name in ("cloud.log", "worker.log"):
            text = (tmp_path / name).read_text()
            assert text.count("ingest subscribed") == 1, f"{name}: the broker link was lost\n{text[-2000:]}"
            assert "ingest lost the broker" not in text
    finally:
        for agent in agents:
            agent.stop()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        cloud.stop()
        broker.stop()
