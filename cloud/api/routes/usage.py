"""Usage: cycle-to-date with a day series, and the plan that defines the cycle."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

import protocol

from ... import audit
from ...commands import seal_command
from ...storage import Agent
from ...usage import cycle_usage, set_plan
from ..deps import OperatorDep, SessionDep

router = APIRouter(prefix="/agents", tags=["usage"])


class PlanPut(BaseModel):
    cap_bytes: int = Field(gt=0, le=10**18)
    cycle_start_day: int = Field(ge=1, le=31)
    timezone: str = Field(min_length=1, max_length=64)


class DayUsage(BaseModel):
    date: str
    bytes_rx: int
    bytes_tx: int


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


def _agent(session: SessionDep, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no such agent")
    return agent


@router.get("/{agent_id}/usage")
def usage(agent_id: str, session: SessionDep, _: OperatorDep) -> UsagePublic:
    _agent(session, agent_id)
    cycle = cycle_usage(session, agent_id)
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
    )


@router.put("/{agent_id}/plan")
async def put_plan(agent_id: str, body: PlanPut, request: Request, _: OperatorDep) -> PlanPut:
    """Set the plan; an online agent learns it at once (others at their next hello)."""
    with request.app.state.sessions() as session:
        _agent(session, agent_id)
        try:
            set_plan(session, agent_id, body.cap_bytes, body.cycle_start_day, body.timezone)
        except protocol.ProtocolError as exc:
            raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
        audit.record(
            session,
            actor="operator",
            action="set_plan",
            agent_id=agent_id,
            details=body.model_dump(),
            outcome="saved",
        )
        session.commit()
    ingest = request.app.state.ingest
    if ingest is not None:
        _command_id, payload = seal_command(
            request.app.state.keys.get().active, agent_id, "set_plan", body.model_dump()
        )
        await ingest.publish_command(agent_id, payload)
    return body
