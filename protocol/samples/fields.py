"""The field types every sample kind is built from: bounded numbers, times and texts.

Each field of a sample is ``Maybe[...]``: absent (``UNSET``, never encoded) unless the agent has a
value, because error samples carry partial data and a newer agent may leave a field out. Bounds
and types are TR-181's where its names are used (``unsignedInt`` milliseconds, TR-106 ``dateTime``
with the unknown time for a moment that never came, references as paths); our extensions carry the
``X_HOMEDIAG-DEV_`` prefix (protocol/tr181.py, docs/tr181.md) and bounds every store can hold.
"""

from __future__ import annotations

from typing import Annotated, TypeVar, Union

from msgspec import UNSET, Meta, UnsetType

from ..const import (
    MAX_BYTE_COUNT,
    MAX_DATA_INT,
    MAX_DATA_TEXT_LEN,
    MAX_MBPS,
    MAX_MILLISECONDS,
    MAX_UNIX_TIME,
)

__all__ = [
    "UNSET",
    "Address",
    "ByteCount",
    "Count",
    "Counter64",
    "DateTime",
    "Int64",
    "Maybe",
    "Mbps",
    "Message",
    "Microseconds",
    "Milliseconds",
    "Name",
    "Percent",
    "Port",
    "ShortText",
    "Status",
    "UnsetType",
    "Url",
    "WireTime",
    "given",
]

T = TypeVar("T")
D = TypeVar("D")

#: A field the agent may leave out: ``UNSET`` is never encoded (``msgspec.to_builtins`` drops it).
Maybe = Union[T, UnsetType]  # noqa: UP007 - a generic alias: ``T | UnsetType`` cannot be subscripted

#: Seconds since the epoch, as the envelope's times.
WireTime = Annotated[float, Meta(ge=0, le=MAX_UNIX_TIME)]
#: Bytes of a running total or an interval (an hour of a 100 Gbit/s line is 4.5e13).
ByteCount = Annotated[int, Meta(ge=0, le=MAX_BYTE_COUNT)]
#: TR-181 ``unsignedLong`` counters, held to what a signed 64-bit column stores.
Counter64 = Annotated[int, Meta(ge=0, le=MAX_DATA_INT)]
#: A difference of two counters (a reset between the readings can make it negative).
Int64 = Annotated[int, Meta(ge=-MAX_DATA_INT - 1, le=MAX_DATA_INT)]
#: TR-181 ``unsignedInt``: repetitions, entries, hops.
Count = Annotated[int, Meta(ge=0, le=2**32 - 1)]
Percent = Annotated[float, Meta(ge=0, le=100)]
#: A latency, response time or duration: milliseconds (an hour is already no answer).
Milliseconds = Annotated[float, Meta(ge=0, le=MAX_MILLISECONDS)]
#: TR-181's ``...Detailed`` response times: microseconds as ``unsignedInt``.
Microseconds = Annotated[int, Meta(ge=0, le=2**32 - 1)]
Mbps = Annotated[float, Meta(ge=0, le=MAX_MBPS)]
Port = Annotated[int, Meta(ge=0, le=65535)]
#: TR-181 / TR-143 ``Status``: ``Complete``, ``Success`` or ``Error_...``.
Status = Annotated[str, Meta(min_length=1, max_length=64)]
#: A TR-106 ``dateTime`` as the agent writes it (ISO 8601 in UTC with microseconds); a moment that
#: never came is TR-106's unknown time, ``0001-01-01T00:00:00Z`` (``protocol.tr181.UNKNOWN_TIME``).
DateTime = Annotated[str, Meta(max_length=64, description="TR-106 dateTime")]
#: An IPv4 or IPv6 address in text (TR-181 ``string(:45)``).
Address = Annotated[str, Meta(max_length=45)]
#: A name from the network or from configuration: host names, instance names, interfaces.
Name = Annotated[str, Meta(max_length=256)]
ShortText = Annotated[str, Meta(max_length=1024)]
Url = Annotated[str, Meta(max_length=2048)]
#: Why a run failed, in words: as long as any text in a sample may be.
Message = Annotated[str, Meta(max_length=MAX_DATA_TEXT_LEN)]


def given(value: T | UnsetType, default: D) -> T | D:
    """``value``, or ``default`` when the agent left the field out."""
    return default if isinstance(value, UnsetType) else value
