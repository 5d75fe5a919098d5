"""Text from the network made safe to store, send and print.

Names, TXT values and XML fields are attacker-controlled: control characters (terminal escapes),
invalid UTF-8 and unbounded lengths are removed here, once, and every change is counted so that a
hostile responder shows up in the cycle's counters instead of on the console.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


class Counters(Counter[str]):
    """How much bad input one cycle met, by reason (``txt_binary``, ``name_truncated``, ...)."""


def clean_text(
    value: str | bytes | None, limit: int, counters: Counters | None = None, what: str = "text"
) -> str:
    """Printable, NFC-normalised, at most ``limit`` characters; counts what it had to change."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        raw = value
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("utf-8", errors="replace")
            if counters is not None:
                counters[f"{what}_invalid_utf8"] += 1
    cleaned = _UNSAFE.sub("", unicodedata.normalize("NFC", value))
    if cleaned != value and counters is not None:
        counters[f"{what}_control_chars"] += 1
    if len(cleaned) > limit:
        cleaned = cleaned[:limit]
        if counters is not None:
            counters[f"{what}_truncated"] += 1
    return cleaned.strip()


def is_binary(value: bytes) -> bool:
    """True for TXT values that are not text at all (not UTF-8, or mostly control bytes)."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return bool(text) and sum(1 for c in text if _UNSAFE.match(c)) * 4 > len(text)
