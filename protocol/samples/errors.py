"""Errors of the typed samples, in the wire contract's tree (protocol/errors.py).

MalformedMessage
├── SampleDataError          a sample's or result's data does not fit its kind's Struct
│                            (``probe``: the kind, ``field``: where, ``$.Hosts[3].Port``)
└── OutOfBounds
    └── SampleOutOfBounds    ... because a value is outside its bounds (also a SampleDataError)
"""

from __future__ import annotations

from ..errors import MalformedMessage, OutOfBounds


class SampleDataError(MalformedMessage):
    """The data of a ``probe`` sample (or a command's result) does not fit its typed contract."""

    def __init__(self, probe: str, field: str, problem: str) -> None:
        super().__init__(f"{probe} sample: {problem} at {field}")
        self.probe = probe
        self.field = field


class SampleOutOfBounds(SampleDataError, OutOfBounds):
    """A value of the right type outside its bounds (a loss of 120 %, a time past 2100)."""

    reason = "bounds"
