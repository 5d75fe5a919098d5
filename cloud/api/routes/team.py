"""Team figures for supervisors: what each person of the tenant did over the last days, read from
the audit log (which every action already writes) and the commands' own outcomes."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, case, func, select

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
    """Per person of the tenant over the last ``days``, busiest first (supervisors and admins).

    Counted in the database, grouped by person over the tenant's ``(tenant_id, at)`` index; only
    the completed commands' two times come back row by row, for their medians.
    """
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    window = [AuditEntry.at >= since, AuditEntry.actor_user_id.is_not(None)]
    if not principal.is_platform:
        window.append(AuditEntry.tenant_id == principal.tenant_id)
    is_command = AuditEntry.action == "command"

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    grouped = session.execute(
        select(
            AuditEntry.actor_user_id,
            func.max(AuditEntry.actor),
            func.count(),
            counted(is_command),
            counted(is_command & AuditEntry.outcome.startswith("refused")),
            func.count(AuditEntry.agent_id.distinct()),
            counted(AuditEntry.action == "care_feedback"),
        )
        .where(*window)
        .group_by(AuditEntry.actor_user_id)
    ).all()
    waits: dict[str | None, list[float]] = {}
    for user_id, issued, finished in session.execute(
        select(AuditEntry.actor_user_id, CommandRecord.issued_at, CommandRecord.finished_at)
        .join(CommandRecord, CommandRecord.id == AuditEntry.details["command_id"].as_string())
        .where(*window, is_command, CommandRecord.state == "complete")
    ):
        if finished is not None:  # counted when the agent's result time is known, as before
            waits.setdefault(user_id, []).append((finished - issued).total_seconds())
    users: dict[str | None, User] = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_([row[0] for row in grouped])))
    }
    figures = []
    for user_id, actor, actions, commands, refused, homes, verdicts in grouped:
        user = users.get(user_id)
        if user is not None and user.role == SUBSCRIBER_ROLE:
            continue  # a subscriber's own actions (consent) are not team work; deleted logins stay
        done = waits.get(user_id, [])
        figures.append(
            PersonFigures(
                user_id=user_id,
                username=user.username if user else actor,
                role=user.role if user else None,
                actions=actions,
                commands=commands,
                refused=refused,
                completed=len(done),
                median_result_s=round(statistics.median(done), 2) if done else None,
                homes=homes,
                verdicts=verdicts,
            )
        )
    figures.sort(key=lambda p: (-p.actions, p.username))
    homes_query = scope_agents(select(func.count()).select_from(Agent), principal)
    online = homes_query.where(Agent.online.is_(True))
    return TeamFigures(
        tenant_id=principal.tenant_id,
        since=since,
        until=until,
        homes=session.scalar(homes_query) or 0,
        homes_online=session.scalar(online) or 0,
        people=figures,
    )
