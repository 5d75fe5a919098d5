"""Agents: online state, last seen, latest telemetry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func, select

from ...storage import Agent, Sample
from ..deps import OperatorDep, SessionDep
from ..models import AgentPublic, LatestTelemetry, SamplePublic, SamplesPage

router = APIRouter(prefix="/agents", tags=["agents"])


def _public(agent: Agent) -> AgentPublic:
    return AgentPublic(
        agent_id=agent.id,
        hostname=agent.hostname,
        platform=agent.platform,
        agent_version=agent.agent_version,
        enrolled_at=agent.enrolled_at,
        last_seen_at=agent.last_seen_at,
        online=agent.online,
        status_changed_at=agent.status_changed_at,
    )


def _get(session: SessionDep, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no such agent")
    return agent


def _sample(row: Sample) -> SamplePublic:
    return SamplePublic(probe=row.probe, at=row.at, status=row.status, data=row.data)


@router.get("")
def list_agents(
    session: SessionDep,
    _: OperatorDep,
    online: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AgentPublic]:
    query = select(Agent).order_by(Agent.enrolled_at, Agent.id).limit(limit).offset(offset)
    if online is not None:
        query = query.where(Agent.online == online)
    return [_public(a) for a in session.scalars(query)]


@router.get("/{agent_id}")
def get_agent(agent_id: str, session: SessionDep, _: OperatorDep) -> AgentPublic:
    return _public(_get(session, agent_id))


@router.get("/{agent_id}/telemetry/latest")
def latest_telemetry(agent_id: str, session: SessionDep, _: OperatorDep) -> LatestTelemetry:
    _get(session, agent_id)
    newest = (
        select(Sample.probe, func.max(Sample.id).label("id"))
        .where(Sample.agent_id == agent_id)
        .group_by(Sample.probe)
        .subquery()
    )
    rows = session.scalars(select(Sample).join(newest, Sample.id == newest.c.id))
    return LatestTelemetry(agent_id=agent_id, probes={r.probe: _sample(r) for r in rows})


@router.get("/{agent_id}/telemetry")
def telemetry(
    agent_id: str,
    session: SessionDep,
    _: OperatorDep,
    probe: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> SamplesPage:
    _get(session, agent_id)
    query = select(Sample).where(Sample.agent_id == agent_id).order_by(Sample.at.desc(), Sample.id.desc())
    if probe:
        query = query.where(Sample.probe == probe)
    if since:
        query = query.where(Sample.at >= since)
    return SamplesPage(agent_id=agent_id, samples=[_sample(r) for r in session.scalars(query.limit(limit))])
