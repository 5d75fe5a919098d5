"""Team figures for supervisors: what each person of the tenant did over the last days, read from
the audit log (which every action already writes) and the commands' own outcomes."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from ...accounts import SUBSCRIBER_ROLE
from ...storage import Agent, AuditEntry, User
from ...storage.assistance import CommandRecord
from ..auth import SupervisorDep, scope_agents
from ..deps import SessionDep

router = APIRouter(prefix="/team", tags=["accounts"])


class PersonFigures(BaseModel):
    user_id: str | None
    username: str
    role: str | None
    actions: int
    #: Diagnostics and setup commands sent, and how many of those the cloud or agent refused.
    commands: int
    refused: int
    #: Commands that ended in ``complete`` and their median seconds from sending to result.
    completed: int
    median_result_s: float | None
    homes: int
    #: Verdicts given on the daily list.
    verdicts: int


class TeamFigures(BaseModel):
    tenant_id: str | None
    since: datetime
    until: datetime
    homes: int
    homes_online: int
    people: list[PersonFigures]


@router.get("/figures")
def team_figures(
    session: SessionDep, principal: SupervisorDep, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> TeamFigures:
    """Per person of the tenant over the last ``days``, busiest first (supervisors and admins)."""
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    query = select(AuditEntry).where(AuditEntry.at >= since, AuditEntry.actor_user_id.is_not(None))
    if not principal.is_platform:
        query = query.where(AuditEntry.tenant_id == principal.tenant_id)
    entries = list(session.scalars(query))
    command_ids = [e.details.get("command_id") for e in entries if e.action == "command"]
    outcomes = {
        r.id: r
        for r in session.scalars(
            select(CommandRecord).where(CommandRecord.id.in_([c for c in command_ids if isinstance(c, str)]))
        )
    }
    people: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        people.setdefault(entry.actor_user_id or "", []).append(entry)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(people))))}
    # Staff only: a subscriber's own actions (consent) are not team work. Deleted logins stay.
    figures = [
        _person(uid, rows, users.get(uid), outcomes)
        for uid, rows in people.items()
        if (user := users.get(uid)) is None or user.role != SUBSCRIBER_ROLE
    ]
    figures.sort(key=lambda p: (-p.actions, p.username))
    homes = scope_agents(select(func.count()).select_from(Agent), principal)
    online = homes.where(Agent.online.is_(True))
    return TeamFigures(
        tenant_id=principal.tenant_id,
        since=since,
        until=until,
        homes=session.scalar(homes) or 0,
        homes_online=session.scalar(online) or 0,
        people=figures,
    )


def _person(
    user_id: str, rows: list[AuditEntry], user: User | None, outcomes: dict[str, CommandRecord]
) -> PersonFigures:
    commands = [r for r in rows if r.action == "command"]
    records = [
        outcomes[c] for r in commands if isinstance(c := r.details.get("command_id"), str) and c in outcomes
    ]
    done = [r for r in records if r.state == "complete"]
    waits = [(r.finished_at - r.issued_at).total_seconds() for r in done if r.finished_at is not None]
    return PersonFigures(
        user_id=user_id or None,
        username=user.username if user else rows[0].actor,
        role=user.role if user else None,
        actions=len(rows),
        commands=len(commands),
        refused=sum(1 for r in commands if r.outcome.startswith("refused")),
        completed=len(done),
        median_result_s=round(statistics.median(waits), 2) if waits else None,
        homes=len({r.agent_id for r in rows if r.agent_id}),
        verdicts=sum(1 for r in rows if r.action == "care_feedback"),
    )
