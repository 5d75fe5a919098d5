"""Proactive care for CSRs: the daily list and verdicts on it, notifications, subscriber
preferences; and the unsubscribe link, which needs no login (its token is the credential)."""

from __future__ import annotations

import html
import secrets
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import select

import protocol
from protocol.cycles import zone

from ... import audit
from ...storage import Agent, CareDailyEntry, CareFeedback, CareNotification, CarePreference, utcnow
from ..auth import PrincipalDep, StaffDep, can_see_agent, check_agent, scope_agents
from ..deps import SessionDep

router = APIRouter(tags=["care"])


class DailyEntryPublic(BaseModel):
    id: int
    day: date
    rank: int
    home: str
    score: float
    device: str
    device_name: str | None
    kind: str
    reason: str
    findings: list[dict[str, Any]]
    feedback: list[str]


class FeedbackCreate(BaseModel):
    verdict: Literal["confirmed", "false_alarm"]
    note: str = Field(default="", max_length=1024)
    actor: str = Field(default="csr", min_length=1, max_length=128)


class FeedbackPublic(BaseModel):
    entry_id: int
    verdict: str
    home: str
    device: str
    kind: str


class PreferencesPut(BaseModel):
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook_url: HttpUrl | None = None
    muted_kinds: list[str] = Field(default_factory=list, max_length=32)
    quiet_start_hour: int | None = Field(default=None, ge=0, le=23)
    quiet_end_hour: int | None = Field(default=None, ge=0, le=23)
    timezone: str | None = Field(default=None, max_length=64)
    #: Setting this to true again undoes an unsubscribe (the CSR acts on the subscriber's word).
    subscribed: bool = True


class PreferencesPublic(BaseModel):
    agent_id: str
    email: str | None
    webhook_url: str | None
    muted_kinds: list[str]
    quiet_start_hour: int | None
    quiet_end_hour: int | None
    timezone: str | None
    subscribed: bool


class NotificationPublic(BaseModel):
    key: str
    kind: str
    threshold: str
    cycle: str
    channel: str
    subject: str
    body: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str


@router.get("/care/daily-list")
def get_daily_list(
    session: SessionDep, principal: StaffDep, day: Annotated[date | None, Query()] = None
) -> list[DailyEntryPublic]:
    """A day's list (default: yesterday, UTC), best first, with the verdicts already given; staff
    see their tenant's homes only."""
    wanted = day or (utcnow() - timedelta(days=1)).date()
    query = select(CareDailyEntry).where(CareDailyEntry.day == wanted).order_by(CareDailyEntry.rank)
    if not principal.is_platform:
        query = query.where(CareDailyEntry.home.in_(scope_agents(select(Agent.id), principal)))
    entries = session.scalars(query).all()
    verdicts: dict[int, list[str]] = {}
    if entries:
        for entry_id, verdict in session.execute(
            select(CareFeedback.entry_id, CareFeedback.verdict).where(
                CareFeedback.entry_id.in_([e.id for e in entries])
            )
        ):
            verdicts.setdefault(entry_id, []).append(verdict)
    return [
        DailyEntryPublic(
            id=e.id,
            day=e.day,
            rank=e.rank,
            home=e.home,
            score=e.score,
            device=e.device,
            device_name=e.device_name,
            kind=e.kind,
            reason=e.reason,
            findings=list(e.details.get("findings", [])),
            feedback=verdicts.get(e.id, []),
        )
        for e in entries
    ]


@router.post("/care/daily-list/{entry_id}/feedback", status_code=status.HTTP_201_CREATED)
def post_feedback(
    entry_id: int, body: FeedbackCreate, session: SessionDep, principal: StaffDep
) -> FeedbackPublic:
    """Store a verdict; a false alarm down-weights this (home, device, kind) on later lists."""
    entry = session.get(CareDailyEntry, entry_id)
    home = session.get(Agent, entry.home) if entry is not None else None
    if entry is None or not (principal.is_platform or (home is not None and can_see_agent(principal, home))):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="no such entry")
    # A login is named by the account; only the platform token still says who it acts for.
    actor = audit.Actor(body.actor) if principal.is_platform else principal.actor
    session.add(
        CareFeedback(
            entry_id=entry.id,
            day=entry.day,
            home=entry.home,
            device=entry.device,
            kind=entry.kind,
            verdict=body.verdict,
            note=body.note,
            actor=actor.name,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="care_feedback",
        agent_id=entry.home if home is not None else None,
        details={"entry_id": entry.id, "verdict": body.verdict, "kind": entry.kind, "device": entry.device},
        outcome="saved",
    )
    session.commit()
    return FeedbackPublic(
        entry_id=entry.id, verdict=body.verdict, home=entry.home, device=entry.device, kind=entry.kind
    )


def _public(agent_id: str, pref: CarePreference | None) -> PreferencesPublic:
    if pref is None:
        return PreferencesPublic(
            agent_id=agent_id,
            email=None,
            webhook_url=None,
            muted_kinds=[],
            quiet_start_hour=None,
            quiet_end_hour=None,
            timezone=None,
            subscribed=True,
        )
    return PreferencesPublic(
        agent_id=agent_id,
        email=pref.email,
        webhook_url=pref.webhook_url,
        muted_kinds=list(pref.muted_kinds),
        quiet_start_hour=pref.quiet_start_hour,
        quiet_end_hour=pref.quiet_end_hour,
        timezone=pref.timezone,
        subscribed=pref.unsubscribed_at is None,
    )


@router.get("/agents/{agent_id}/care/preferences")
def get_preferences(agent_id: str, session: SessionDep, principal: PrincipalDep) -> PreferencesPublic:
    check_agent(session, principal, agent_id)
    return _public(agent_id, session.get(CarePreference, agent_id))


@router.put("/agents/{agent_id}/care/preferences")
def put_preferences(
    agent_id: str, body: PreferencesPut, session: SessionDep, principal: PrincipalDep
) -> PreferencesPublic:
    check_agent(session, principal, agent_id)
    if (body.quiet_start_hour is None) != (body.quiet_end_hour is None):
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail="quiet hours need a start and an end"
        )
    if body.timezone is not None:
        try:
            zone(body.timezone)
        except protocol.ProtocolError as exc:
            raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    pref = session.get(CarePreference, agent_id) or CarePreference(
        agent_id=agent_id, unsubscribe_token=secrets.token_urlsafe(32), muted_kinds=[]
    )
    pref.email = body.email
    pref.webhook_url = str(body.webhook_url) if body.webhook_url else None
    pref.muted_kinds = body.muted_kinds
    pref.quiet_start_hour, pref.quiet_end_hour = body.quiet_start_hour, body.quiet_end_hour
    pref.timezone = body.timezone
    pref.unsubscribed_at = None if body.subscribed else (pref.unsubscribed_at or utcnow())
    pref.updated_at = utcnow()
    session.add(pref)
    audit.record(
        session,
        actor=principal.actor,
        action="care_preferences",
        agent_id=agent_id,
        details=body.model_dump(mode="json"),
        outcome="saved",
    )
    session.commit()
    return _public(agent_id, pref)


@router.get("/agents/{agent_id}/care/notifications")
def get_notifications(
    agent_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationPublic]:
    """The console channel: everything we decided to tell this home, and how delivery went."""
    check_agent(session, principal, agent_id)
    rows = session.scalars(
        select(CareNotification)
        .where(CareNotification.agent_id == agent_id)
        .order_by(CareNotification.id.desc())
        .limit(limit)
    )
    return [
        NotificationPublic(
            key=n.key,
            kind=n.kind,
            threshold=n.threshold,
            cycle=n.cycle,
            channel=n.channel,
            subject=n.subject,
            body=n.body,
            status=n.status,
            attempts=n.attempts,
            created_at=n.created_at,
            sent_at=n.sent_at,
            last_error=n.last_error,
        )
        for n in rows
    ]


def _preference_by_token(session: SessionDep, token: str) -> CarePreference:
    pref = session.scalar(select(CarePreference).where(CarePreference.unsubscribe_token == token))
    if pref is None or not secrets.compare_digest(pref.unsubscribe_token, token):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="unknown link")
    return pref


@router.get("/care/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, session: SessionDep) -> str:
    """The link in every message shows a one-button page: a GET never unsubscribes, because mail
    scanners open links on their own."""
    _preference_by_token(session, token)
    return (
        "<!doctype html><title>Unsubscribe</title>"
        "<p>Stop e-mails and webhooks about this home's usage and alerts?</p>"
        f'<form method="post" action="{html.escape(token)}"><button>Unsubscribe</button></form>'
    )


@router.post("/care/unsubscribe/{token}")
def unsubscribe(token: str, session: SessionDep) -> dict[str, str]:
    """Unsubscribe: the page's button, or a mail client's one-click POST (RFC 8058). No login:
    the token is the credential."""
    pref = _preference_by_token(session, token)
    if pref.unsubscribed_at is None:
        pref.unsubscribed_at = utcnow()
        audit.record(
            session,
            actor="subscriber",
            action="care_unsubscribe",
            agent_id=pref.agent_id,
            details={},
            outcome="saved",
        )
        session.commit()
    return {"status": "unsubscribed"}
