"""Errors of the wire contract.

ProtocolError
├── PayloadTooLarge      the payload exceeds MAX_PAYLOAD_BYTES
├── MalformedMessage     not a sealed envelope, bad JSON, missing or mistyped fields
│   ├── UnsupportedVersion  an envelope version this code does not speak
│   ├── SampleDataError     a sample's data does not fit its kind's Struct     samples/errors.py
│   │   └── SampleOutOfBounds  (also OutOfBounds) ... because a value is out of bounds
│   └── OutOfBounds         a number, time, length or count outside what the contract allows
├── BadSignature         the signature does not verify with the expected key
└── TopicMismatch        topic and envelope disagree (agent id or kind), or an unknown topic
"""


class ProtocolError(Exception):
    """Base class of every error raised by :mod:`protocol`."""

    #: Short machine-readable reason, used as a counter label by receivers.
    reason = "protocol"


class PayloadTooLarge(ProtocolError):
    reason = "too_large"


class MalformedMessage(ProtocolError):
    reason = "malformed"


class UnsupportedVersion(MalformedMessage):
    reason = "version"


class OutOfBounds(MalformedMessage):
    """Well-formed, but a value no receiver can store or act on (a time past 2100, an int past
    int64, a nesting too deep): refused at decode, never met deep in storage."""

    reason = "bounds"


class BadSignature(ProtocolError):
    reason = "signature"


class TopicMismatch(ProtocolError):
    reason = "topic"
