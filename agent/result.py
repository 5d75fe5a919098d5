"""What a measurement returns: a TR-181 status and its outputs.

Shared by the engines (``agent/connectivity/``, ``agent/usage/``, ``agent/discovery/``) and the
probes that schedule them (``agent/probes/``), so that an engine never needs the scheduler's code.
An engine builds its outputs as the sample kind's Struct (:mod:`protocol.samples`) and
:meth:`ProbeResult.of` turns it into the JSON the sample carries, once: what is ``UNSET`` is left
out, so the bytes are those the agent always sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from protocol.samples import SampleData

COMPLETE = "Complete"


def wire(data: msgspec.Struct) -> dict[str, Any]:
    """A sample kind's Struct as the JSON object it travels as (``UNSET`` fields left out)."""
    built: dict[str, Any] = msgspec.to_builtins(data)
    return built


@dataclass(frozen=True, slots=True)
class ProbeResult:
    status: str = COMPLETE
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, data: msgspec.Struct, status: str = COMPLETE) -> ProbeResult:
        """A result whose outputs are the kind's Struct ``data``."""
        return cls(status=status, data=wire(data))

    @classmethod
    def error(cls, status: str, message: str, data_struct: SampleData | None = None) -> ProbeResult:
        """A failed run: ``message`` in words, and ``data_struct`` (the kind's Struct) for what was
        measured before the failure. The message travels in the Struct's own field
        (``X_HOMEDIAG-DEV_Message``), so every wire name comes from a Struct."""
        if not status.startswith("Error_"):
            raise ValueError("error statuses start with Error_ (TR-181)")
        partial = SampleData() if data_struct is None else data_struct
        return cls(status=status, data=wire(msgspec.structs.replace(partial, message=message)))
