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
from typing import Annotated, TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from msgspec import Meta

from .const import MAX_PAYLOAD_BYTES, SCHEMA_VERSION, SIGNATURE_B64_LEN
from .errors import MalformedMessage, OutOfBounds, PayloadTooLarge, TopicMismatch, UnsupportedVersion
from .limits import check_data
from .messages import BODY_TYPE, CHANNEL_OF, KIND_OF, Body, CommandResult, Envelope, Kind, TelemetryBatch
from .samples import check_sample_data
from .signing import b64decode, b64encode, verify
from .topics import ParsedTopic

B = TypeVar("B", bound=Body)

_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Envelope)
_body_decoders = {kind: msgspec.json.Decoder(t) for kind, t in BODY_TYPE.items()}


class _Versioned(msgspec.Struct):
    v: int


class Identity(msgspec.Struct, frozen=True):
    """Who sent a report and which one it is, read without the envelope's other checks."""

    agent: str
    epoch: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    seq: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    kind: Kind


_identity_decoder = msgspec.json.Decoder(Identity)


def peek_identity(data: bytes) -> Identity | None:
    """The ``(agent, epoch, seq, kind)`` of signed bytes whose envelope does not decode, so the
    receiver can acknowledge and set aside a report it refuses instead of having it re-sent
    forever. Only for bytes whose signature has already been verified."""
    try:
        return _identity_decoder.decode(data)
    except msgspec.DecodeError:
        return None


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
        raise _decode_error("envelope", exc) from exc
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
        raise _decode_error(f"{envelope.kind.value} body", exc) from exc
    assert isinstance(body, expected)
    if isinstance(body, TelemetryBatch):
        for i, sample in enumerate(body.samples):
            check_data(sample.data, f"samples[{i}].data")
            current = check_sample_data(sample.probe, sample.data)
            if current is not sample.data:  # an older agent's shape, read as today's
                body.samples[i] = msgspec.structs.replace(sample, data=dict(current))
    elif isinstance(body, CommandResult):
        check_data(body.data)
    return body


#: How msgspec words a broken constraint (``Expected `float` <= 4102444800.0``, ``length <= 128``).
_BOUND_WORDS = ("<=", ">=", " < ", " > ", "length")


def _decode_error(what: str, exc: msgspec.DecodeError) -> MalformedMessage:
    """A value outside its declared range is :class:`OutOfBounds`; anything else is malformed."""
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError) and any(w in text for w in _BOUND_WORDS):
        return OutOfBounds(f"{what}: {text}")
    return MalformedMessage(f"bad {what}: {text}")


def encode_json(value: object) -> bytes:
    """JSON the same way the protocol does (for storing bodies verbatim)."""
    return _encoder.encode(value)
