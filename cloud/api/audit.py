"""The audit trail as the API shows it, shared by the tenant's log (``routes/commands.py``,
``/audit``) and a login's own (``routes/me.py``, ``/me/audit``): routes never import routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from ..const import AUDIT_PAGE_MAX
from ..storage.assistance import AuditEntry

#: A page of the audit log (``/audit``, ``/me/audit``): newest first, ``offset`` rows skipped.
AuditLimit = Annotated[int, Query(ge=1, le=AUDIT_PAGE_MAX, description="rows in one page")]


class AuditPublic(BaseModel):
    at: datetime
    actor: str
    #: The acting login (None: the platform operator or the system).
    actor_user_id: str | None = None
    tenant_id: str | None = None
    action: str
    agent_id: str | None
    details: dict[str, Any]
    outcome: str


def audit_public(e: AuditEntry) -> AuditPublic:
    return AuditPublic(
        at=e.at,
        actor=e.actor,
        actor_user_id=e.actor_user_id,
        tenant_id=e.tenant_id,
        action=e.action,
        agent_id=e.agent_id,
        details=e.details,
        outcome=e.outcome,
    )
