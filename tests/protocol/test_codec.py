"""The sealed envelope: round trips, and every tampering rejected with a typed error."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol
from protocol import (
    Ack,
    BadSignature,
    Channel,
    Hello,
    MalformedMessage,
    ParsedTopic,
    PayloadTooLarge,
    ProtocolError,
    Sample,
    Status,
    TelemetryBatch,
    TopicMismatch,
    UnsupportedVersion,
    check_topic,
    decode_body,
    generate_private_key,
    seal,
    signing,
    unseal,
)
from protocol.const import MAX_PAYLOAD_BYTES

KEY = generate_private_key()
OTHER_KEY = generate_private_key()

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
samples = st.builds(
    Sample,
    probe=st.text(min_size=1, max_size=20),
    at=st.floats(min_value=0, max_value=4e9),
    status=st.sampled_from(["Complete", "Error_Other", "Error_Timeout"]),
    data=st.dictionaries(st.text(max_size=12), json_values, max_size=5),
)
batches = st.builds(TelemetryBatch, samples=st.lists(samples, max_size=8), dropped=st.integers(0, 10**6))
agent_ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{2,20}\Z")


@given(body=batches, agent=agent_ids, epoch=st.integers(0, 2**40), seq=st.integers(0, 2**62))
def test_round_trip(body: TelemetryBatch, agent: str, epoch: int, seq: int) -> None:
    payload = seal(KEY, agent=agent, body=body, epoch=epoch, seq=seq)
    envelope = unseal(payload, KEY.public_key())
    assert (envelope.agent, envelope.epoch, envelope.seq) == (agent, epoch, seq)
    assert decode_body(envelope, TelemetryBatch) == body
    check_topic(envelope, ParsedTopic(agent, Channel.TELEMETRY))


FIXED_PAYLOAD = seal(
    KEY,
    agent="agent-1",
    body=Hello(agent_version="1", platform="linux"),
    seq=7,
    sent=1.0,
    message_id="c" * 32,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(data=st.data())
def test_any_flipped_bit_is_rejected(data: st.DataObject) -> None:
    payload = FIXED_PAYLOAD
    index = data.draw(st.integers(0, len(payload) - 1))
    bit = data.draw(st.integers(0, 7))
    tampered = bytearray(payload)
    tampered[index] ^= 1 << bit
    with pytest.raises(ProtocolError):
        unseal(bytes(tampered), KEY.public_key())


@given(cut=st.integers(min_value=1, max_value=200))
def test_truncated_payload_is_rejected(cut: int) -> None:
    payload = seal(KEY, agent="agent-1", body=Status(state="online"))
    with pytest.raises((MalformedMessage, BadSignature)):
        unseal(payload[: max(0, len(payload) - cut)], KEY.public_key())


def test_wrong_key_is_rejected() -> None:
    payload = seal(OTHER_KEY, agent="agent-1", body=Status(state="online"))
    with pytest.raises(BadSignature):
        unseal(payload, KEY.public_key())


def test_swapped_agent_id_is_rejected() -> None:
    payload = seal(KEY, agent="agent-1", body=Status(state="online"))
    # Re-labelling the agent inside the signed bytes breaks the signature ...
    with pytest.raises(BadSignature):
        unseal(payload.replace(b'"agent-1"', b'"agent-2"'), KEY.public_key())
    # ... and a valid message replayed on another agent's topic fails the topic check.
    envelope = unseal(payload, KEY.public_key())
    with pytest.raises(TopicMismatch):
        check_topic(envelope, ParsedTopic("agent-2", Channel.STATUS))
    with pytest.raises(TopicMismatch):
        check_topic(envelope, ParsedTopic("agent-1", Channel.TELEMETRY))


def test_oversize_payload_is_rejected_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        unseal(b"{" * (MAX_PAYLOAD_BYTES + 1), KEY.public_key())
    huge = TelemetryBatch(samples=[Sample(probe="p", at=1.0, status="Complete", data={"x": "y" * 300_000})])
    with pytest.raises(PayloadTooLarge):
        seal(KEY, agent="agent-1", body=huge)


def _sign_raw(data: bytes) -> bytes:
    return data + b"\n" + protocol.signing.b64encode(KEY.sign(data)).encode()


def test_unknown_version_is_a_typed_error() -> None:
    data = b'{"v":2,"whatever":true}'
    with pytest.raises(UnsupportedVersion):
        unseal(_sign_raw(data), KEY.public_key())


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"v":1}',
        b'{"v":1,"id":"x","agent":"agent-1","epoch":0,"seq":1,"sent":1.0,"kind":"status","body":{}}',
        b'{"v":1,"id":"' + b"a" * 32 + b'","agent":"agent-1","epoch":0,"seq":"1","sent":1.0,'
        b'"kind":"status","body":{}}',
        b'{"v":1,"id":"' + b"a" * 32 + b'","agent":"agent-1","epoch":0,"seq":-1,"sent":1.0,'
        b'"kind":"status","body":{}}',
        b'{"v":1,"id":"' + b"a" * 32 + b'","agent":"agent-1","epoch":0,"seq":1,"sent":1.0,'
        b'"kind":"nope","body":{}}',
        b'{"v":1,"id":"' + b"a" * 32 + b'","agent":"../#","epoch":0,"seq":1,"sent":1.0,'
        b'"kind":"status","body":{}}',
        b'{"v":1,"id":"' + b"a" * 32 + b'","agent":"agent-1","epoch":0,"seq":1,"sent":1.0,'
        b'"kind":"status","body":{},"extra":1}',
    ],
)
def test_malformed_envelopes_are_typed_errors(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        unseal(_sign_raw(data), KEY.public_key())


def test_mistyped_body_is_a_typed_error() -> None:
    data = (
        b'{"v":1,"id":"' + b"a" * 32 + b'","agent":"agent-1","epoch":0,"seq":1,"sent":1.0,'
        b'"kind":"telemetry","body":{"samples":"lots"}}'
    )
    envelope = unseal(_sign_raw(data), KEY.public_key())
    with pytest.raises(MalformedMessage):
        decode_body(envelope, TelemetryBatch)
    with pytest.raises(MalformedMessage):
        decode_body(envelope, Ack)


def test_bodies_tolerate_added_fields() -> None:
    # Additive evolution within v1: a newer agent's extra field does not break an older cloud.
    body = msgspec.json.encode({"agent_version": "9", "platform": "linux", "future": [1, 2]})
    data = (
        b'{"v":1,"id":"' + b"b" * 32 + b'","agent":"agent-1","epoch":0,"seq":1,"sent":1.0,'
        b'"kind":"hello","body":' + body + b"}"
    )
    assert decode_body(unseal(_sign_raw(data), KEY.public_key()), Hello).agent_version == "9"


@pytest.mark.parametrize(
    "topic",
    [
        "homediag/v1/agent/agent-1",
        "homediag/v1/agent/agent-1/telemetry/x",
        "homediag/v1/agent/+/telemetry",
        "homediag/v1/agent/agent-1/unknown",
        "other/v1/agent/agent-1/telemetry",
        "homediag/v1/agent/AGENT/telemetry",
    ],
)
def test_bad_topics_are_rejected(topic: str) -> None:
    with pytest.raises(TopicMismatch):
        protocol.parse_topic(topic)


def test_topic_round_trip() -> None:
    topic = protocol.topic_for("agent-1", Channel.TELEMETRY)
    assert protocol.parse_topic(topic) == ParsedTopic("agent-1", Channel.TELEMETRY)
    assert (
        protocol.subscription_for(Channel.TELEMETRY, "ingest")
        == "$share/ingest/homediag/v1/agent/+/telemetry"
    )
    with pytest.raises(TopicMismatch):
        protocol.topic_for("a/b", Channel.TELEMETRY)


def test_public_key_text_round_trip() -> None:
    text = protocol.public_key_text(KEY)
    assert protocol.public_key_text(protocol.load_public_key(text)) == text
    with pytest.raises(MalformedMessage):
        protocol.load_public_key("c2hvcnQ")
    pem = protocol.private_key_pem(KEY)
    assert protocol.public_key_text(protocol.load_private_key_pem(pem)) == text


@settings(max_examples=50)
@given(message=st.binary(max_size=300), flip=st.integers(0, 64 * 8 - 1))
def test_both_verifiers_agree(message: bytes, flip: int) -> None:
    """libsodium (fast path) and OpenSSL (the agent's) accept and refuse the same signatures."""
    signature = KEY.sign(message)
    for verify in (signing.verify, signing.verify_with_cryptography):
        verify(KEY.public_key(), signature, message)
        with pytest.raises(BadSignature):
            verify(OTHER_KEY.public_key(), signature, message)
        bad = bytearray(signature)
        bad[flip // 8] ^= 1 << (flip % 8)
        with pytest.raises(BadSignature):
            verify(KEY.public_key(), bytes(bad), message)
