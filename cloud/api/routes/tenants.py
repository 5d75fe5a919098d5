"""Tenants (operators): the platform operator adds them; each tenant's admins do the rest."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from ... import audit
from ...accounts import TENANT_ID_PATTERN, create_tenant
from ...errors import AccountError
from ...storage import Tenant
from ..auth import PlatformDep
from ..deps import Limit, Offset, SessionDep
from ..models import Input

router = APIRouter(prefix="/tenants", tags=["accounts"])


class TenantCreate(Input):
    id: str = Field(pattern=TENANT_ID_PATTERN)
    name: str = Field(default="", max_length=255)


class TenantPublic(BaseModel):
    id: str
    name: str
    created_at: datetime


@router.post("", status_code=status.HTTP_201_CREATED)
def add_tenant(body: TenantCreate, session: SessionDep, principal: PlatformDep) -> TenantPublic:
    try:
        tenant = create_tenant(session, body.id, body.name)
    except AccountError as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    audit.record(
        session,
        actor=principal.actor,
        action="tenant_add",
        agent_id=None,
        details=body.model_dump(),
        outcome="saved",
        tenant_id=tenant.id,
    )
    session.commit()
    return TenantPublic(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


@router.get("")
def list_tenants(
    session: SessionDep, _: PlatformDep, limit: Limit = 200, offset: Offset = 0
) -> list[TenantPublic]:
    query = select(Tenant).order_by(Tenant.id).limit(limit).offset(offset)
    return [TenantPublic(id=t.id, name=t.name, created_at=t.created_at) for t in session.scalars(query)]
