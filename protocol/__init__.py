"""homediag wire contract, shared by the agent and the cloud.

Imports neither side and nothing heavier than ``msgspec`` and ``cryptography``,
because the agent loads it on small gateways. See ``docs/protocol.md``.

    messages, codec, topics, signing   the envelope, its bodies, sealing and opening
    probes, samples                    the sample kinds' names and the typed data of each
    tr181                              each kind's TR-181 object, the vendor prefix of extensions
    catalogue                          the commands and their typed parameters
    limits, const, errors              bounds of free-form data, numbers, the exception tree
"""

from .broker_url import BrokerAddress
from .codec import (
    Identity,
    check_topic,
    decode_body,
    decode_envelope,
    encode_json,
    new_message_id,
    peek_identity,
    seal,
    split,
    unseal,
)
from .const import MAX_PAYLOAD_BYTES, SCHEMA_VERSION, TOPIC_ROOT
from .errors import (
    BadSignature,
    MalformedMessage,
    OutOfBounds,
    PayloadTooLarge,
    ProtocolError,
    TopicMismatch,
    UnsupportedVersion,
)
from .messages import (
    Ack,
    Body,
    Command,
    CommandResult,
    Envelope,
    Hello,
    Kind,
    Revoked,
    Sample,
    Status,
    TelemetryBatch,
)
from .probes import ProbeName
from .samples import SampleData, SampleDataError, SampleOutOfBounds, decode_data
from .signing import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    generate_private_key,
    load_private_key_pem,
    load_public_key,
    private_key_pem,
    public_key_text,
    verify,
)
from .topics import Channel, ParsedTopic, is_valid_agent_id, parse_topic, subscription_for, topic_for

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "TOPIC_ROOT",
    "Ack",
    "BadSignature",
    "Body",
    "BrokerAddress",
    "Channel",
    "Command",
    "CommandResult",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "Envelope",
    "Hello",
    "Identity",
    "Kind",
    "MalformedMessage",
    "OutOfBounds",
    "ParsedTopic",
    "PayloadTooLarge",
    "ProbeName",
    "ProtocolError",
    "Revoked",
    "Sample",
    "SampleData",
    "SampleDataError",
    "SampleOutOfBounds",
    "Status",
    "TelemetryBatch",
    "TopicMismatch",
    "UnsupportedVersion",
    "check_topic",
    "decode_body",
    "decode_data",
    "decode_envelope",
    "encode_json",
    "generate_private_key",
    "is_valid_agent_id",
    "load_private_key_pem",
    "load_public_key",
    "new_message_id",
    "parse_topic",
    "peek_identity",
    "private_key_pem",
    "public_key_text",
    "seal",
    "split",
    "subscription_for",
    "topic_for",
    "unseal",
    "verify",
]
