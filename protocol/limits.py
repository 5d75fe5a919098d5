"""Bounds on the free-form JSON a report may carry (``Sample.data``, ``CommandResult.data``).

msgspec checks the typed fields of every message at decode; what it cannot type is the JSON inside
``data``, which the cloud stores verbatim and reads in its folds. A value no store can hold (an
integer past int64, a float that overflows, a nesting that exhausts a recursive reader) must be a
protocol error here, at decode, and never an exception deep in storage where it would stall a
batch. See ``protocol/samples.py`` for the typed bounds of the samples the cloud folds.
"""

from __future__ import annotations

import math
from typing import Any

from .const import (
    MAX_DATA_DEPTH,
    MAX_DATA_INT,
    MAX_DATA_ITEMS,
    MAX_DATA_KEY_LEN,
    MAX_DATA_TEXT_LEN,
)
from .errors import OutOfBounds


def check_data(value: Any, where: str = "data") -> None:
    """Raise :class:`OutOfBounds` unless ``value`` is JSON every store can hold."""
    budget = [MAX_DATA_ITEMS]
    _check(value, where, 0, budget)


def _check(value: Any, where: str, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise OutOfBounds(f"{where}: more than {MAX_DATA_ITEMS} values")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_DATA_INT - 1 <= value <= MAX_DATA_INT:
            raise OutOfBounds(f"{where}: integer outside the signed 64-bit range")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OutOfBounds(f"{where}: number {value!r} is not finite")
        return
    if isinstance(value, str):
        if len(value) > MAX_DATA_TEXT_LEN:
            raise OutOfBounds(f"{where}: text longer than {MAX_DATA_TEXT_LEN} characters")
        return
    if depth >= MAX_DATA_DEPTH:
        raise OutOfBounds(f"{where}: nested deeper than {MAX_DATA_DEPTH} levels")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]", depth + 1, budget)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > MAX_DATA_KEY_LEN:
                raise OutOfBounds(f"{where}: a key longer than {MAX_DATA_KEY_LEN} characters")
            _check(item, f"{where}.{key}", depth + 1, budget)
        return
    raise OutOfBounds(f"{where}: {type(value).__name__} is not JSON")
