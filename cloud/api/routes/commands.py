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

from ...remote import FINAL_STATES, CommandRejected, expire_overdue, issue
from ...storage.assistance import AuditEntry, CommandRecord
from ..deps import OperatorDep

router = APIRouter(tags=["remote diagnostics"])
ACTOR = "operator"  # per-user identities arrive with accounts and roles
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
    action: str
    agent_id: str | None
    details: dict[str, Any]
    outcome: str


def _public(record: CommandRecord) -> CommandPublic:
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
        result=record.result,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )


def _load(sessions: sessionmaker[Session], command_id: str) -> CommandPublic | None:
    with sessions.begin() as session:
        expire_overdue(session)
        record = session.get(CommandRecord, command_id)
        return None if record is None else _public(record)


@router.post("/agents/{agent_id}/commands", status_code=status.HTTP_202_ACCEPTED)
async def send_command(agent_id: str, body: CommandCreate, request: Request, _: OperatorDep) -> CommandPublic:
    sessions: sessionmaker[Session] = request.app.state.sessions
    key = request.app.state.keys.get().active

    def _issue() -> tuple[CommandPublic, bytes | None]:
        with sessions() as session:
            try:
                issued = issue(
                    session,
                    key,
                    actor=ACTOR,
                    agent_id=agent_id,
                    name=body.name,
                    params=body.params,
                    ttl_s=body.ttl_s,
                    wait=body.wait,
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


@router.get("/commands/{command_id}")
async def get_command(command_id: str, request: Request, _: OperatorDep) -> CommandPublic:
    public = await run_in_threadpool(_load, request.app.state.sessions, command_id)
    if public is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no such command")
    return public


@router.get("/commands/{command_id}/events", response_class=StreamingResponse)
async def command_events(command_id: str, request: Request, _: OperatorDep) -> StreamingResponse:
    """Server-sent events: ``state`` on every change (progress), then ``result`` and the end."""
    sessions = request.app.state.sessions
    if await run_in_threadpool(_load, sessions, command_id) is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no such command")

    async def events() -> AsyncIterator[str]:
        last = None
        while not await request.is_disconnected():
            public = await run_in_threadpool(_load, sessions, command_id)
            if public is None:
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
    _: OperatorDep,
    agent_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditPublic]:
    with request.app.state.sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if agent_id:
            query = query.where(AuditEntry.agent_id == agent_id)
        return [
            AuditPublic(
                at=e.at,
                actor=e.actor,
                action=e.action,
                agent_id=e.agent_id,
                details=e.details,
                outcome=e.outcome,
            )
            for e in session.scalars(query)
        ]
