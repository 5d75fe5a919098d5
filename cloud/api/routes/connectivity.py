"""Connectivity per home: the latest figures, a time range, and the experience score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from ...connectivity import BUCKETED_LIMIT, CONNECTIVITY_PROBES, HISTORY_LIMIT, downsample, history, latest
from ...experience import experience
from ...storage import ConnectivitySample
from ..auth import PrincipalDep, check_agent
from ..deps import Moment, NameFilter, ObjectId, SessionDep

router = APIRouter(prefix="/agents", tags=["connectivity"])

MAX_RANGE = timedelta(days=31)


class ConnectivityPublic(BaseModel):
    at: datetime
    probe: str
    target: str
    loss_pct: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    jitter_ms: float | None
    dns_ok: bool | None
    dns_ms: float | None
    down_mbps: float | None
    up_mbps: float | None
    finding: str | None
    finding_message: str | None

    @classmethod
    def of(cls, row: ConnectivitySample) -> ConnectivityPublic:
        return cls.model_validate(row, from_attributes=True)


class LatestPublic(BaseModel):
    agent_id: str
    latest: dict[str, ConnectivityPublic]


class HistoryPublic(BaseModel):
    agent_id: str
    since: datetime
    until: datetime
    samples: list[ConnectivityPublic]


class ExperiencePublic(BaseModel):
    agent_id: str
    since: datetime
    until: datetime
    score: float | None = Field(description="0-100; null without any measurement in the window")
    samples: int
    components: dict[str, dict[str, Any]]


@router.get("/{agent_id}/connectivity/latest")
def connectivity_latest(agent_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> LatestPublic:
    check_agent(session, principal, agent_id)
    return LatestPublic(
        agent_id=agent_id, latest={p: ConnectivityPublic.of(r) for p, r in latest(session, agent_id).items()}
    )


@router.get("/{agent_id}/connectivity")
def connectivity_history(
    agent_id: ObjectId,
    session: SessionDep,
    principal: PrincipalDep,
    *,
    since: Moment | None = None,
    until: Moment | None = None,
    probe: NameFilter = None,
    bucket_s: Annotated[
        float | None, Query(ge=60, le=86400, description="one averaged row per probe, target and bucket")
    ] = None,
) -> HistoryPublic:
    """Rows in ``[since, until)`` (default: the last 24 hours), oldest first, at most 5000; with
    ``bucket_s``, averaged per bucket (loss: the worst) for charts."""
    check_agent(session, principal, agent_id)
    end = until or datetime.now(UTC)
    start = since or end - timedelta(hours=24)
    if not start < end or end - start > MAX_RANGE:
        raise HTTPException(
            status_code=422, detail="Give a since before until, at most 31 days apart, and ask again."
        )
    if probe is not None and probe not in CONNECTIVITY_PROBES:
        names = ", ".join(sorted(CONNECTIVITY_PROBES))
        raise HTTPException(status_code=422, detail=f"There is no such probe; name one of: {names}.")
    rows = history(session, agent_id, start, end, probe, limit=BUCKETED_LIMIT if bucket_s else HISTORY_LIMIT)
    if bucket_s is not None:
        samples = [ConnectivityPublic.model_validate(r) for r in downsample(rows, bucket_s)]
    else:
        samples = [ConnectivityPublic.of(r) for r in rows]
    return HistoryPublic(agent_id=agent_id, since=start, until=end, samples=samples)


@router.get("/{agent_id}/experience")
def experience_score(
    agent_id: ObjectId,
    session: SessionDep,
    principal: PrincipalDep,
    hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0,
    target_down_mbps: Annotated[float, Query(gt=0, le=100_000)] = 25.0,
) -> ExperiencePublic:
    """The experience score over the last ``hours`` (formula: docs/connectivity.md)."""
    check_agent(session, principal, agent_id)
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    result = experience(session, agent_id, start, end, target_down_mbps=target_down_mbps)
    return ExperiencePublic(
        agent_id=agent_id,
        since=start,
        until=end,
        score=result.score,
        samples=result.samples,
        components=result.components,
    )
