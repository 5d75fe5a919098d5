"""What verification hands the writer: a verified uplink message, or a signed one refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgspec

import protocol
from protocol import CommandResult, Envelope, Hello, Kind, Status, TelemetryBatch

#: The reports (messages an agent keeps until acknowledged) and the body each kind carries. A
#: status is not one: it is retained by the broker, never acknowledged.
REPORT_BODIES: Final[dict[Kind, type[Hello] | type[TelemetryBatch] | type[CommandResult]]] = {
    Kind.HELLO: Hello,
    Kind.TELEMETRY: TelemetryBatch,
    Kind.RESULT: CommandResult,
}


@dataclass(slots=True)
class Incoming:
    """A verified uplink message waiting to be stored."""

    envelope: Envelope
    body: Hello | TelemetryBatch | CommandResult | Status | None
    #: Set when the signature verified but the report is refused: it is quarantined and
    #: acknowledged as rejected. ``reason`` is the counter label, ``detail`` the words.
    rejected: bool = False
    payload: bytes = b""
    reason: str = ""
    detail: str = ""


def stand_in(identity: protocol.Identity) -> Envelope:
    """An envelope standing for a refused report whose own envelope did not decode: it carries only
    the identity (read from verified bytes) that acknowledging and quarantining need."""
    return Envelope(
        v=protocol.SCHEMA_VERSION,
        id="0" * 32,
        agent=identity.agent,
        epoch=identity.epoch,
        seq=identity.seq,
        sent=0.0,
        kind=identity.kind,
        body=msgspec.Raw(b"null"),
    )
