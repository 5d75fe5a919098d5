"""Getting a notification to a subscriber exactly once, or into a dead letter.

Guarantees (docs/care.md):

- **No duplicates after a restart.** Every notification has a unique key (subscriber, kind,
  threshold, cycle, channel) and its row is committed before the first attempt (``enqueue``); a
  second enqueue of the same key is a no-op on SQLite and PostgreSQL alike. An attempt is claimed
  with a conditional UPDATE, so two cloud processes never send the same row at once.
- **Bounded retries.** A failed attempt waits base * 2**(attempt-1) seconds (at most max); after
  the last attempt the row is ``dead`` and a dead-letter row says why.
- **The crash window is at-least-once, and labelled.** If the process dies after the receiver got
  a message but before ``sent`` is committed, the row is retried after its back-off. The retry
  carries the same key (``X-Homediag-Key`` header, e-mail ``Message-ID``), so receivers can drop it.
- **Webhooks are signed**: ``X-Homediag-Signature: sha256=HMAC(secret, timestamp + "." + body)``
  with ``X-Homediag-Timestamp``; redirects are not followed (a redirect is a failed attempt), since
  following one would send a signed body to a host nobody configured.
- **Webhooks go where the egress policy allows** (``egress.py``): public addresses, plus what the
  operator allowlists, checked on the address the socket connects to. A refusal is a failed
  attempt whose ``last_error`` names the reason (shown to administrators only, by the API).
- **Preferences are read at send time too**: unsubscribing or muting stops pending messages.
  Quiet hours postpone e-mail and webhooks (never the console) to the end of the quiet period.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DeliveryFailed
from ..storage.care import CareDeadLetter, CareNotification, CarePreference
from ..storage.models import utcnow
from ..storage.usage import UsagePlan
from .egress import EgressPolicy, checked_opener, url_endpoint

_LOGGER = logging.getLogger(__name__)

CHANNELS = ("console", "email", "webhook")
SIGNATURE_HEADER = "X-Homediag-Signature"
TIMESTAMP_HEADER = "X-Homediag-Timestamp"
KEY_HEADER = "X-Homediag-Key"


def notification_key(agent_id: str, kind: str, threshold: str, cycle: str, channel: str) -> str:
    return f"{agent_id}|{kind}|{threshold}|{cycle}|{channel}"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, *, max_age_s: float = 300) -> bool:
    """What a receiver checks: the signature, and that the timestamp is recent (no replays)."""
    try:
        fresh = abs(time.time() - float(timestamp)) <= max_age_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class Sender(Protocol):
    def send(self, notification: CareNotification, unsubscribe_url: str) -> None:
        """Deliver once or raise DeliveryFailed."""


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    timeout_s: float = 10.0
    starttls: bool = False
    user: str = ""
    password: str = ""

    def send(self, notification: CareNotification, unsubscribe_url: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notification.target
        message["Subject"] = notification.subject
        # The idempotency key as Message-ID: a resend after a crash is recognisably the same mail.
        digest = hashlib.sha256(notification.key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@homediag>"
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: clients POST
        message.set_content(f"{notification.body}\n\nTo stop these messages: {unsubscribe_url}\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {exc}") from exc


@dataclass(frozen=True)
class WebhookSender:
    """POSTs through the egress policy (``egress.py``): only to addresses it allows, checked
    when the socket is opened; no proxy, no redirects."""

    secret: bytes
    timeout_s: float = 10.0
    #: What the operator allows beyond public addresses (``HOMEDIAG_CARE_WEBHOOK_ALLOW``).
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    #: TLS trust for https receivers; None: the system's trust store, with host name checks.
    tls: ssl.SSLContext | None = None
    _opener: urllib.request.OpenerDirector = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_opener", checked_opener(self.egress, self.tls))

    def send(self, notification: CareNotification, unsubscribe_url: str) -> None:
        url = notification.target
        url_endpoint(url)  # the form; where it points is checked when the socket is opened
        body = json.dumps(
            {**notification.payload, "key": notification.key, "unsubscribe_url": unsubscribe_url},
            sort_keys=True,
        ).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the opener speaks http(s) only
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "homediag-care/1",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self.secret, timestamp, body),
                KEY_HEADER: notification.key,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryFailed(f"the webhook answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            raise DeliveryFailed(f"could not reach the webhook: {exc.reason}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryFailed(f"could not reach the webhook: {exc}") from exc
        if not 200 <= status < 300:
            raise DeliveryFailed(f"the webhook answered HTTP {status}")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_s: float = 30.0
    max_s: float = 3600.0

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.base_s * 2 ** (attempt - 1), self.max_s))


@dataclass
class Message:
    """What to say, before it is split into one notification per channel."""

    agent_id: str
    kind: str
    threshold: str
    cycle: str
    subject: str
    body: str
    payload: dict[str, Any]


def enqueue(
    session: Session,
    message: Message,
    preference: CarePreference | None,
    *,
    email_enabled: bool,
    now: datetime,
    status: str = "pending",
) -> int:
    """Store the message once per channel (console always); returns how many rows were new."""
    targets: list[tuple[str, str]] = [("console", "")]
    wanted = preference is not None and preference.unsubscribed_at is None
    if wanted and preference is not None and message.kind not in (preference.muted_kinds or []):
        if preference.email and email_enabled:
            targets.append(("email", preference.email))
        if preference.webhook_url:
            targets.append(("webhook", preference.webhook_url))
    rows = [
        {
            "key": notification_key(message.agent_id, message.kind, message.threshold, message.cycle, ch),
            "agent_id": message.agent_id,
            "kind": message.kind,
            "threshold": message.threshold,
            "cycle": message.cycle,
            "channel": ch,
            "target": target,
            "subject": message.subject[:255],
            "body": message.body,
            "payload": {**message.payload, "subject": message.subject, "body": message.body},
            # The console is the database itself: stored is shown.
            "status": "sent" if ch == "console" and status == "pending" else status,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "sent_at": now if ch == "console" and status == "pending" else None,
            "last_error": "",
        }
        for ch, target in targets
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert(CareNotification)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(CareNotification.id),
        rows,
    )
    return len(result.all())


def _quiet_until(preference: CarePreference | None, plan_tz: str | None, now: datetime) -> datetime | None:
    """End of the quiet period ``now`` falls in, if any (hours in the subscriber's zone)."""
    if preference is None or preference.quiet_start_hour is None or preference.quiet_end_hour is None:
        return None
    start, end = preference.quiet_start_hour, preference.quiet_end_hour
    if start == end:
        return None
    zinfo = ZoneInfo(preference.timezone or plan_tz or "UTC")
    local = now.astimezone(zinfo)
    inside = start <= local.hour < end if start < end else local.hour >= start or local.hour < end
    if not inside:
        return None
    end_local = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local.astimezone(now.tzinfo)


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    postponed: int = 0
    skipped: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def deliver_due(
    sessions: sessionmaker[Session],
    senders: Mapping[str, Sender],
    policy: RetryPolicy,
    unsubscribe_url: Callable[[str], str],
    *,
    now: datetime | None = None,
    batch: int = 200,
) -> DeliveryStats:
    """One pass over the due notifications; blocking (run it in an executor)."""
    now = now or utcnow()
    stats = DeliveryStats()
    with sessions() as session:
        due = session.execute(
            select(
                CareNotification.id,
                CareNotification.agent_id,
                CareNotification.channel,
                CareNotification.kind,
            )
            .where(
                CareNotification.status.in_(("pending", "sending")),
                CareNotification.next_attempt_at <= now,
            )
            .order_by(CareNotification.next_attempt_at, CareNotification.id)
            .limit(batch)
        ).all()
    for notification_id, agent_id, channel, kind in due:
        with sessions.begin() as session:
            preference = session.get(CarePreference, agent_id)
            plan = session.get(UsagePlan, agent_id)
            if preference is None or preference.unsubscribed_at is not None or kind in preference.muted_kinds:
                session.execute(
                    update(CareNotification)
                    .where(CareNotification.id == notification_id)
                    .values(status="skipped", last_error="unsubscribed or muted")
                )
                stats.skipped += 1
                continue
            quiet = _quiet_until(preference, plan.timezone if plan else None, now)
            if quiet is not None:
                session.execute(
                    update(CareNotification)
                    .where(CareNotification.id == notification_id)
                    .values(next_attempt_at=quiet)
                )
                stats.postponed += 1
                continue
            token = preference.unsubscribe_token
            claimed = session.execute(
                update(CareNotification)
                .where(
                    CareNotification.id == notification_id,
                    CareNotification.status.in_(("pending", "sending")),
                    CareNotification.next_attempt_at <= now,
                )
                .values(status="sending", attempts=CareNotification.attempts + 1)
                .returning(CareNotification.attempts)
            ).scalar_one_or_none()
            if claimed is None:
                continue  # another process took it
            # If we die during the attempt, the row comes back after its back-off.
            session.execute(
                update(CareNotification)
                .where(CareNotification.id == notification_id)
                .values(next_attempt_at=now + policy.delay(claimed))
            )
        with sessions() as session:
            notification = session.get(CareNotification, notification_id)
            assert notification is not None
            session.expunge(notification)
        sender = senders.get(channel)
        error = ""
        try:
            if sender is None:
                raise DeliveryFailed(f"no {channel} sender is configured")
            sender.send(notification, unsubscribe_url(token))
        except DeliveryFailed as exc:
            error = str(exc)[:1024]
        with sessions.begin() as session:
            if not error:
                session.execute(
                    update(CareNotification)
                    .where(CareNotification.id == notification_id)
                    .values(status="sent", sent_at=utcnow(), last_error="")
                )
                stats.sent += 1
                continue
            stats.failed += 1
            if claimed >= policy.attempts:
                session.execute(
                    update(CareNotification)
                    .where(CareNotification.id == notification_id)
                    .values(status="dead", last_error=error)
                )
                session.add(
                    CareDeadLetter(
                        notification_id=notification_id,
                        key=notification.key,
                        channel=channel,
                        target=notification.target,
                        attempts=claimed,
                        last_error=error,
                        failed_at=utcnow(),
                    )
                )
                stats.dead += 1
                _LOGGER.warning(
                    "notification %s is dead after %d attempts: %s", notification.key, claimed, error
                )
            else:
                session.execute(
                    update(CareNotification)
                    .where(CareNotification.id == notification_id)
                    .values(status="pending", last_error=error)
                )
                _LOGGER.info("notification %s attempt %d failed: %s", notification.key, claimed, error)
    return stats
