"""The hourly record of the offline entry point: one JSON object per line (JSON Lines).

One record per home, device, traffic class and UTC hour, the same facts as a ``usage_device_hours``
row (see docs/care.md for the field table). Parsing is strict (msgspec): a line that is not valid
JSON, misses a field, has an unknown field, a negative counter, an unknown class or an hour that is
not a whole UTC hour is *rejected*: it is reported with its 1-based line number and skipped, so it
is never counted. A second record for the same (home, device, class, hour) is rejected the same way
rather than added, because adding would double-count a re-sent hour. Blank lines are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
TrafficClass = Literal["web", "video", "gaming", "calls", "mail", "dns", "vpn", "p2p", "other"]


class HourRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One device's traffic of one class in one UTC hour, as flow metadata."""

    home: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    device: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    traffic_class: TrafficClass = msgspec.field(name="class")
    #: Every counter is required: a record without them is a truncated line, not a quiet hour.
    hour: datetime
    bytes_rx: NonNegative
    bytes_tx: NonNegative
    flows: NonNegative
    remote_hosts: NonNegative
    smtp_connections: NonNegative
    device_name: str | None = None
    device_kind: str | None = None
    #: Identity evidence (optional, issue 20): the inventory's "randomised MAC" flag, the DNS-SD
    #: instance names and service types the device announced. Used to keep one history across a
    #: MAC rotation (cloud/care/identity.py); records without them still merge on the host name.
    mac_randomized: bool | None = None
    device_instances: tuple[Annotated[str, msgspec.Meta(max_length=255)], ...] | None = None
    device_services: tuple[Annotated[str, msgspec.Meta(max_length=64)], ...] | None = None


_decoder = msgspec.json.Decoder(HourRecord)


@dataclass(frozen=True)
class Rejected:
    line: int
    error: str


@dataclass
class ParsedRecords:
    records: list[HourRecord]
    rejected: list[Rejected]


def _check(record: HourRecord) -> str | None:
    hour = record.hour
    if hour.tzinfo is None:
        return "hour must carry a UTC offset (for example 2026-11-20T13:00:00Z)"
    if hour.utcoffset() != timedelta(0):
        return "hour must be in UTC (offset Z or +00:00)"
    if (hour.minute, hour.second, hour.microsecond) != (0, 0, 0):
        return "hour must be the start of a whole hour"
    return None


def parse_lines(lines: Iterable[bytes | str]) -> ParsedRecords:
    """Parse JSON Lines; every refused line is in ``rejected`` with its number and the reason."""
    out = ParsedRecords([], [])
    seen: set[tuple[str, str, str, datetime]] = set()
    for number, line in enumerate(lines, start=1):
        raw = line.encode() if isinstance(line, str) else line
        if not raw.strip():
            continue
        try:
            record = _decoder.decode(raw)
        except msgspec.ValidationError as exc:
            out.rejected.append(Rejected(number, str(exc)))
            continue
        except msgspec.DecodeError as exc:
            out.rejected.append(Rejected(number, f"not JSON: {exc}"))
            continue
        problem = _check(record)
        if problem is None:
            key = (record.home, record.device, record.traffic_class, record.hour)
            if key in seen:
                problem = "duplicate record for this home, device, class and hour"
            seen.add(key)
        if problem is not None:
            out.rejected.append(Rejected(number, problem))
            continue
        out.records.append(record)
    return out


def encode(record: HourRecord) -> bytes:
    """One line of the format (without the newline), as tools and tests write it."""
    return msgspec.json.encode(record)
