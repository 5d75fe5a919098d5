"""Remote diagnostics: send a command to an agent, follow it live (server-sent events) or poll it,
and read the audit trail.

A live stream is an open socket and a read of the command every poll, so each login holds at most
:data:`COMMAND_STREAMS_PER_LOGIN` and the process :data:`COMMAND_STREAMS_MAX` (beyond either: 429
with Retry-After), and a stream ends when its command is final or after
:data:`COMMAND_STREAM_MAX_S`. Reads never write: a command past its expiry is shown expired, and
only a page load that finds one (not a stream) records it (issue 17: 300 streams, each poll a write
transaction, took 1.1 of 2 cores).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from protocol.catalogue import CATALOGUE

from ...const import (
    COMMAND_STREAM_MAX_S,
    COMMAND_STREAM_POLL_MAX_S,
    COMMAND_STREAM_POLL_MIN_S,
    COMMAND_STREAM_RETRY_AFTER_S,
    COMMAND_STREAMS_MAX,
    COMMAND_STREAMS_PER_LOGIN,
)
from ...errors import CommandRefused
from ...remote import FINAL_STATES, expire_overdue, issue
from ...storage import utcnow
from ...storage.assistance import AuditEntry, CommandRecord
from ..audit import AuditLimit, AuditPublic, audit_public
from ..auth import Principal, StaffDep, SupervisorDep, check_may_send, load_agent, load_command
from ..deps import NameFilter, ObjectId, Offset, PublisherDep

router = APIRouter(tags=["remote diagnostics"])


class CommandCreate(BaseModel):
    # ``x-sentence``: what a refusal of the field says (cloud/api/errors.py).
    name: str = Field(
        min_length=1,
        max_length=64,
        json_schema_extra={"x-sentence": "the name must be a diagnostic's name, such as ping or traceroute"},
    )
    #: Checked against the command's schema in the catalogue (``protocol/catalogue.py``): known
    #: names only, every value bounded; a refusal says which and how, without repeating it.
    params: dict[str, Any] = Field(
        default={},
        json_schema_extra={"x-sentence": "the params must be an object of the command's parameters"},
    )
    ttl_s: float = Field(
        default=120,
        gt=0,
        le=3600,
        json_schema_extra={"x-sentence": "the ttl_s must be a number of seconds above 0 and at most 3600"},
    )
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


def _overdue(record: CommandRecord, now: datetime) -> bool:
    return record.state not in FINAL_STATES and record.expires_at <= now


def _public(
    record: CommandRecord, principal: Principal | None = None, now: datetime | None = None
) -> CommandPublic:
    """``principal`` below technician sees that a consent command ran, not what it returned (a
    support bundle's contents are for whoever may run it). With ``now``, a command past its expiry
    shows as expired whether or not that was written yet."""
    definition = CATALOGUE.get(record.name)
    needs_consent = definition is not None and definition.consent
    hidden = needs_consent and principal is not None and not principal.at_least("technician")
    expired = now is not None and _overdue(record, now)
    return CommandPublic(
        command_id=record.id,
        agent_id=record.agent_id,
        name=record.name,
        params=record.params,
        issued_by=record.issued_by,
        issued_at=record.issued_at,
        expires_at=record.expires_at,
        state="expired" if expired else record.state,
        status=record.status,
        result=None if hidden else record.result,
        started_at=record.started_at,
        finished_at=now if expired else record.finished_at,
    )


def _read(sessions: sessionmaker[Session], command_id: str, principal: Principal) -> CommandPublic:
    """The command as it stands, without writing (what a stream polls)."""
    with sessions() as session:
        return _public(load_command(session, principal, command_id), principal, utcnow())


def _load(sessions: sessionmaker[Session], command_id: str, principal: Principal) -> CommandPublic:
    """The command, recording its expiry if it is overdue (the one write, and only then)."""
    now = utcnow()
    with sessions() as session:
        record = load_command(session, principal, command_id)
        if _overdue(record, now):
            expire_overdue(session, now, command_id=command_id)
            session.commit()
        return _public(record, principal, now)


@router.post("/agents/{agent_id}/commands", status_code=status.HTTP_202_ACCEPTED)
async def send_command(
    agent_id: ObjectId, body: CommandCreate, request: Request, principal: StaffDep, ingest: PublisherDep
) -> CommandPublic:
    """Routine diagnostics for every staff role; commands that need consent for technicians up."""
    check_may_send(principal, body.name)
    sessions: sessionmaker[Session] = request.app.state.sessions

    def _issue() -> tuple[CommandPublic, bytes | None]:
        key = request.app.state.keys.get().active  # a stat, and a read after a rotation: off the loop
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
            except CommandRefused:
                session.commit()  # the refusal is audited; cloud/api/errors.py answers it
                raise
            session.commit()
            return _public(issued.record), issued.payload

    public, payload = await run_in_threadpool(_issue)
    if payload is not None and (ingest is None or not await ingest.publish_command(agent_id, payload)):
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="The home cannot be reached right now (the message broker is not connected);"
            " try again in a minute.",
        )
    return public


@router.get("/agents/{agent_id}/commands")
def list_commands(
    agent_id: ObjectId,
    request: Request,
    principal: StaffDep,
    limit: Annotated[int, Query(ge=1, le=200, description="rows in one page")] = 20,
    offset: Offset = 0,
) -> list[CommandPublic]:
    """The home's latest commands, newest first: what colleagues already ran, and their results."""
    now = utcnow()
    with request.app.state.sessions() as session:
        load_agent(session, principal, agent_id)
        query = (
            select(CommandRecord)
            .where(CommandRecord.agent_id == agent_id)
            .order_by(CommandRecord.issued_at.desc(), CommandRecord.id)
            .limit(limit)
            .offset(offset)
        )
        records = list(session.scalars(query))
        if any(_overdue(r, now) for r in records):
            expire_overdue(session, now, agent_id=agent_id)
            session.commit()
        return [_public(r, principal, now) for r in records]


@router.get("/commands/{command_id}")
async def get_command(command_id: ObjectId, request: Request, principal: StaffDep) -> CommandPublic:
    return await run_in_threadpool(_load, request.app.state.sessions, command_id, principal)


class StreamSlots:
    """The live streams held, per login and in all, in this process."""

    def __init__(self, per_login: int = COMMAND_STREAMS_PER_LOGIN, total: int = COMMAND_STREAMS_MAX) -> None:
        self.per_login = per_login
        self.total = total
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()  # TestClient runs each app's loop in its own thread

    def take(self, login: str) -> str | None:
        """None when a slot is taken for ``login``, else why not (the 429's detail)."""
        with self._lock:
            if self._held[login] >= self.per_login:
                return (
                    f"This login already follows {self.per_login} commands live; close one of those "
                    "views or wait for it to finish, then try again."
                )
            if self._held.total() >= self.total:
                return "The service follows as many commands live as it can; try again in a few seconds."
            self._held[login] += 1
            return None

    def give(self, login: str) -> None:
        with self._lock:
            self._held[login] -= 1
            if self._held[login] <= 0:
                del self._held[login]

    def held(self, login: str | None = None) -> int:
        with self._lock:
            return self._held.total() if login is None else self._held[login]


#: Per process, as the bound is: every app in it shares the cores.
STREAMS = StreamSlots()


class _HeldStream(StreamingResponse):
    """A stream that gives its slot back however it ends: result, time limit, client gone, error."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _login(principal: Principal) -> str:
    return principal.user_id or f"{principal.role}:{principal.username}"


@router.get(
    "/commands/{command_id}/events",
    response_class=StreamingResponse,
    responses={429: {"description": "too many live streams for this login or this process"}},
)
async def command_events(command_id: ObjectId, request: Request, principal: StaffDep) -> StreamingResponse:
    """Server-sent events: ``state`` on every change (progress), then ``result`` and the end."""
    sessions = request.app.state.sessions
    login = _login(principal)
    refused = STREAMS.take(login)
    if refused is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=refused,
            headers={"Retry-After": str(COMMAND_STREAM_RETRY_AFTER_S)},
        )
    try:
        first = await run_in_threadpool(_read, sessions, command_id, principal)
    except BaseException:
        STREAMS.give(login)
        raise
    return _HeldStream(_follow(request, sessions, command_id, principal, first), lambda: STREAMS.give(login))


async def _follow(
    request: Request,
    sessions: sessionmaker[Session],
    command_id: str,
    principal: Principal,
    public: CommandPublic,
) -> AsyncIterator[str]:
    """Poll (read only) until the command is final, the client leaves or the stream's time is up;
    quickly while the command moves, backing off while it waits."""
    deadline = time.monotonic() + COMMAND_STREAM_MAX_S
    interval = COMMAND_STREAM_POLL_MIN_S
    last = None
    while True:
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
            interval = COMMAND_STREAM_POLL_MIN_S
        else:
            interval = min(interval * 2, COMMAND_STREAM_POLL_MAX_S)
        if time.monotonic() + interval > deadline:
            return
        await asyncio.sleep(interval)
        if await request.is_disconnected():
            return
        try:
            public = await run_in_threadpool(_read, sessions, command_id, principal)
        except HTTPException:
            return


@router.get("/audit")
def audit_log(
    request: Request,
    principal: SupervisorDep,
    agent_id: NameFilter = None,
    limit: AuditLimit = 100,
    offset: Offset = 0,
) -> list[AuditPublic]:
    """The tenant's audit log, newest first (supervisors and admins; the platform operator sees
    every tenant's)."""
    with request.app.state.sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        if not principal.is_platform:
            query = query.where(AuditEntry.tenant_id == principal.tenant_id)
        if agent_id:
            query = query.where(AuditEntry.agent_id == agent_id)
        return [audit_public(e) for e in session.scalars(query)]
