"""Billing cycles, the same on both sides: a cycle starts at 00:00 local time on the plan's start day.

A start day past the end of a month (29, 30, 31) falls on that month's last day, as billing systems
do. The boundary is computed in the subscriber's time zone (IANA name) and returned in UTC, so DST
changes and odd offsets (Buenos Aires is UTC-3 all year) put traffic on the right side of it.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import MalformedMessage


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MalformedMessage(f"unknown time zone {name!r}") from exc


def _start_in_month(year: int, month: int, start_day: int) -> date:
    return date(year, month, min(start_day, calendar.monthrange(year, month)[1]))


def cycle_bounds(moment: datetime, start_day: int, tz: str) -> tuple[datetime, datetime]:
    """The UTC [start, end) of the cycle that contains ``moment``."""
    if not 1 <= start_day <= 31:
        raise MalformedMessage("the cycle start day is 1..31")
    zinfo = zone(tz)
    local = moment.astimezone(zinfo)
    start = _start_in_month(local.year, local.month, start_day)
    if local.date() < start:
        prev = date(local.year, local.month, 1) - timedelta(days=1)
        start = _start_in_month(prev.year, prev.month, start_day)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    end = _start_in_month(nxt.year, nxt.month, start_day)
    return (
        datetime.combine(start, time(), zinfo).astimezone(UTC),
        datetime.combine(end, time(), zinfo).astimezone(UTC),
    )


def split_by_hour(start: float, end: float, bytes_rx: int, bytes_tx: int) -> list[tuple[float, int, int]]:
    """Spread an interval's bytes over the UTC hours it covers, in proportion to time, keeping the
    totals exact (the last hour takes the rounding). Hours are unix times of their first second."""
    first = int(start // 3600) * 3600
    if end <= start:
        return [(float(first), bytes_rx, bytes_tx)]
    out: list[tuple[float, int, int]] = []
    left_rx, left_tx = bytes_rx, bytes_tx
    hour = first
    while hour < end:
        share = (min(end, hour + 3600) - max(start, hour)) / (end - start)
        last = hour + 3600 >= end
        rx = left_rx if last else round(bytes_rx * share)
        tx = left_tx if last else round(bytes_tx * share)
        rx, tx = min(rx, left_rx), min(tx, left_tx)
        left_rx -= rx
        left_tx -= tx
        out.append((float(hour), rx, tx))
        hour += 3600
    return out
