"""The audit trail: every CSR action, with its outcome, in an append-only table."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .storage.assistance import AuditEntry


def record(
    session: Session, *, actor: str, action: str, agent_id: str | None, details: dict[str, Any], outcome: str
) -> AuditEntry:
    """Add one entry to the caller's transaction (so an action and its audit commit together)."""
    entry = AuditEntry(
        actor=actor[:128], action=action[:64], agent_id=agent_id, details=details, outcome=outcome[:255]
    )
    session.add(entry)
    return entry
