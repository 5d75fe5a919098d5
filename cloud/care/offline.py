"""The offline entry point: hourly records in, the daily list out, no database involved.

``homediag-cloud care daily-list --input records.jsonl [--date D]`` runs the same detector as the
care loop on any data set. Refused lines are listed (``rejected``, with their line numbers) and on
stderr; with ``strict`` one refused line refuses the whole input.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from ..errors import CareError, MalformedRecords
from .baseline import history_from_records
from .detector import Feedback, FeedbackIndex, Verdict, daily_list
from .records import ParsedRecords, parse_lines


class _FeedbackLine(msgspec.Struct, forbid_unknown_fields=True):
    home: str
    device: str
    kind: str
    verdict: Verdict
    day: date


def read_records(path: Path) -> ParsedRecords:
    try:
        with path.open("rb") as fh:
            return parse_lines(fh)
    except OSError as exc:
        raise CareError(f"cannot read {path}: {exc}") from exc


def read_feedback(path: Path) -> list[Feedback]:
    out: list[Feedback] = []
    decoder = msgspec.json.Decoder(_FeedbackLine)
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise CareError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = decoder.decode(line)
        except msgspec.MsgspecError as exc:
            raise MalformedRecords(f"{path}: line {number}: {exc}") from exc
        out.append(Feedback(item.home, item.device, item.kind, item.verdict, item.day))
    return out


def offline_daily_list(
    path: Path,
    day: date | None = None,
    *,
    top: int | None = None,
    strict: bool = False,
    feedback: Path | None = None,
) -> dict[str, Any]:
    parsed = read_records(path)
    if strict and parsed.rejected:
        first = parsed.rejected[0]
        raise MalformedRecords(
            f"{path}: {len(parsed.rejected)} malformed line(s), the first is line {first.line}: {first.error}"
        )
    if day is None and parsed.records:
        # The UTC day of the newest record: "yesterday" when run on a finished export.
        day = max(r.hour for r in parsed.records).date()
    entries: list[dict[str, Any]] = []
    homes = 0
    if day is not None:
        history = history_from_records(parsed.records, day)
        index = FeedbackIndex(read_feedback(feedback)) if feedback else None
        entries = [e.as_json() for e in daily_list(history, index, top)]
        homes = len(history.homes)
    return {
        "day": day.isoformat() if day else None,
        "records": len(parsed.records),
        "homes": homes,
        "rejected": [{"line": r.line, "error": r.error} for r in parsed.rejected],
        "entries": entries,
    }
