"""Message schemas (v1): the envelope and one body type per kind.

Bodies ignore unknown fields so a newer agent can add a field without breaking an
older cloud; the envelope forbids them, because it is what the signature and the
de-duplication key rest on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .const import AGENT_ID_PATTERN, MAX_ACK_SEQS, MAX_NAME_LEN, MAX_SAMPLES_PER_BATCH, MAX_UNIX_TIME
from .topics import Channel

Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME_LEN)]
#: Bounded on both sides: a time past MAX_UNIX_TIME is no store's datetime (finding 1 of issue 17).
UnixTime = Annotated[float, Meta(ge=0, le=MAX_UNIX_TIME)]
Counter = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class Kind(StrEnum):
    HELLO = "hello"
    TELEMETRY = "telemetry"
    COMMAND = "command"
    RESULT = "result"
    ACK = "ack"
    STATUS = "status"
    REVOKED = "revoked"


#: The channel each kind travels on; a receiver rejects any other pairing.
CHANNEL_OF: dict[Kind, Channel] = {
    Kind.HELLO: Channel.HELLO,
    Kind.TELEMETRY: Channel.TELEMETRY,
    Kind.COMMAND: Channel.COMMAND,
    Kind.RESULT: Channel.RESULT,
    Kind.ACK: Channel.ACK,
    Kind.STATUS: Channel.STATUS,
    # On the agent's ack channel: the cloud's answer to an agent it no longer accepts.
    Kind.REVOKED: Channel.ACK,
}


class Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What is signed. ``(agent, epoch, seq)`` identifies a report for de-duplication.

    ``epoch`` changes when an agent loses its outbox (a new epoch restarts ``seq``
    at 1 without colliding with reports already stored). Messages the cloud signs
    carry the addressed agent in ``agent`` so they cannot be replayed to another.
    """

    v: int
    id: Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")]
    agent: Annotated[str, Meta(pattern=AGENT_ID_PATTERN)]
    epoch: Counter
    seq: Counter
    sent: UnixTime
    kind: Kind
    body: msgspec.Raw


class Hello(msgspec.Struct, frozen=True):
    agent_version: Name
    platform: Name
    hostname: Annotated[str, Meta(max_length=255)] = ""
    capabilities: Annotated[list[Name], Meta(max_length=64)] = []
    probes: Annotated[list[Name], Meta(max_length=64)] = []


class Sample(msgspec.Struct, frozen=True):
    """One probe run. ``status`` follows TR-181 diagnostics: ``Complete`` or ``Error_...``."""

    probe: Name
    at: UnixTime
    status: Name
    data: dict[str, Any] = {}


class TelemetryBatch(msgspec.Struct, frozen=True):
    samples: Annotated[list[Sample], Meta(max_length=MAX_SAMPLES_PER_BATCH)]
    #: Reports the agent's outbox has discarded (outbox full) since its epoch began:
    #: a running total, so losing one batch does not lose the count.
    dropped: Counter = 0


class Status(msgspec.Struct, frozen=True):
    """Retained per agent. ``session`` is when the MQTT session began: the last will
    is signed at connect time, so statuses are ordered by session, and within one
    session ``offline`` is final."""

    state: Literal["online", "offline"]
    session: UnixTime = 0.0


class Ack(msgspec.Struct, frozen=True):
    """The cloud stored (or already had) ``seqs``; it refused ``rejected`` for good."""

    epoch: Counter
    seqs: Annotated[list[Counter], Meta(max_length=MAX_ACK_SEQS)]
    rejected: Annotated[list[Counter], Meta(max_length=MAX_ACK_SEQS)] = []


class Revoked(msgspec.Struct, frozen=True):
    """The cloud refuses this agent for good (its operator revoked it): stop sending.

    Signed by the cloud and addressed to the agent like every downlink message, so no one else
    can silence an agent, and only the agent it names. A re-enrolled agent has a new id.
    """

    reason: Annotated[str, Meta(max_length=512)] = "revoked"
    revoked_at: UnixTime | None = None


class Command(msgspec.Struct, frozen=True):
    command_id: Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")]
    name: Name
    params: dict[str, Any]
    expires_at: UnixTime
    #: For commands that need consent: the end of the remote-assistance session the subscriber
    #: approved in the portal, vouched for by the cloud's signature.
    consent_until: UnixTime | None = None


class CommandResult(msgspec.Struct, frozen=True):
    command_id: Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")]
    status: Name
    data: dict[str, Any] = {}


Body = Hello | TelemetryBatch | Status | Ack | Command | CommandResult | Revoked

BODY_TYPE: dict[Kind, type[Body]] = {
    Kind.HELLO: Hello,
    Kind.TELEMETRY: TelemetryBatch,
    Kind.STATUS: Status,
    Kind.ACK: Ack,
    Kind.COMMAND: Command,
    Kind.RESULT: CommandResult,
    Kind.REVOKED: Revoked,
}
KIND_OF: dict[type[Body], Kind] = {t: k for k, t in BODY_TYPE.items()}
