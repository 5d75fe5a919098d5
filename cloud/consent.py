"""Remote-assistance consent, from either side: given or withdrawn on the device (reported as a
``consent`` sample) or in the self-care portal (a :class:`~cloud.storage.assistance.WebConsent`).

The latest decision wins, whichever side made it: a revoke on the device ends a session granted on
the web, a revoke on the web ends one granted on the device, and a grant replaces the session before
it. On a tie the revoke wins. Device decisions carry the agent's clock and web ones the cloud's, so
an agent whose clock is off by more than the time between two decisions can have them ordered
wrongly here; the agent itself still refuses a vouched command issued before its own revoke
(agent/commands.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import ProbeName
from protocol.catalogue import MAX_CONSENT_MINUTES

from . import audit
from .storage import Sample
from .storage.assistance import WebConsent

Source = Literal["device", "web"]


@dataclass(frozen=True)
class Decision:
    """The latest grant or revoke of remote assistance on a home."""

    source: Source
    #: When it was made (Unix time).
    at: float
    #: The end of the session a grant opens; None for a revoke.
    until: float | None

    def active_until(self, now: float) -> float | None:
        return self.until if self.until is not None and self.until > now else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _device_decision(session: Session, agent_id: str) -> Decision | None:
    """The device's consent file as last reported: its grant, or its revoke (agent/runner.py)."""
    sample = session.scalars(
        select(Sample)
        .where(Sample.agent_id == agent_id, Sample.probe == ProbeName.CONSENT.value)
        .order_by(Sample.id.desc())
        .limit(1)
    ).first()
    if sample is None:
        return None
    data = sample.data
    expires = _number(data.get("expires_at"))
    if expires is None:  # no consent was ever given on the device
        return None
    # A revoke sets the file's expires_at to the moment of revoking. Agents before "revoked" was
    # reported say only "not active": read that as a revoke, which is the safe side.
    if data.get("revoked", not data.get("active")):
        return Decision("device", expires, None)
    granted = _number(data.get("granted_at"))
    return Decision("device", sample.at.timestamp() if granted is None else granted, expires)


def _web_decision(session: Session, agent_id: str) -> Decision | None:
    row = session.scalars(
        select(WebConsent)
        .where(WebConsent.agent_id == agent_id)
        .order_by(WebConsent.at.desc(), WebConsent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    until = row.expires_at.timestamp() if row.expires_at is not None else None
    return Decision("web", row.at.timestamp(), until)


def latest(*decisions: Decision | None) -> Decision | None:
    """The newest of the decisions; a revoke beats a grant made at the same moment."""
    made = [d for d in decisions if d is not None]
    return max(made, key=lambda d: (d.at, d.until is None), default=None)


def current(session: Session, agent_id: str) -> Decision | None:
    """The decision that holds for the home now (None: consent was never given or withdrawn)."""
    return latest(_device_decision(session, agent_id), _web_decision(session, agent_id))


def consent_until(session: Session, agent_id: str, now: datetime) -> float | None:
    """End of the remote-assistance session the subscriber granted, if one is active."""
    decision = current(session, agent_id)
    return decision.active_until(now.timestamp()) if decision is not None else None


def grant(session: Session, actor: audit.Actor, agent_id: str, minutes: int, now: datetime) -> Decision:
    """Open a session from the portal; the caller checked that ``actor`` is the home's subscriber."""
    if not 0 < minutes <= MAX_CONSENT_MINUTES:
        raise ValueError(f"consent lasts between 1 and {MAX_CONSENT_MINUTES} minutes")
    expires = now + timedelta(minutes=minutes)
    details = {"minutes": minutes, "until": expires.isoformat()}
    return _decide(
        session,
        actor,
        agent_id,
        now=now,
        expires=expires,
        action="consent_grant",
        details=details,
        outcome="granted",
    )


def revoke(session: Session, actor: audit.Actor, agent_id: str, now: datetime) -> Decision:
    """End the running session, wherever it was granted. Recorded even when none runs, so that it
    also outranks a device grant made before it but reported later."""
    before = current(session, agent_id)
    ended = before if before is not None and before.active_until(now.timestamp()) is not None else None
    details = {
        "until": _iso(ended.until) if ended is not None else None,
        "source": ended.source if ended is not None else None,
    }
    outcome = "revoked" if ended is not None else "nothing to revoke"
    return _decide(
        session,
        actor,
        agent_id,
        now=now,
        expires=None,
        action="consent_revoke",
        details=details,
        outcome=outcome,
    )


def _decide(
    session: Session,
    actor: audit.Actor,
    agent_id: str,
    *,
    now: datetime,
    expires: datetime | None,
    action: str,
    details: dict[str, Any],
    outcome: str,
) -> Decision:
    """Store a portal decision (``expires`` None: a revoke) with its audit entry, in one transaction."""
    session.add(
        WebConsent(agent_id=agent_id, at=now, expires_at=expires, user_id=actor.user_id, username=actor.name)
    )
    audit.record(session, actor=actor, action=action, agent_id=agent_id, details=details, outcome=outcome)
    return Decision("web", now.timestamp(), expires.timestamp() if expires is not None else None)


def _iso(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment is not None else None
