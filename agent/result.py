"""What a measurement returns: a TR-181 status and its outputs.

Shared by the engines (``agent/connectivity/``, ``agent/usage/``, ``agent/discovery/``) and the
probes that schedule them (``agent/probes/``), so that an engine never needs the scheduler's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPLETE = "Complete"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    status: str = COMPLETE
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def error(cls, status: str, message: str, **data: Any) -> ProbeResult:
        if not status.startswith("Error_"):
            raise ValueError("error statuses start with Error_ (TR-181)")
        return cls(status=status, data={"message": message, **data})
