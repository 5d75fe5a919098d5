"""Issue 17, finding 1: one enrolled agent's poison reports never stop ingestion for the others.

Two real agents report through a real cloud process while a third enrolled agent publishes, on its
own topics and correctly signed, a poison report of each kind: times past what any datetime holds,
numbers past int64 or past any real figure, nesting too deep. The two agents' reports keep arriving,
each poison report is quarantined once and acknowledged as refused, and nothing is lost or doubled.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from protocol import Ack, BrokerAddress, Channel, CommandResult, Hello, Sample, TelemetryBatch
from tests.support import AgentProcess, CloudProcess, assert_exactly_once, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def _sample(probe: str, data: dict[str, Any], at: float = 1_700_000_000.0) -> TelemetryBatch:
    return TelemetryBatch(samples=[Sample(probe=probe, at=at, status="Complete", data=data)])


#: (what, channel, body, envelope 'sent'): each is signed by its (enrolled) agent and refused.
POISON: list[tuple[str, Channel, protocol.Body, float | None]] = [
    ("telemetry sent in the year 3e12", Channel.TELEMETRY, _sample("netdev", {}), 1e20),
    ("a sample at 1e20", Channel.TELEMETRY, _sample("netdev", {}, at=1e20), None),
    ("an integer past int64", Channel.TELEMETRY, _sample("netdev", {"BytesReceived": 2**70}), None),
    ("usage from 1e15", Channel.TELEMETRY, _sample("usage", {"Start": 1e15, "End": 1e15 + 60}), None),
    (
        "a device-hour of 1e17 bytes",
        Channel.TELEMETRY,
        _sample(
            "device_usage", {"Hours": [{"Hour": 3600.0, "PhysAddress": "other", "BytesReceived": 10**17}]}
        ),
        None,
    ),
    ("a loss of 1e300 %", Channel.TELEMETRY, _sample("ping", {"LossPercent": 1e300}), None),
    ("inventory of 2000 hosts", Channel.TELEMETRY, _sample("discovery", {"Hosts": [{}] * 2000}), None),
    ("a sample nested 40 deep", Channel.TELEMETRY, _sample("netdev", _deep(40)), None),
    (
        "a command result nested 40 deep",
        Channel.RESULT,
        CommandResult(command_id="0" * 32, status="Complete", data=_deep(40)),
        None,
    ),
    ("a hello sent at 1e20", Channel.HELLO, Hello(agent_version="9", platform="x"), 1e20),
]


class _Hostile:
    """An enrolled agent's identity driven by hand: publishes sealed reports, collects its acks."""

    def __init__(self, broker_url: str, agent_id: str, key: protocol.Ed25519PrivateKey) -> None:
        self.agent_id, self.key = agent_id, key
        self.acked: set[int] = set()
        self.refused: set[int] = set()
        self._lock = threading.Lock()
        address = BrokerAddress.parse(broker_url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{agent_id[:8]}")
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        self.client.subscribe(protocol.topic_for(agent_id, Channel.ACK), qos=1)[0]

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        envelope = protocol.decode_envelope(protocol.split(bytes(message.payload))[0])
        if envelope.kind is protocol.Kind.ACK:
            ack = protocol.decode_body(envelope, Ack)
            with self._lock:
                self.acked.update(ack.seqs)
                self.refused.update(ack.rejected)

    def publish(self, channel: Channel, body: protocol.Body, seq: int, sent: float | None) -> None:
        payload = protocol.seal(self.key, agent=self.agent_id, body=body, epoch=77, seq=seq, sent=sent)
        self.client.publish(protocol.topic_for(self.agent_id, channel), payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _stored(cloud: CloudProcess, agent: AgentProcess) -> int:
    return len(cloud.report_keys(agent.agent_id))


def test_poison_reports_are_quarantined_and_others_keep_flowing(cloud: CloudProcess, tmp_path: Path) -> None:
    alice, bob, mallory = (AgentProcess(tmp_path, name=n) for n in ("alice", "bob", "mallory"))
    for agent in (alice, bob, mallory):
        agent.enroll(cloud)
    key = protocol.load_private_key_pem((mallory.state_dir / "agent-key.pem").read_bytes())
    alice.start()
    bob.start()
    hostile = _Hostile(cloud.broker_url, mallory.agent_id, key)
    try:
        wait_for(lambda: _stored(cloud, alice) >= 2 and _stored(cloud, bob) >= 2, 30, "both agents reporting")
        # Twice each, as an agent that never heard an ack re-sends: still one quarantine row each.
        for _ in range(2):
            for seq, (_what, channel, body, sent) in enumerate(POISON, start=1):
                hostile.publish(channel, body, seq, sent)
        # A good report from the same agent after the poison is stored and acknowledged.
        good_seq = len(POISON) + 1
        hostile.publish(Channel.TELEMETRY, _sample("netdev", {"BytesReceived": 1}), good_seq, None)
        before = (_stored(cloud, alice), _stored(cloud, bob))
        wait_for(
            lambda: _stored(cloud, alice) >= before[0] + 3 and _stored(cloud, bob) >= before[1] + 3,
            30,
            "the other agents' reports to keep arriving after the poison",
        )
        seqs = set(range(1, len(POISON) + 1))
        wait_for(lambda: seqs <= hostile.refused, 20, f"acks refusing every poison report ({POISON})")
        wait_for(lambda: good_seq in hostile.acked, 20, "the ack of the good report")
        page = cloud.get("/api/v1/quarantine?limit=100")
        by_seq = {item["seq"]: item for item in page["items"] if item["agent_id"] == mallory.agent_id}
        missing = [what for seq, (what, *_rest) in enumerate(POISON, start=1) if seq not in by_seq]
        assert not missing, f"not in quarantine: {missing}; {cloud.log_tail()}"
        assert page["total"] == len(POISON), "each poison report is quarantined once, re-sends included"
        assert {item["reason"] for item in by_seq.values()} <= {"bounds", "malformed"}
        assert all(item["size_bytes"] > 0 for item in by_seq.values())
        assert cloud.report_keys(mallory.agent_id) == [(77, good_seq)]
        stats = cloud.get("/api/v1/ingest/stats")
        assert stats["quarantined"] >= len(POISON)
        assert stats["rejected"].get("bounds", 0) >= len(POISON)
        # The operator's CLI lists them too.
        listing = cloud.cli("quarantine", "--limit", "100")
        assert f"{len(POISON)} reports set aside" in listing
        assert mallory.agent_id in listing
    finally:
        hostile.close()
        alice.restart_quiet()
        bob.restart_quiet()
    try:
        for agent in (alice, bob):
            assert_exactly_once(cloud, agent)
    finally:
        alice.stop()
        bob.stop()
