"""USP Records in and out: decode with every TR-369 record check, encode answers and Notifies.

A record that fails a check is dropped (:class:`RecordDropped`), as TR-369 R-E2E.1 and R-MTP.5
say: one for another endpoint, an undecodable or oversized one, one whose Message cannot be read.
Only a record whose Message is a Request with a ``msg_id`` may be answered with an Error: the
caller (:mod:`.handlers`) does that for a session-context record (7106, not supported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from .const import ERR_MESSAGE_FAILED, MAX_RECORD_BYTES, MAX_SENT_RECORD_BYTES, SUPPORTED_VERSIONS
from .errors import MessageError, RecordDropped, UspError
from .schema import Msg, Record, enum_value, msg_type_name

#: TR-369 section "USP Record Errors".
ERR_SESSION_CONTEXT_NOT_ALLOWED = 7106


@dataclass(frozen=True)
class Incoming:
    """A controller's Message, out of a Record addressed to us."""

    version: str
    from_id: str
    msg_id: str
    msg_type: str
    msg: Any
    #: True when it came in a SessionContextRecord (which this agent does not support).
    session_context: bool = False


def decode_record(data: bytes, own_id: str, max_bytes: int = MAX_RECORD_BYTES) -> Incoming:
    """The Message in ``data``, or :class:`RecordDropped` saying why it is not one for us."""
    if len(data) > max_bytes:
        raise RecordDropped(f"record of {len(data)} bytes is over the limit of {max_bytes}")
    try:
        record = Record.FromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise RecordDropped(f"record could not be parsed: {type(exc).__name__}") from exc
    if record.to_id != own_id:
        raise RecordDropped("record for another endpoint")  # R-E2E.1: ignored
    if not record.from_id:
        raise RecordDropped("record without a from_id cannot be answered")
    if record.payload_security != 0:
        raise RecordDropped("record with secured payload (TLS 1.2 E2E) is not supported")
    kind = record.WhichOneof("record_type")
    if kind == "no_session_context":
        payload = record.no_session_context.payload
    elif kind == "session_context" and len(record.session_context.payload) == 1:
        payload = record.session_context.payload[0]
    else:  # connect or disconnect records, segmented payloads: nothing to answer
        raise RecordDropped(f"record of type {kind or 'none'} carries no message for an agent")
    try:
        msg = Msg.FromString(payload)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise RecordDropped(f"message could not be parsed: {type(exc).__name__}") from exc
    if not msg.header.msg_id:
        raise RecordDropped("message without a msg_id cannot be answered")
    return Incoming(
        version=record.version or SUPPORTED_VERSIONS[-1],
        from_id=record.from_id,
        msg_id=msg.header.msg_id,
        msg_type=msg_type_name(msg.header.msg_type),
        msg=msg,
        session_context=kind == "session_context",
    )


def new_msg(msg_id: str, msg_type: str) -> Any:
    msg = Msg()
    msg.header.msg_id = msg_id
    msg.header.msg_type = enum_value("MsgType", msg_type)
    return msg


def error_msg(msg_id: str, err: UspError | int, text: str = "") -> Any:
    """An Error Message (``msg_type`` ERROR) answering ``msg_id``."""
    msg = new_msg(msg_id, "ERROR")
    if isinstance(err, int):
        msg.body.error.err_code, msg.body.error.err_msg = err, text
    else:
        msg.body.error.err_code, msg.body.error.err_msg = err.code or ERR_MESSAGE_FAILED, err.message
    return msg


def encode_record(msg: Any, *, version: str, own_id: str, to_id: str) -> bytes:
    """``msg`` in a NoSessionContextRecord from us to ``to_id``."""
    record = Record(version=version, to_id=to_id, from_id=own_id)
    record.no_session_context.payload = msg.SerializeToString()
    data: bytes = record.SerializeToString()
    if len(data) > MAX_SENT_RECORD_BYTES:
        raise MessageError(f"answer of {len(data)} bytes is over {MAX_SENT_RECORD_BYTES}", 7005)
    return data
