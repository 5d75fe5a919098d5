"""Plans a tenant sells: cap, cycle start day, time zone and tier. Admins write them; staff read.
A plan's figures are copied onto the usage plan of every home of its subscribers.

A route that tells agents is ``async`` only to publish through the ingest on the event loop; its
database work and sealing run in a thread (issue 17: a held write lock froze /healthz otherwise)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from protocol.cycles import zone

from ... import audit
from ...storage import Plan, Subscriber
from ..auth import AdminDep, Principal, StaffDep, load_plan, tenant_for_new
from ..deps import Limit, Offset, RowId, SessionDep
from ..models import Input
from ..plan_sync import PlanPublic, apply_plan, plan_public, seal_plans, tell_agents

router = APIRouter(prefix="/plans", tags=["accounts"])
Tier = Literal["standard", "premium"]


class PlanCreate(Input):
    name: str = Field(min_length=1, max_length=64)
    cap_bytes: int = Field(gt=0, le=10**18)
    cycle_start_day: int = Field(ge=1, le=31)
    timezone: str = Field(min_length=1, max_length=64)
    tier: Tier = "standard"
    #: Only the platform operator names the tenant; everyone else creates in their own.
    tenant: str | None = Field(default=None, max_length=64)


class PlanUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    cap_bytes: int | None = Field(default=None, gt=0, le=10**18)
    cycle_start_day: int | None = Field(default=None, ge=1, le=31)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    tier: Tier | None = None


def _check_zone(name: str) -> None:
    zone(name)  # an unknown zone is a ProtocolError: a 422 in words (cloud/api/errors.py)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_plan(body: PlanCreate, session: SessionDep, principal: AdminDep) -> PlanPublic:
    tenant_id = tenant_for_new(session, principal, body.tenant)
    _check_zone(body.timezone)
    plan = Plan(tenant_id=tenant_id, **body.model_dump(exclude={"tenant"}))
    session.add(plan)
    try:
        session.flush()
    except IntegrityError as exc:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="A plan of that name already exists; choose another name.",
        ) from exc
    audit.record(
        session,
        actor=principal.actor,
        action="plan_add",
        agent_id=None,
        details=body.model_dump(),
        outcome="saved",
        tenant_id=tenant_id,
    )
    session.commit()
    return plan_public(plan)


@router.get("")
def list_plans(
    session: SessionDep,
    principal: StaffDep,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[PlanPublic]:
    query = select(Plan).order_by(Plan.tenant_id, Plan.name).limit(limit).offset(offset)
    if not principal.is_platform:
        query = query.where(Plan.tenant_id == principal.tenant_id)
    return [plan_public(p) for p in session.scalars(query)]


@router.get("/{plan_id}")
def get_plan(plan_id: RowId, session: SessionDep, principal: StaffDep) -> PlanPublic:
    return plan_public(load_plan(session, principal, plan_id))


@router.patch("/{plan_id}")
async def update_plan(plan_id: RowId, body: PlanUpdate, request: Request, principal: AdminDep) -> PlanPublic:
    """Change a plan; every home on it gets the new cap and cycle."""
    public, sealed = await run_in_threadpool(_update_plan, request, plan_id, body, principal)
    await tell_agents(request, sealed)
    return public


def _update_plan(
    request: Request, plan_id: int, body: PlanUpdate, principal: Principal
) -> tuple[PlanPublic, list[tuple[str, bytes]]]:
    with request.app.state.sessions() as session:
        plan = load_plan(session, principal, plan_id)
        if body.timezone is not None:
            _check_zone(body.timezone)
        for name, value in body.model_dump(exclude_none=True).items():
            setattr(plan, name, value)
        try:
            session.flush()
        except IntegrityError as exc:
            raise HTTPException(
                status_code=status.HTTP_409_CONFLICT,
                detail="A plan of that name already exists; choose another name.",
            ) from exc
        homes = apply_plan(session, plan)
        audit.record(
            session,
            actor=principal.actor,
            action="plan_update",
            agent_id=None,
            details={"plan_id": plan_id, **body.model_dump(exclude_none=True), "homes": len(homes)},
            outcome="saved",
            tenant_id=plan.tenant_id,
        )
        session.commit()
        public = plan_public(plan)
    return public, seal_plans(request, public, homes)


@router.delete("/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_plan(plan_id: RowId, session: SessionDep, principal: AdminDep) -> Response:
    """Subscribers on the plan keep their homes' current usage plan, and no longer have a plan."""
    plan = load_plan(session, principal, plan_id)
    for household in session.scalars(select(Subscriber).where(Subscriber.plan_id == plan.id)):
        household.plan_id = None
    session.delete(plan)
    audit.record(
        session,
        actor=principal.actor,
        action="plan_delete",
        agent_id=None,
        details={"plan_id": plan_id, "name": plan.name},
        outcome="deleted",
        tenant_id=plan.tenant_id,
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
