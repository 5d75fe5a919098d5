"""Usage: cycle-to-date with a day series, and the plan that defines the cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ... import audit
from ...care import cycle_projection
from ...commands import seal_plan
from ...storage import UsagePlan
from ...usage import cycle_usage, device_breakdown, device_daily, set_plan
from ..auth import AdminDep, Principal, PrincipalDep, load_agent
from ..deps import ObjectId, PublisherDep, SessionDep, get_publisher
from ..models import Input

router = APIRouter(prefix="/agents", tags=["usage"])


class PlanPut(Input):
    cap_bytes: int = Field(gt=0, le=10**18)
    cycle_start_day: int = Field(ge=1, le=31)
    timezone: str = Field(min_length=1, max_length=64)


class DayUsage(BaseModel):
    date: str
    bytes_rx: int
    bytes_tx: int


class ClassUsage(BaseModel):
    bytes_rx: int
    bytes_tx: int
    flows: int
    max_remote_hosts_per_hour: int
    smtp_connections: int


class DeviceUsage(BaseModel):
    device: str = Field(description="MAC address, or 'other' for traffic no home device could be named for")
    bytes_rx: int
    bytes_tx: int
    classes: dict[str, ClassUsage]
    daily: list[DayUsage] = []


class DevicesUsagePublic(BaseModel):
    agent_id: str
    cycle_start: datetime
    cycle_end: datetime
    devices: list[DeviceUsage]
    #: The whole home per traffic class (the sum over devices).
    classes: dict[str, ClassUsage]


class UsagePublic(BaseModel):
    agent_id: str
    cycle_start: datetime
    cycle_end: datetime
    bytes_rx: int
    bytes_tx: int
    total_bytes: int
    cap_bytes: int | None
    used_percent: float | None
    daily: list[DayUsage]
    #: Where the cycle will end at the home's own daily rhythm (docs/care.md); null without a plan.
    projected_bytes: int | None = None
    #: When the projection crosses the cap (null: not within this cycle, or no plan).
    cap_reached_at: datetime | None = None
    #: The plan's time zone: the days of ``daily`` are local dates there.
    timezone: str = "UTC"
    #: The largest devices this cycle (all of them at /usage/devices), where the agent meters a gateway.
    top_devices: list[DeviceUsage] = []


@router.get("/{agent_id}/usage")
def usage(agent_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> UsagePublic:
    """Staff of the home's tenant, or the home's own subscriber."""
    load_agent(session, principal, agent_id)
    now = datetime.now(UTC)
    cycle = cycle_usage(session, agent_id, now)
    plan = session.get(UsagePlan, agent_id)
    projection = cycle_projection(session, plan, now) if plan is not None else None
    return UsagePublic(
        agent_id=agent_id,
        cycle_start=cycle.start,
        cycle_end=cycle.end,
        bytes_rx=cycle.bytes_rx,
        bytes_tx=cycle.bytes_tx,
        total_bytes=cycle.total,
        cap_bytes=cycle.cap_bytes,
        used_percent=round(100 * cycle.total / cycle.cap_bytes, 2) if cycle.cap_bytes else None,
        daily=[DayUsage(**d) for d in cycle.daily],
        projected_bytes=round(projection.projected_bytes) if projection else None,
        cap_reached_at=projection.reach_at if projection else None,
        timezone=plan.timezone if plan else "UTC",
        top_devices=[
            DeviceUsage(**d) for d in device_breakdown(session, agent_id, cycle.start, cycle.end)[:5]
        ],
    )


@router.get("/{agent_id}/usage/devices")
def usage_by_device(agent_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> DevicesUsagePublic:
    """Cycle-to-date per device: bytes each way, per traffic class, and a day series in local dates."""
    load_agent(session, principal, agent_id)
    cycle = cycle_usage(session, agent_id)
    plan = session.get(UsagePlan, agent_id)
    daily = device_daily(session, agent_id, cycle.start, cycle.end, plan.timezone if plan else "UTC")
    devices = device_breakdown(session, agent_id, cycle.start, cycle.end)
    return DevicesUsagePublic(
        agent_id=agent_id,
        cycle_start=cycle.start,
        cycle_end=cycle.end,
        devices=[
            DeviceUsage(**d, daily=[DayUsage(**x) for x in daily.get(d["device"], [])]) for d in devices
        ],
        classes=_by_class(devices),
    )


def _by_class(devices: list[dict[str, Any]]) -> dict[str, ClassUsage]:
    totals: dict[str, dict[str, int]] = {}
    for device in devices:
        for cls, values in device["classes"].items():
            into = totals.setdefault(cls, dict.fromkeys(values, 0))
            for name, value in values.items():
                into[name] = max(into[name], value) if name.startswith("max_") else into[name] + value
    return {cls: ClassUsage(**values) for cls, values in sorted(totals.items())}


@router.put("/{agent_id}/plan")
async def put_plan(
    agent_id: ObjectId, body: PlanPut, request: Request, principal: AdminDep, ingest: PublisherDep
) -> PlanPut:
    """Set the plan (admins); an online agent learns it at once (others at their next hello)."""
    payload = await run_in_threadpool(_put_plan, request, agent_id, body, principal)
    if ingest is not None and payload is not None:
        await ingest.publish_command(agent_id, payload)
    return body


def _put_plan(request: Request, agent_id: str, body: PlanPut, principal: Principal) -> bytes | None:
    """Store and audit the plan; the sealed ``set_plan`` command when there is an ingest to send it."""
    with request.app.state.sessions() as session:
        load_agent(session, principal, agent_id)
        # A plan the protocol refuses (an unknown time zone) is a 422 in words (cloud/api/errors.py).
        set_plan(session, agent_id, body.cap_bytes, body.cycle_start_day, body.timezone)
        audit.record(
            session,
            actor=principal.actor,
            action="set_plan",
            agent_id=agent_id,
            details=body.model_dump(),
            outcome="saved",
        )
        session.commit()
    if get_publisher(request) is None:
        return None
    key = request.app.state.keys.get().active
    return seal_plan(
        key, agent_id, cap_bytes=body.cap_bytes, cycle_start_day=body.cycle_start_day, timezone=body.timezone
    )[1]
