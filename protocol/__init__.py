"""homediag wire contract, shared by the agent and the cloud.

Imports neither side and nothing heavier than ``msgspec`` and ``cryptography``,
because the agent loads it on small gateways. See ``docs/protocol.md``.
"""

from .broker_url import BrokerAddress
from .codec import (
    check_topic,
    decode_body,
    decode_envelope,
    encode_json,
    new_message_id,
    seal,
    split,
    unseal,
)
from .const import MAX_PAYLOAD_BYTES, SCHEMA_VERSION, TOPIC_ROOT
from .errors import (
    BadSignature,
    MalformedMessage,
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
    Sample,
    Status,
    TelemetryBatch,
)
from .signing import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    generate_private_key,
    load_private_key_pem,
    load_public_key,
    private_key_pem,
    public_key_text,
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
    "Kind",
    "MalformedMessage",
    "ParsedTopic",
    "PayloadTooLarge",
    "ProtocolError",
    "Sample",
    "Status",
    "TelemetryBatch",
    "TopicMismatch",
    "UnsupportedVersion",
    "check_topic",
    "decode_body",
    "decode_envelope",
    "encode_json",
    "generate_private_key",
    "is_valid_agent_id",
    "load_private_key_pem",
    "load_public_key",
    "new_message_id",
    "parse_topic",
    "private_key_pem",
    "public_key_text",
    "seal",
    "split",
    "subscription_for",
    "topic_for",
    "unseal",
]
