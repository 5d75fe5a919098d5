"""Attacks and trust against a real mosquitto with mutual TLS, ACLs and a CRL (broker-config)."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from protocol import Channel, Sample, TelemetryBatch
from tests.support import AgentProcess, CloudProcess, Mosquitto, SecureBroker, assert_exactly_once, wait_for

pytestmark = pytest.mark.broker


def _client(broker: SecureBroker, agent: AgentProcess | None, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    context = ssl.create_default_context(cafile=str(broker.ca))
    if agent is not None:
        context.load_cert_chain(agent.state_dir / "tls-cert.pem", agent.state_dir / "tls-key.pem")
    client.tls_set_context(context)
    return client


def _connect(client: mqtt.Client, broker: SecureBroker) -> bool:
    connected = threading.Event()
    outcome: list[bool] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        outcome.append(not getattr(reason, "is_failure", True))
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect("localhost", broker.port)
    except (ssl.SSLError, OSError):
        return False
    client.loop_start()
    connected.wait(5)
    ok = bool(outcome and outcome[0])
    if not ok:
        client.loop_stop()
    return ok


def test_agents_report_over_mutual_tls(secure: tuple[CloudProcess, SecureBroker], tmp_path: Path) -> None:
    cloud, _ = secure
    agent = AgentProcess(tmp_path)
    agent_id = agent.enroll(cloud)
    assert (agent.state_dir / "tls-key.pem").stat().st_mode & 0o777 == 0o600
    agent.start()
    try:
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "online over mTLS")
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 3, 20, "reports over mTLS")
        agent.restart_quiet()
        assert_exactly_once(cloud, agent)
    finally:
        agent.stop()


def test_broker_confines_agents_to_their_own_topics(
    secure: tuple[CloudProcess, SecureBroker], tmp_path: Path
) -> None:
    cloud, broker = secure
    alice, bob = AgentProcess(tmp_path, name="alice"), AgentProcess(tmp_path, name="bob")
    alice_id, bob_id = alice.enroll(cloud), bob.enroll(cloud)
    alice_key = protocol.load_private_key_pem((alice.state_dir / "agent-key.pem").read_bytes())
    # No certificate, or one from another CA: no connection at all.
    assert not _connect(_client(broker, None, "anonymous"), broker)
    # Alice, with her own valid certificate, subscribes to everything and writes into Bob's subtree.
    seen: list[str] = []
    spy = _client(broker, alice, alice_id)
    spy.on_message = lambda _c, _u, m: seen.append(m.topic)
    assert _connect(spy, broker)
    spy.subscribe("#", qos=1)
    before = cloud.get("/api/v1/ingest/stats")["received"]
    forged = protocol.seal(
        alice_key,
        agent=bob_id,
        body=TelemetryBatch(samples=[Sample(probe="x", at=time.time(), status="Complete")]),
        epoch=1,
        seq=1,
    )
    spy.publish(protocol.topic_for(bob_id, Channel.TELEMETRY), forged, qos=1).wait_for_publish(5)
    spy.publish(protocol.topic_for(bob_id, Channel.ACK), b"fake ack", qos=1).wait_for_publish(5)
    # Bob reports; Alice's wildcard must not see any of it, nor of his acks.
    bob.start()
    try:
        wait_for(lambda: len(cloud.report_keys(bob_id)) >= 2, 20, "bob's reports")
    finally:
        bob.stop()
    spy.disconnect()
    spy.loop_stop()
    assert [t for t in seen if bob_id in t] == []
    assert cloud.report_keys(bob_id) and all(s >= 1 for _, s in cloud.report_keys(bob_id))
    assert not any(p == "x" for p in _probes(cloud, bob_id)), "the forged sample was not stored"
    denied = broker.log().count(f"Denied PUBLISH from {alice_id}")
    assert denied == 2, broker.log()[-2000:]
    stats = cloud.get("/api/v1/ingest/stats")
    assert stats["rejected"] == {}, "nothing forged even reached the ingestion"
    assert stats["received"] > before


def _probes(cloud: CloudProcess, agent_id: str) -> set[str]:
    with cloud.db() as db:
        return {
            r[0] for r in db.execute("SELECT DISTINCT probe FROM samples WHERE agent_id = ?", (agent_id,))
        }


def test_revoked_agent_is_shut_out_and_can_re_enroll(
    secure: tuple[CloudProcess, SecureBroker], tmp_path: Path
) -> None:
    cloud, broker = secure
    agent = AgentProcess(tmp_path)
    agent_id = agent.enroll(cloud)
    agent.start()
    try:
        wait_for(lambda: len(cloud.report_keys(agent_id)) >= 2, 20, "reports before revocation")
        request = urllib.request.Request(
            f"{cloud.api_url}/api/v1/agents/{agent_id}/revoke",
            method="POST",
            headers={"Authorization": "Bearer test-operator-token-0123456789"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["revoked"] is True
        # Ingestion refuses it at once (within its key cache time), whatever the broker does.
        wait_for(
            lambda: cloud.get("/api/v1/ingest/stats")["rejected"].get("revoked", 0) >= 1,
            30,
            "the ingestion to reject the revoked agent",
        )
        stored = len(cloud.report_keys(agent_id))
        # The broker still accepts the certificate until it reloads the CRL the cloud wrote ...
        probe = _client(broker, agent, "probe-" + agent_id[:8])
        assert _connect(probe, broker)
        probe.disconnect()
        probe.loop_stop()
        # ... and refuses new connections once it has (SIGHUP; mosquitto 2.0 re-reads it).
        broker.reload()
        time.sleep(1)
        assert not _connect(_client(broker, agent, agent_id), broker)
        time.sleep(3)
        assert len(cloud.report_keys(agent_id)) == stored
    finally:
        agent.stop()
    # Re-enrollment with a new code gives a new identity that works.
    fresh = AgentProcess(tmp_path, name="fresh")
    fresh_id = fresh.enroll(cloud)
    assert fresh_id != agent_id
    fresh.start()
    try:
        wait_for(lambda: len(cloud.report_keys(fresh_id)) >= 1, 20, "the re-enrolled agent's reports")
    finally:
        fresh.stop()


def test_pairing_codes_lock_out_guessers(secure: tuple[CloudProcess, SecureBroker]) -> None:
    cloud, _ = secure
    good = cloud.pairing_code()
    agent_key = protocol.public_key_text(protocol.generate_private_key())

    def attempt(code: str) -> int:
        body = json.dumps({"code": code, "public_key": agent_key, "csr": "x" * 200}).encode()
        request = urllib.request.Request(
            f"{cloud.api_url}/api/v1/enrollments",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)

    assert [attempt(f"ZZZZ-{i:04d}") for i in range(10)] == [403] * 10
    assert attempt(good) == 429, "locked out, even with a valid code"


def test_cloud_key_rotation_without_re_enrollment(tmp_path: Path) -> None:
    """begin -> agents pin the next key at hello -> finish -> acks signed by the new key are accepted."""
    broker = Mosquitto(tmp_path)
    broker.start()
    cloud = CloudProcess(tmp_path, broker_url=broker.url)
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 0.5}})
    try:
        cloud.start()
        agent.enroll(cloud)
        old_key = json.loads((agent.state_dir / "enrollment.json").read_text())["cloud_public_keys"]
        assert len(old_key) == 1
        next_key = cloud.cli("rotate-key", "begin")
        agent.start()

        def pinned_keys() -> list[str]:
            return list(json.loads((agent.state_dir / "enrollment.json").read_text())["cloud_public_keys"])

        pinned = wait_for(
            lambda: len(pinned_keys()) == 2 and pinned_keys(), 20, "the agent to pin the next key"
        )
        assert pinned == [*old_key, next_key]
        cloud.cli("rotate-key", "finish")  # the running cloud signs with the new key from now on
        agent.restart_quiet()
        assert_exactly_once(cloud, agent)
        # After the rotation the agent is told to drop the retired key.
        wait_for(
            lambda: (
                json.loads((agent.state_dir / "enrollment.json").read_text())["cloud_public_keys"]
                == [next_key]
            ),
            20,
            "the old key to be retired",
        )
    finally:
        agent.stop()
        cloud.stop()
        broker.stop()


def test_certificate_renewal_without_an_operator(
    secure: tuple[CloudProcess, SecureBroker], tmp_path: Path
) -> None:
    cloud, _ = secure
    cloud.stop()
    cloud.env["HOMEDIAG_CERT_VALIDITY_DAYS"] = str(30 / 86400)  # 30 s, plus the 1-day back-dating
    cloud.start()
    agent = AgentProcess(tmp_path, link={"renew_check_s": 1.0})
    agent_id = agent.enroll(cloud)
    first = (agent.state_dir / "tls-cert.pem").read_bytes()
    agent.start()
    try:
        wait_for(lambda: agent.status().get("certificate_renewals", 0) >= 1, 30, "a renewal")
        assert (agent.state_dir / "tls-cert.pem").read_bytes() != first
        # The renewed certificate works: after a reconnect the agent reports over mTLS again.
        agent.restart_quiet()
        wait_for(
            lambda: cloud.get(f"/api/v1/agents/{agent_id}")["online"], 20, "online with the new certificate"
        )
        assert_exactly_once(cloud, agent)
    finally:
        agent.stop()
