"""Proactive care: notifications (the outbox, keyed for idempotency), dead letters, subscriber
preferences, and the daily list with the CSRs' verdicts on it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class CarePreference(Base):
    """How a subscriber (one home, until accounts arrive) wants to hear from us, if at all."""

    __tablename__ = "care_preferences"

    agent_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    #: Notification kinds the subscriber does not want (for example ``cap_50``).
    muted_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Local hours [start, end) in which nothing is sent but the console; None: no quiet hours.
    quiet_start_hour: Mapped[int | None] = mapped_column(Integer, default=None)
    quiet_end_hour: Mapped[int | None] = mapped_column(Integer, default=None)
    #: The zone of the quiet hours; None: the plan's zone (else UTC).
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The secret in the unsubscribe link of every e-mail and webhook (no login needed to leave).
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CareNotification(Base):
    """One message to one channel. The row, with its unique ``key`` (subscriber, kind, threshold,
    cycle, channel), is committed before the first attempt: a restart finds it and cannot send a
    second one. ``status``: pending, sending (an attempt is under way), sent, dead, skipped."""

    __tablename__ = "care_notifications"
    __table_args__ = (Index("ix_care_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[str] = mapped_column(String(32))
    cycle: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048), default="")
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(1024), default="")


class CareDeadLetter(Base):
    """A notification that used up its attempts: kept for an operator to look at and replay."""

    __tablename__ = "care_dead_letters"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("care_notifications.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(1024))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CareDailyEntry(Base):
    """A home on one day's significant-change list, with its strongest finding and all the others."""

    __tablename__ = "care_daily_entries"
    __table_args__ = (UniqueConstraint("day", "home", name="uq_care_daily_entries_day_home"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    day: Mapped[date]
    home: Mapped[str] = mapped_column(String(128))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    device: Mapped[str] = mapped_column(String(64))
    device_name: Mapped[str | None] = mapped_column(String(255), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(1024))
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CareFeedback(Base):
    """A CSR's verdict on an entry; the detector down-weights a (home, device, kind) after a false alarm."""

    __tablename__ = "care_feedback"
    __table_args__ = (Index("ix_care_feedback_home_device_kind", "home", "device", "kind"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    entry_id: Mapped[int] = mapped_column(_ID, ForeignKey("care_daily_entries.id", ondelete="CASCADE"))
    day: Mapped[date]
    home: Mapped[str] = mapped_column(String(128))
    device: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1024), default="")
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
