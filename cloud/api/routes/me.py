"""The caller's own account, and (for subscribers) what was done on their homes."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from ...storage import Agent, AuditEntry, Subscriber, User
from ..audit import AuditLimit, AuditPublic, audit_public
from ..auth import PrincipalDep, scope_agents
from ..deps import Offset, SessionDep

router = APIRouter(prefix="/me", tags=["me"])


class MePublic(BaseModel):
    role: str
    tenant_id: str | None
    user_id: str | None
    username: str
    subscriber_id: str | None
    #: The household's tier for a subscriber's login.
    tier: str | None = None
    #: The homes this login may see (a subscriber's own; staff: see /agents).
    agent_ids: list[str] = []


@router.get("")
def me(session: SessionDep, principal: PrincipalDep) -> MePublic:
    tier = None
    agent_ids: list[str] = []
    if principal.is_subscriber and principal.subscriber_id is not None:
        household = session.get(Subscriber, principal.subscriber_id)
        tier = household.tier if household else None
        agent_ids = list(session.scalars(scope_agents(select(Agent.id), principal).order_by(Agent.id)))
    return MePublic(
        role=principal.role,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        username=principal.username,
        subscriber_id=principal.subscriber_id,
        tier=tier,
        agent_ids=agent_ids,
    )


@router.get("/audit")
def my_audit(
    session: SessionDep, principal: PrincipalDep, limit: AuditLimit = 100, offset: Offset = 0
) -> list[AuditPublic]:
    """A subscriber: every action taken on their homes. Staff: their own actions. Newest first, a
    page at a time."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if principal.is_subscriber:
        query = query.where(
            AuditEntry.tenant_id == principal.tenant_id,
            AuditEntry.agent_id.in_(scope_agents(select(Agent.id), principal)),
        )
    elif principal.user_id is not None:
        query = query.where(AuditEntry.actor_user_id == principal.user_id)
    else:
        query = query.where(AuditEntry.actor_user_id.is_(None), AuditEntry.actor == principal.username)
    entries = list(session.scalars(query))
    if not principal.is_subscriber:
        return [audit_public(e) for e in entries]
    # A subscriber learns which role acted, never a staff login name (which, with the tenant id
    # they know, would let them lock that login out with wrong passwords).
    actors = {e.actor_user_id for e in entries if e.actor_user_id}
    roles: dict[str, str] = {}
    for uid, role in session.execute(select(User.id, User.role).where(User.id.in_(actors))):
        roles[uid] = role
    out = []
    for entry in entries:
        public = audit_public(entry)
        if entry.actor_user_id == principal.user_id:
            actor = "you"
        elif entry.actor_user_id in roles:
            actor = f"support ({roles[entry.actor_user_id]})"
        else:
            actor = "your provider"
        out.append(public.model_copy(update={"actor": actor, "actor_user_id": None}))
    return out
