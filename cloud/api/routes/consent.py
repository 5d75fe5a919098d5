"""Remote-assistance consent from the self-care portal: read it, grant it (the home's subscriber
only), end it (the subscriber or staff)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from protocol.catalogue import MAX_CONSENT_MINUTES

from ... import consent
from ...consent import Decision, Source
from ..auth import PrincipalDep, load_agent
from ..deps import ObjectId, SessionDep
from ..models import Input

router = APIRouter(tags=["remote diagnostics"])


class ConsentGrant(Input):
    minutes: int = Field(ge=1, le=MAX_CONSENT_MINUTES)


class ConsentPublic(BaseModel):
    agent_id: str
    #: A remote-assistance session the subscriber granted (on the device or in the portal) is running.
    active: bool
    until: datetime | None
    #: Where the decision in force was made: the running session's grant, or what ended it; None
    #: when consent was never given.
    source: Source | None = None


def _public(agent_id: str, decision: Decision | None, now: datetime) -> ConsentPublic:
    until = decision.active_until(now.timestamp()) if decision is not None else None
    return ConsentPublic(
        agent_id=agent_id,
        active=until is not None,
        until=datetime.fromtimestamp(until, UTC) if until is not None else None,
        source=decision.source if decision is not None else None,
    )


@router.get("/agents/{agent_id}/consent")
def get_consent(agent_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> ConsentPublic:
    """Whether commands that need consent can run now: staff of the tenant, or the home's subscriber."""
    load_agent(session, principal, agent_id)
    return _public(agent_id, consent.current(session, agent_id), datetime.now(UTC))


@router.put("/agents/{agent_id}/consent")
def grant_consent(
    agent_id: ObjectId, body: ConsentGrant, session: SessionDep, principal: PrincipalDep
) -> ConsentPublic:
    """Open a remote-assistance session for ``minutes``. Only the home's own subscriber decides
    this: staff are refused, so a CSR cannot consent on the subscriber's behalf."""
    if not principal.is_subscriber:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="Only the subscriber can allow remote assistance, from the self-care page.",
        )
    load_agent(session, principal, agent_id)
    now = datetime.now(UTC)
    decision = consent.grant(session, principal.actor, agent_id, body.minutes, now)
    session.commit()
    return _public(agent_id, decision, now)


@router.delete("/agents/{agent_id}/consent")
def revoke_consent(agent_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> ConsentPublic:
    """End the running session, wherever it was granted: the subscriber, or any staff member of the
    tenant (ending a session early is always safe)."""
    load_agent(session, principal, agent_id)
    now = datetime.now(UTC)
    decision = consent.revoke(session, principal.actor, agent_id, now)
    session.commit()
    return _public(agent_id, decision, now)
