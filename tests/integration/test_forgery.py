"""Forged, replayed and malformed messages are rejected and counted; good data keeps flowing."""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from protocol import BrokerAddress, Channel, Hello, Sample, TelemetryBatch
from tests.support import AgentProcess, CloudProcess, wait_for

pytestmark = pytest.mark.broker


def _publish(broker_url: str, messages: list[tuple[str, bytes]]) -> None:
    address = BrokerAddress.parse(broker_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="attacker")
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def _batch(n: float) -> TelemetryBatch:
    return TelemetryBatch(samples=[Sample(probe="forged", at=n, status="Complete", data={"x": n})])


def test_forgeries_are_rejected_and_counted(cloud: CloudProcess, tmp_path: Path) -> None:
    alice, bob = AgentProcess(tmp_path, name="alice"), AgentProcess(tmp_path, name="bob")
    alice_id, bob_id = alice.enroll(cloud), bob.enroll(cloud)
    alice_key = protocol.load_private_key_pem((alice.state_dir / "agent-key.pem").read_bytes())
    bob_key = protocol.load_private_key_pem((bob.state_dir / "agent-key.pem").read_bytes())
    stranger = protocol.generate_private_key()
    telemetry = protocol.topic_for(alice_id, Channel.TELEMETRY)
    genuine = protocol.seal(alice_key, agent=alice_id, body=_batch(1), epoch=1, seq=1)
    forged = [
        # signed by a key that is not alice's
        (telemetry, protocol.seal(stranger, agent=alice_id, body=_batch(2), epoch=1, seq=2)),
        # alice's genuine message replayed on bob's topic
        (protocol.topic_for(bob_id, Channel.TELEMETRY), genuine),
        # bob, with his own valid key, claiming to be alice
        (
            protocol.topic_for(bob_id, Channel.TELEMETRY),
            protocol.seal(bob_key, agent=alice_id, body=_batch(3), epoch=1, seq=3),
        ),
        # a hello on the telemetry channel
        (telemetry, protocol.seal(alice_key, agent=alice_id, body=Hello(agent_version="x", platform="y"))),
        # garbage, an oversized payload, an agent nobody enrolled
        (telemetry, b'{"v": 1, "this is": "not sealed"}'),
        (telemetry, b"x" * (protocol.MAX_PAYLOAD_BYTES + 1)),
        (protocol.topic_for("nobody-enrolled-this", Channel.TELEMETRY), genuine),
    ]
    _publish(cloud.broker_url, [(telemetry, genuine), *forged, (telemetry, genuine)])
    stats = wait_for(
        lambda: (
            (s := cloud.get("/api/v1/ingest/stats"))["received"] >= len(forged) + 2
            and s["stored"] + s["duplicates"] >= 2
            and s
        ),
        20,
        "the ingest",
    )
    assert stats["rejected"] == {
        "signature": 2,
        "topic": 2,
        "malformed": 1,
        "too_large": 1,
        "unknown_agent": 1,
    }
    assert stats["duplicates"] == 1, "the replayed genuine message is acknowledged, not stored twice"
    assert cloud.report_keys(alice_id) == [(1, 1)]
    assert cloud.report_keys(bob_id) == []
    # The ingest keeps running: a real agent's reports still arrive.
    bob.start()
    try:
        wait_for(
            lambda: cloud.get(f"/api/v1/agents/{bob_id}/telemetry/latest")["probes"], 20, "bob's telemetry"
        )
    finally:
        bob.stop()
    with cloud.db() as db:
        probes = {
            row[0] for row in db.execute("SELECT DISTINCT probe FROM samples WHERE agent_id = ?", (bob_id,))
        }
    assert "netdev" in probes
    assert "forged" not in probes
