"""Liveness and the ingest's counters."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import MonitorDep, OperatorDep
from ..models import IngestStatsPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/ingest/stats")
def ingest_stats(ingest: MonitorDep, _: OperatorDep) -> IngestStatsPublic:
    if ingest is None:
        return IngestStatsPublic(running=False)
    return IngestStatsPublic(running=ingest.connected.is_set(), **ingest.stats.as_dict())
