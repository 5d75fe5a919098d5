"""Subscribers (households) of a tenant, with their tier, plan and homes. Staff read and search;
admins create, change and delete, and attach homes (agents) to households. Routes that tell agents
their plan publish on the loop and do their database work in a thread (see plans.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ... import audit
from ...sentences import not_found_sentence, role_sentence
from ...storage import Agent, Plan, Subscriber
from ..auth import (
    AdminDep,
    Principal,
    PrincipalDep,
    StaffDep,
    load_agent,
    load_plan,
    load_subscriber,
    tenant_for_new,
)
from ..deps import Limit, ObjectId, Offset, SessionDep, Text
from ..models import Input
from ..plan_sync import apply_plan, plan_public, seal_plans, tell_agents

router = APIRouter(tags=["accounts"])
Tier = Literal["standard", "premium"]


class SubscriberCreate(Input):
    #: The operator's customer number (unique in the tenant).
    reference: str = Field(min_length=1, max_length=128)
    name: str = Field(default="", max_length=255)
    email: str = Field(default="", max_length=320)
    tier: Tier = "standard"
    plan_id: int | None = None
    #: Only the platform operator names the tenant; everyone else creates in their own.
    tenant: str | None = Field(default=None, max_length=64)


class SubscriberUpdate(Input):
    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    tier: Tier | None = None
    plan_id: int | None = None
    #: Set true to take the household off its plan (``plan_id`` null means "unchanged").
    clear_plan: bool = False


class SubscriberPublic(BaseModel):
    id: str
    tenant_id: str
    reference: str
    name: str
    email: str
    tier: str
    plan_id: int | None
    created_at: datetime
    agent_ids: list[str]


class OwnerPut(Input):
    #: The household the home belongs to; null detaches it (it stays in its tenant).
    subscriber_id: str | None = Field(default=None, max_length=32)


class OwnerPublic(BaseModel):
    agent_id: str
    tenant_id: str | None
    subscriber_id: str | None


def _homes(session: Session, households: list[Subscriber]) -> dict[str, list[str]]:
    """Each household's homes (of its own tenant), in one query for a whole page of results."""
    tenants = {h.id: h.tenant_id for h in households}
    homes: dict[str, list[str]] = {h.id: [] for h in households}
    rows = session.execute(
        select(Agent.subscriber_id, Agent.id, Agent.tenant_id)
        .where(Agent.subscriber_id.in_(list(tenants)))
        .order_by(Agent.id)
    )
    for subscriber_id, agent_id, tenant_id in rows:
        if subscriber_id is not None and tenants.get(subscriber_id) == tenant_id:
            homes[subscriber_id].append(agent_id)
    return homes


def _public(session: Session, household: Subscriber, homes: list[str] | None = None) -> SubscriberPublic:
    if homes is None:
        homes = _homes(session, [household])[household.id]
    return SubscriberPublic(
        id=household.id,
        tenant_id=household.tenant_id,
        reference=household.reference,
        name=household.name,
        email=household.email,
        tier=household.tier,
        plan_id=household.plan_id,
        created_at=household.created_at,
        agent_ids=homes,
    )


def _plan_in(session: Session, principal: AdminDep, plan_id: int, tenant_id: str) -> Plan:
    plan = load_plan(session, principal, plan_id)
    if plan.tenant_id != tenant_id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=not_found_sentence("plan"))
    return plan


@router.post("/subscribers", status_code=status.HTTP_201_CREATED)
def add_subscriber(body: SubscriberCreate, session: SessionDep, principal: AdminDep) -> SubscriberPublic:
    tenant_id = tenant_for_new(session, principal, body.tenant)
    if body.plan_id is not None:
        _plan_in(session, principal, body.plan_id, tenant_id)
    household = Subscriber(id=uuid.uuid4().hex, tenant_id=tenant_id, **body.model_dump(exclude={"tenant"}))
    session.add(household)
    try:
        session.flush()
    except IntegrityError as exc:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="A subscriber with that reference already exists;"
            " search for it, or choose another reference.",
        ) from exc
    audit.record(
        session,
        actor=principal.actor,
        action="subscriber_add",
        agent_id=None,
        details={"subscriber_id": household.id, **body.model_dump()},
        outcome="saved",
        tenant_id=tenant_id,
    )
    session.commit()
    return _public(session, household)


def search_query(q: str, limit: int, offset: int) -> Select[Subscriber]:
    """Subscribers whose reference, name or e-mail contains ``q``, case-insensitively, of every
    tenant: the caller scopes it. On PostgreSQL the trigram indexes of migration 0016 serve it."""
    query = select(Subscriber).order_by(Subscriber.reference, Subscriber.id).limit(limit).offset(offset)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Subscriber.reference.ilike(pattern, escape="\\"),
                Subscriber.name.ilike(pattern, escape="\\"),
                Subscriber.email.ilike(pattern, escape="\\"),
            )
        )
    return query


@router.get("/subscribers")
def list_subscribers(
    session: SessionDep,
    principal: StaffDep,
    q: Annotated[Text, Query(max_length=128, description="part of the reference, name or e-mail")] = "",
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[SubscriberPublic]:
    """Search the tenant's subscribers (the console's first page)."""
    query = search_query(q, limit, offset)
    if not principal.is_platform:
        query = query.where(Subscriber.tenant_id == principal.tenant_id)
    households = list(session.scalars(query))
    homes = _homes(session, households)
    return [_public(session, h, homes[h.id]) for h in households]


@router.get("/subscribers/{subscriber_id}")
def get_subscriber(subscriber_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> SubscriberPublic:
    """Staff of the tenant, or the subscriber's own login."""
    if not (principal.is_subscriber or principal.at_least("csr")):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=role_sentence("csr"))
    return _public(session, load_subscriber(session, principal, subscriber_id))


@router.patch("/subscribers/{subscriber_id}")
async def update_subscriber(
    subscriber_id: ObjectId, body: SubscriberUpdate, request: Request, principal: AdminDep
) -> SubscriberPublic:
    """Change the household; a new plan is copied onto its homes (online agents learn it at once)."""
    public, sealed = await run_in_threadpool(_update_subscriber, request, subscriber_id, body, principal)
    await tell_agents(request, sealed)
    return public


def _update_subscriber(
    request: Request, subscriber_id: str, body: SubscriberUpdate, principal: Principal
) -> tuple[SubscriberPublic, list[tuple[str, bytes]]]:
    homes: list[str] = []
    with request.app.state.sessions() as session:
        household = load_subscriber(session, principal, subscriber_id)
        plan = None
        if body.plan_id is not None:
            plan = _plan_in(session, principal, body.plan_id, household.tenant_id)
            household.plan_id = plan.id
        elif body.clear_plan:
            household.plan_id = None
        for name in ("name", "email", "tier"):
            value = getattr(body, name)
            if value is not None:
                setattr(household, name, value)
        session.flush()
        if plan is not None:
            homes = apply_plan(session, plan, household.id)
        audit.record(
            session,
            actor=principal.actor,
            action="subscriber_update",
            agent_id=None,
            details={"subscriber_id": household.id, **body.model_dump(exclude_none=True)},
            outcome="saved",
            tenant_id=household.tenant_id,
        )
        session.commit()
        public = _public(session, household)
        plan_view = plan_public(plan) if plan is not None else None
    return public, seal_plans(request, plan_view, homes) if plan_view is not None else []


@router.delete("/subscribers/{subscriber_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscriber(subscriber_id: ObjectId, session: SessionDep, principal: AdminDep) -> Response:
    """The household and its logins go; its homes stay in the tenant, detached."""
    household = load_subscriber(session, principal, subscriber_id)
    for agent in session.scalars(select(Agent).where(Agent.subscriber_id == household.id)):
        agent.subscriber_id = None
    session.delete(household)
    audit.record(
        session,
        actor=principal.actor,
        action="subscriber_delete",
        agent_id=None,
        details={"subscriber_id": household.id, "reference": household.reference},
        outcome="deleted",
        tenant_id=household.tenant_id,
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/agents/{agent_id}/subscriber")
async def put_owner(agent_id: ObjectId, body: OwnerPut, request: Request, principal: AdminDep) -> OwnerPublic:
    """Attach a home to a household (or detach it). The platform operator may attach a home
    enrolled before accounts to any tenant's household; a tenant's admin only its own homes."""
    public, sealed = await run_in_threadpool(_put_owner, request, agent_id, body, principal)
    await tell_agents(request, sealed)
    return public


def _put_owner(
    request: Request, agent_id: str, body: OwnerPut, principal: Principal
) -> tuple[OwnerPublic, list[tuple[str, bytes]]]:
    plan = None
    with request.app.state.sessions() as session:
        agent = load_agent(session, principal, agent_id)
        if body.subscriber_id is None:
            agent.subscriber_id = None
        else:
            household = load_subscriber(session, principal, body.subscriber_id)
            if agent.tenant_id is not None and agent.tenant_id != household.tenant_id:
                raise HTTPException(
                    status_code=status.HTTP_404_NOT_FOUND, detail=not_found_sentence("subscriber")
                )
            agent.tenant_id, agent.subscriber_id = household.tenant_id, household.id
            plan = session.get(Plan, household.plan_id) if household.plan_id is not None else None
            if plan is not None:
                apply_plan(session, plan, household.id)
        audit.record(
            session,
            actor=principal.actor,
            action="home_owner",
            agent_id=agent_id,
            details=body.model_dump(),
            outcome="saved",
        )
        session.commit()
        public = OwnerPublic(agent_id=agent.id, tenant_id=agent.tenant_id, subscriber_id=agent.subscriber_id)
        plan_view = plan_public(plan) if plan is not None else None
    return public, seal_plans(request, plan_view, [agent_id]) if plan_view is not None else []
