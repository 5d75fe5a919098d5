"""The audit trail: every CSR action, with its outcome, in an append-only table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from .storage import Agent
from .storage.assistance import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acts: a login (``user_id``, its tenant) or the platform operator and the system (no id)."""

    name: str
    user_id: str | None = None
    tenant_id: str | None = None


def record(
    session: Session,
    *,
    actor: str | Actor,
    action: str,
    agent_id: str | None,
    details: dict[str, Any],
    outcome: str,
    tenant_id: str | None = None,
) -> AuditEntry:
    """Add one entry to the caller's transaction (so an action and its audit commit together).

    The entry belongs to the tenant of the home acted on, else to ``tenant_id``, else to the
    actor's: the tenant's supervisors and the home's subscriber see what the platform did too."""
    who = actor if isinstance(actor, Actor) else Actor(actor)
    if agent_id is not None and tenant_id is None:
        agent = session.get(Agent, agent_id)
        tenant_id = agent.tenant_id if agent is not None else None
    entry = AuditEntry(
        actor=who.name[:128],
        action=action[:64],
        agent_id=agent_id,
        details=details,
        outcome=outcome[:255],
        tenant_id=tenant_id or who.tenant_id,
        actor_user_id=who.user_id,
    )
    session.add(entry)
    return entry
