"""The quarantine: reports set aside by the ingest (``cloud/quarantine.py``), for operators.

A tenant's admins see their own homes' reports; the platform operator sees every tenant's. The
payload is the agent's signed message as received, base64-encoded, so it can be verified again.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ... import quarantine
from ...storage import QuarantinedReport
from ..auth import AdminDep
from ..deps import SessionDep

router = APIRouter(prefix="/quarantine", tags=["ingest"])


class QuarantinedPublic(BaseModel):
    agent_id: str
    epoch: int
    seq: int
    kind: str
    #: ``bounds``, ``malformed`` or ``store``, and the words behind it.
    reason: str
    detail: str
    received_at: datetime
    size_bytes: int
    payload_b64: str


class QuarantinePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[QuarantinedPublic]


def _public(row: QuarantinedReport) -> QuarantinedPublic:
    return QuarantinedPublic(
        agent_id=row.agent_id,
        epoch=row.epoch,
        seq=row.seq,
        kind=row.kind,
        reason=row.reason,
        detail=row.detail,
        received_at=row.received_at,
        size_bytes=len(row.payload),
        payload_b64=base64.b64encode(row.payload).decode(),
    )


@router.get("")
def list_quarantined(
    session: SessionDep,
    principal: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> QuarantinePage:
    """Newest first. Each report here was acknowledged to its agent as refused."""
    tenant = None if principal.is_platform else principal.tenant_id or ""
    total, rows = quarantine.listing(session, tenant, limit=limit, offset=offset)
    return QuarantinePage(total=total, limit=limit, offset=offset, items=[_public(r) for r in rows])
