"""A tenant's plan onto its homes: the figures copied onto each home's usage plan, then sealed and
told to the agents. Shared by ``routes/plans.py`` (a plan changes) and ``routes/subscribers.py`` (a
household or home changes plan): routes never import routes."""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..commands import seal_plan
from ..storage import Agent, Plan, Subscriber
from ..usage import set_plan
from .deps import get_publisher


class PlanPublic(BaseModel):
    id: int
    tenant_id: str
    name: str
    cap_bytes: int
    cycle_start_day: int
    timezone: str
    tier: str


def plan_public(plan: Plan) -> PlanPublic:
    return PlanPublic(
        id=plan.id,
        tenant_id=plan.tenant_id,
        name=plan.name,
        cap_bytes=plan.cap_bytes,
        cycle_start_day=plan.cycle_start_day,
        timezone=plan.timezone,
        tier=plan.tier,
    )


def apply_plan(session: Session, plan: Plan, subscriber_id: str | None = None) -> list[str]:
    """Copy the plan onto the homes of its subscribers (or of one); the ids of the homes."""
    query = select(Agent.id).join(Subscriber, Subscriber.id == Agent.subscriber_id)
    query = query.where(Subscriber.plan_id == plan.id, Agent.tenant_id == plan.tenant_id)
    if subscriber_id is not None:
        query = query.where(Subscriber.id == subscriber_id)
    homes = list(session.scalars(query))
    for agent_id in homes:
        set_plan(session, agent_id, plan.cap_bytes, plan.cycle_start_day, plan.timezone)
    return homes


def seal_plans(request: Request, plan: PlanPublic, homes: list[str]) -> list[tuple[str, bytes]]:
    """The sealed ``set_plan`` command of each home (reads the key files: run it off the loop)."""
    if get_publisher(request) is None:
        return []
    key = request.app.state.keys.get().active

    def sealed(agent_id: str) -> bytes:
        return seal_plan(
            key,
            agent_id,
            cap_bytes=plan.cap_bytes,
            cycle_start_day=plan.cycle_start_day,
            timezone=plan.timezone,
        )[1]

    return [(agent_id, sealed(agent_id)) for agent_id in homes]


async def tell_agents(request: Request, sealed: list[tuple[str, bytes]]) -> None:
    """Online agents learn their plan at once; the others at their next hello."""
    ingest = get_publisher(request)
    if ingest is None:
        return
    for agent_id, payload in sealed:
        await ingest.publish_command(agent_id, payload)
