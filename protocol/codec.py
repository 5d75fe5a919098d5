"""Sealing and opening messages.

Wire format (one MQTT payload)::

    <envelope as compact JSON>\n<Ed25519 signature of those JSON bytes, base64url, no padding>

The signature covers the exact bytes sent, and the receiver verifies those bytes
before it parses them, so nothing is ever re-serialised to be checked. Compact
JSON never contains a raw newline, so the last newline is the separator. The
text stays readable in ``mosquitto_sub``.
"""

from __future__ import annotations

import time
import uuid
from typing import TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .const import MAX_PAYLOAD_BYTES, SCHEMA_VERSION, SIGNATURE_B64_LEN
from .errors import MalformedMessage, PayloadTooLarge, TopicMismatch, UnsupportedVersion
from .messages import BODY_TYPE, CHANNEL_OF, KIND_OF, Body, Envelope
from .signing import b64decode, b64encode, verify
from .topics import ParsedTopic

B = TypeVar("B", bound=Body)

_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Envelope)
_body_decoders = {kind: msgspec.json.Decoder(t) for kind, t in BODY_TYPE.items()}


class _Versioned(msgspec.Struct):
    v: int


def new_message_id() -> str:
    return uuid.uuid4().hex


def seal(
    key: Ed25519PrivateKey,
    *,
    agent: str,
    body: Body,
    epoch: int = 0,
    seq: int = 0,
    sent: float | None = None,
    message_id: str | None = None,
) -> bytes:
    """Build, sign and frame one message. The kind follows from the body's type."""
    envelope = Envelope(
        v=SCHEMA_VERSION,
        id=message_id or new_message_id(),
        agent=agent,
        epoch=epoch,
        seq=seq,
        sent=time.time() if sent is None else sent,
        kind=KIND_OF[type(body)],
        body=msgspec.Raw(_encoder.encode(body)),
    )
    data = _encoder.encode(envelope)
    payload = data + b"\n" + b64encode(key.sign(data)).encode("ascii")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"sealed message is {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    return payload


def split(payload: bytes) -> tuple[bytes, bytes]:
    """Return (signed bytes, signature) or raise; checks size and framing only."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"payload is {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    data, sep, sig_text = payload.rpartition(b"\n")
    if not sep or len(sig_text) != SIGNATURE_B64_LEN:
        raise MalformedMessage("not a sealed homediag message")
    signature = b64decode(sig_text)
    # base64 leaves spare bits in the last character; demanding the canonical
    # form keeps the encoded signature itself non-malleable.
    if len(signature) != 64 or b64encode(signature).encode("ascii") != sig_text:
        raise MalformedMessage("signature is not 64 bytes of canonical base64url")
    return data, signature


def decode_envelope(data: bytes) -> Envelope:
    """Strictly decode envelope JSON (already verified, or for inspection only)."""
    try:
        envelope = _envelope_decoder.decode(data)
    except msgspec.DecodeError as exc:
        _raise_if_other_version(data)
        raise MalformedMessage(f"bad envelope: {exc}") from exc
    if envelope.v != SCHEMA_VERSION:
        raise UnsupportedVersion(f"envelope version {envelope.v}, this code speaks {SCHEMA_VERSION}")
    return envelope


def _raise_if_other_version(data: bytes) -> None:
    try:
        version = msgspec.json.decode(data, type=_Versioned).v
    except msgspec.DecodeError:
        return
    if version != SCHEMA_VERSION:
        raise UnsupportedVersion(f"envelope version {version}, this code speaks {SCHEMA_VERSION}")


def unseal(payload: bytes, key: Ed25519PublicKey) -> Envelope:
    """Verify the signature over the received bytes, then decode the envelope."""
    data, signature = split(payload)
    verify(key, signature, data)
    return decode_envelope(data)


def check_topic(envelope: Envelope, topic: ParsedTopic) -> None:
    """The topic must name the envelope's agent and the channel of its kind."""
    if envelope.agent != topic.agent_id:
        raise TopicMismatch(f"envelope agent {envelope.agent!r} published on {topic.agent_id!r}'s topic")
    if CHANNEL_OF[envelope.kind] != topic.channel:
        raise TopicMismatch(f"{envelope.kind.value} message on channel {topic.channel.value}")


def decode_body(envelope: Envelope, expected: type[B]) -> B:
    """Decode the body as ``expected``; the envelope's kind must match it."""
    if BODY_TYPE[envelope.kind] is not expected:
        raise MalformedMessage(f"expected {expected.__name__}, got a {envelope.kind.value} message")
    try:
        body = _body_decoders[envelope.kind].decode(envelope.body)
    except msgspec.DecodeError as exc:
        raise MalformedMessage(f"bad {envelope.kind.value} body: {exc}") from exc
    assert isinstance(body, expected)
    return body


def encode_json(value: object) -> bytes:
    """JSON the same way the protocol does (for storing bodies verbatim)."""
    return _encoder.encode(value)
