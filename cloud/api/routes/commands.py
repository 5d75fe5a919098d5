"""Remote diagnostics: send a command to an agent, follow it live (server-sent events) or poll it,
and read the audit trail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from protocol.catalogue import CATALOGUE

from ...remote import FINAL_STATES, CommandRejected, expire_overdue, issue
from ...storage.assistance import AuditEntry, CommandRecord
from ..auth import Principal, StaffDep, SupervisorDep, check_may_send, load_agent, load_command

router = APIRouter(tags=["remote diagnostics"])
SSE_POLL_S = 0.25


class CommandCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = {}
    ttl_s: float = Field(default=120, gt=0, le=3600)
    #: Deliver when an offline agent comes back (until ``ttl_s`` runs out) instead of refusing.
    wait: bool = False


class CommandPublic(BaseModel):
    command_id: str
    agent_id: str
    name: str
    params: dict[str, Any]
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    state: str
    status: str | None
    result: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None


class AuditPublic(BaseModel):
    at: datetime
    actor: str
    #: The acting login (None: the platform operator or the system).
    actor_user_id: str | None = None
    tenant_id: str | None = None
    action: str
    agent_id: str | None
    details: dict[str, Any]
    outcome: str


def _public(record: CommandRecord, principal: Principal | None = None) -> CommandPublic:
    """``principal`` below technician sees that a consent command ran, not what it returned (a
    support bundle's contents are for whoever may run it)."""
    definition = CATALOGUE.get(record.name)
    needs_consent = definition is not None and definition.consent
    hidden = needs_consent and principal is not None and not principal.at_least("technician")
    return CommandPublic(
        command_id=record.id,
        agent_id=record.agent_id,
        name=record.name,
        params=record.params,
        issued_by=record.issued_by,
        issued_at=record.issued_at,
        expires_at=record.expires_at,
        state=record.state,
        status=record.status,
        result=None if hidden else record.result,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )


def _load(sessions: sessionmaker[Session], command_id: str, principal: Principal) -> CommandPublic:
    with sessions.begin() as session:
        expire_overdue(session, command_id=command_id)
        return _public(load_command(session, principal, command_id), principal)


@router.post("/agents/{agent_id}/commands", status_code=status.HTTP_202_ACCEPTED)
async def send_command(
    agent_id: str, body: CommandCreate, request: Request, principal: StaffDep
) -> CommandPublic:
    """Routine diagnostics for every staff role; commands that need consent for technicians up."""
    check_may_send(principal, body.name)
    sessions: sessionmaker[Session] = request.app.state.sessions
    key = request.app.state.keys.get().active

    def _issue() -> tuple[CommandPublic, bytes | None]:
        with sessions() as session:
            load_agent(session, principal, agent_id)
            try:
                issued = issue(
                    session,
                    key,
                    actor=principal.actor,
                    agent_id=agent_id,
                    name=body.name,
                    params=body.params,
                    ttl_s=body.ttl_s,
                    wait=body.wait,
                    policy=request.app.state.settings.tier_policy,
                )
            except CommandRejected:
                session.commit()  # the refusal is audited
                raise
            session.commit()
            return _public(issued.record), issued.payload

    try:
        public, payload = await run_in_threadpool(_issue)
    except CommandRejected as exc:
        raise HTTPException(status_code=exc.http_status, detail=exc.reason) from exc
    ingest = request.app.state.ingest
    if payload is not None and (ingest is None or not await ingest.publish_command(agent_id, payload)):
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail="the broker is not connected"
        )
    return public


@router.get("/agents/{agent_id}/commands")
def list_commands(
    agent_id: str,
    request: Request,
    principal: StaffDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[CommandPublic]:
    """The home's latest commands, newest first: what colleagues already ran, and their results."""
    with request.app.state.sessions.begin() as session:
        load_agent(session, principal, agent_id)
        expire_overdue(session, agent_id=agent_id)
        query = (
            select(CommandRecord)
            .where(CommandRecord.agent_id == agent_id)
            .order_by(CommandRecord.issued_at.desc())
            .limit(limit)
        )
        return [_public(r, principal) for r in session.scalars(query)]


@router.get("/commands/{command_id}")
async def get_command(command_id: str, request: Request, principal: StaffDep) -> CommandPublic:
    return await run_in_threadpool(_load, request.app.state.sessions, command_id, principal)


@router.get("/commands/{command_id}/events", response_class=StreamingResponse)
async def command_events(command_id: str, request: Request, principal: StaffDep) -> StreamingResponse:
    """Server-sent events: ``state`` on every change (progress), then ``result`` and the end."""
    sessions = request.app.state.sessions
    await run_in_threadpool(_load, sessions, command_id, principal)

    async def events() -> AsyncIterator[str]:
        last = None
        while not await request.is_disconnected():
            try:
                public = await run_in_threadpool(_load, sessions, command_id, principal)
            except HTTPException:
                return
            if public.state != last:
                if public.state in FINAL_STATES and public.started_at is not None and last != "running":
                    # The agent's progress came in the same batch as its result: still report it first.
                    running = public.model_copy(update={"state": "running", "result": None, "status": None})
                    yield f"event: state\ndata: {json.dumps(running.model_dump(mode='json'))}\n\n"
                last = public.state
                kind = "result" if public.state in FINAL_STATES else "state"
                yield f"event: {kind}\ndata: {json.dumps(public.model_dump(mode='json'))}\n\n"
                if kind == "result":
                    return
            await asyncio.sleep(SSE_POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/audit")
def audit_log(
    request: Request,
    principal: SupervisorDep,
    agent_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditPublic]:
    """The tenant's audit log (supervisors and admins; the platform operator sees every tenant's)."""
    with request.app.state.sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if not principal.is_platform:
            query = query.where(AuditEntry.tenant_id == principal.tenant_id)
        if agent_id:
            query = query.where(AuditEntry.agent_id == agent_id)
        return [audit_public(e) for e in session.scalars(query)]


def audit_public(e: AuditEntry) -> AuditPublic:
    return AuditPublic(
        at=e.at,
        actor=e.actor,
        actor_user_id=e.actor_user_id,
        tenant_id=e.tenant_id,
        action=e.action,
        agent_id=e.agent_id,
        details=e.details,
        outcome=e.outcome,
    )
