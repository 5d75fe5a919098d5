"""The cloud's word that this agent is revoked, kept across restarts.

When the operator revokes an agent, the cloud answers its next report with a signed ``revoked``
message (issue 17, finding 11) instead of refusing it silently for ever. The agent then stops
sending (no reconnects, no probes), says why in ``homediag-agent status``, and stays so after a
restart. The record names the agent id it was for: enrolling again gives a new id, and the old
record no longer applies.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .const import REVOKED_FILE
from .files import write_atomic


@dataclass(frozen=True)
class Revocation:
    agent_id: str
    reason: str
    #: When the cloud said so (its clock, from the signed envelope), and when it revoked, if known.
    told_at: float
    revoked_at: float | None = None


def load(state_dir: Path, agent_id: str) -> Revocation | None:
    """The record for ``agent_id``, or None (none, damaged, or for an earlier enrollment)."""
    try:
        data = json.loads((state_dir / REVOKED_FILE).read_text())
        record = Revocation(**data)
    except (OSError, ValueError, TypeError):
        return None
    return record if record.agent_id == agent_id else None


def save(state_dir: Path, record: Revocation) -> None:
    write_atomic(state_dir / REVOKED_FILE, json.dumps(asdict(record)).encode(), 0o644)
