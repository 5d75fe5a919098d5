"""Proactive care for CSRs: the daily list and verdicts on it, notifications, subscriber
preferences; and the unsubscribe link, which needs no login (its token is the credential).

A webhook makes the cloud connect where it says, so only a tenant's administrator sets or changes
one, through the egress policy (cloud/care/egress.py); why a delivery failed is theirs to read,
everyone else sees "delivery failed" (issue 17, finding 5)."""

from __future__ import annotations

import html
import secrets
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import HTMLResponse
from pydantic import AnyUrl, BaseModel, Field, UrlConstraints
from sqlalchemy import select

from protocol.cycles import zone

from ... import audit
from ...care.const import EARLIEST_DAY, LATEST_DAY
from ...care.egress import EgressRefused, policy_for
from ...config import Settings
from ...errors import DeliveryFailed
from ...storage import Agent, CareDailyEntry, CareFeedback, CareNotification, CarePreference, utcnow
from ..auth import Principal, PrincipalDep, StaffDep, can_see_agent, check_agent, scope_agents
from ..deps import SessionDep, SettingsDep

router = APIRouter(tags=["care"])

#: Bounds of path and query parameters: what the columns hold (ids are BIGINT, agent ids and
#: unsubscribe tokens VARCHAR(64)), so a bigger value is a 422 and not a database error.
AgentId = Annotated[str, Path(min_length=1, max_length=64)]
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Token = Annotated[str, Path(min_length=1, max_length=64)]
Day = Annotated[date | None, Query(), Field(ge=EARLIEST_DAY, le=LATEST_DAY)]
#: The column holds 2048 characters; http(s) only, and a host is required.
WebhookUrl = Annotated[
    AnyUrl, UrlConstraints(max_length=2048, allowed_schemes=["http", "https"], host_required=True)
]
#: What a person who cannot change the webhook reads instead of why it failed: the reason names
#: what the cloud could or could not connect to, which maps the operator's network.
DELIVERY_FAILED = "delivery failed"


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
    #: Left out: unchanged. Only a tenant administrator sets, changes or clears it.
    webhook_url: WebhookUrl | None = None
    muted_kinds: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=32
    )
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
def get_daily_list(session: SessionDep, principal: StaffDep, day: Day = None) -> list[DailyEntryPublic]:
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
    entry_id: EntryId, body: FeedbackCreate, session: SessionDep, principal: StaffDep
) -> FeedbackPublic:
    """Store a verdict; a false alarm down-weights this (home, device, kind) on later lists."""
    entry = session.get(CareDailyEntry, entry_id)
    home = session.get(Agent, entry.home) if entry is not None else None
    if entry is None or not (principal.is_platform or (home is not None and can_see_agent(principal, home))):
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail="There is no such entry on the daily list; refresh the list and try again.",
        )
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


def _shown_webhook(url: str | None, principal: Principal) -> str | None:
    """Administrators see the webhook; others only where it goes (its path may hold the receiver's
    secret). A PUT that leaves ``webhook_url`` out keeps it, so nobody has to send it back."""
    if url is None or principal.at_least("admin"):
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _public(agent_id: str, pref: CarePreference | None, principal: Principal) -> PreferencesPublic:
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
        webhook_url=_shown_webhook(pref.webhook_url, principal),
        muted_kinds=list(pref.muted_kinds),
        quiet_start_hour=pref.quiet_start_hour,
        quiet_end_hour=pref.quiet_end_hour,
        timezone=pref.timezone,
        subscribed=pref.unsubscribed_at is None,
    )


@router.get("/agents/{agent_id}/care/preferences")
def get_preferences(agent_id: AgentId, session: SessionDep, principal: PrincipalDep) -> PreferencesPublic:
    check_agent(session, principal, agent_id)
    return _public(agent_id, session.get(CarePreference, agent_id), principal)


def _checked_webhook(
    current: str | None, body: PreferencesPut, principal: Principal, settings: Settings
) -> str | None:
    """The webhook to store: an administrator's change, checked against the egress policy now
    (delivery checks again on the address it connects to)."""
    if "webhook_url" not in body.model_fields_set:
        return current
    wanted = str(body.webhook_url) if body.webhook_url is not None else None
    if wanted == current or (
        current is not None and wanted is not None and unquote(wanted) == _shown_webhook(current, principal)
    ):
        return current  # unchanged, or the shortened form a non-administrator was shown, sent back
    if not principal.at_least("admin"):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="Only a tenant administrator can set or change a webhook; ask your administrator.",
        )
    if wanted is None:
        return None
    try:
        policy_for(tuple(settings.care_webhook_allow)).check_url(wanted)
    except EgressRefused as exc:
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"This webhook address is {exc}. Use an address on the internet,"
            " or ask the platform operator to allow this one.",
        ) from None
    except DeliveryFailed as exc:
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"This webhook address cannot be used: {exc}. Check it and try again.",
        ) from None
    return wanted


@router.put("/agents/{agent_id}/care/preferences")
def put_preferences(
    agent_id: AgentId,
    body: PreferencesPut,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> PreferencesPublic:
    check_agent(session, principal, agent_id)
    if (body.quiet_start_hour is None) != (body.quiet_end_hour is None):
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="Quiet hours need both a start hour and an end hour; give both, or neither.",
        )
    if body.timezone is not None:
        zone(body.timezone)  # an unknown zone is a ProtocolError: a 422 in words (cloud/api/errors.py)
    pref = session.get(CarePreference, agent_id) or CarePreference(
        agent_id=agent_id, unsubscribe_token=secrets.token_urlsafe(32), muted_kinds=[]
    )
    pref.webhook_url = _checked_webhook(pref.webhook_url, body, principal, settings)
    pref.email = body.email
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
    return _public(agent_id, pref, principal)


@router.get("/agents/{agent_id}/care/notifications")
def get_notifications(
    agent_id: AgentId,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationPublic]:
    """The console channel: everything we decided to tell this home, and how delivery went."""
    check_agent(session, principal, agent_id)
    may_read_errors = principal.at_least("admin")
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
            last_error=_error_for(n, may_read_errors),
        )
        for n in rows
    ]


def _error_for(notification: CareNotification, may_read_errors: bool) -> str:
    if not notification.last_error or may_read_errors or notification.status == "skipped":
        return notification.last_error  # a skip's reason is ours ("unsubscribed or muted")
    return DELIVERY_FAILED


def _preference_by_token(session: SessionDep, token: str) -> CarePreference:
    pref = session.scalar(select(CarePreference).where(CarePreference.unsubscribe_token == token))
    if pref is None or not secrets.compare_digest(pref.unsubscribe_token, token):
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail="This link is no longer valid; use the link in the newest message,"
            " or change the setting on the self-care page.",
        )
    return pref


@router.get("/care/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: Token, session: SessionDep) -> str:
    """The link in every message shows a one-button page: a GET never unsubscribes, because mail
    scanners open links on their own."""
    _preference_by_token(session, token)
    return (
        "<!doctype html><title>Unsubscribe</title>"
        "<p>Stop e-mails and webhooks about this home's usage and alerts?</p>"
        f'<form method="post" action="{html.escape(token)}"><button>Unsubscribe</button></form>'
    )


@router.post("/care/unsubscribe/{token}")
def unsubscribe(token: Token, session: SessionDep) -> dict[str, str]:
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
