"""The schema. Migrations in ``cloud/migrations`` create exactly this (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime}


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    platform: Mapped[str] = mapped_column(String(128), default="")
    agent_version: Mapped[str] = mapped_column(String(128), default="")
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Start of the MQTT session the current status belongs to (orders statuses across reconnects).
    status_session: Mapped[float] = mapped_column(Float, default=0.0)
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The operator and household the home belongs to (``storage/accounts.py``); None for agents
    #: enrolled before accounts, which only the platform operator sees. Plain columns, not foreign
    #: keys: SQLite adds a foreign key only by rebuilding the table, and dropping ``agents`` during
    #: the rebuild would cascade into every table that references it.
    tenant_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    subscriber_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)


class PairingCode(Base):
    __tablename__ = "pairing_codes"

    #: SHA-256 of the normalised code: a database leak does not leak usable codes.
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    agent_id: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str] = mapped_column(String(255), default="")
    #: Who the code was issued for (a subscriber reference); codes are rate-limited per subscriber.
    subscriber: Mapped[str] = mapped_column(String(128), default="", server_default="", index=True)
    #: The agent enrolled with this code joins this tenant and subscriber (``storage/accounts.py``).
    tenant_id: Mapped[str | None] = mapped_column(String(64), default=None)
    subscriber_id: Mapped[str | None] = mapped_column(String(32), default=None)


class Report(Base):
    """One uplink message as the agent signed it; ``(agent_id, epoch, seq)`` makes storage exactly-once."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("agent_id", "epoch", "seq", name="uq_reports_agent_epoch_seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[dict[str, Any]]


class ReportWatermark(Base):
    """The highest ``seq`` of an ``(agent, epoch)`` that retention deleted: at or below it, a report
    arriving again is a replay of one already stored (and since deleted), never a new one."""

    __tablename__ = "report_watermarks"

    agent_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class Sample(Base):
    """One probe result, unpacked from a telemetry report for querying."""

    __tablename__ = "samples"
    __table_args__ = (Index("ix_samples_agent_probe_at", "agent_id", "probe", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    probe: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]]


class Certificate(Base):
    """Client certificates the CA issued; revoked ones go into the CRL."""

    __tablename__ = "certificates"

    #: Hex, because X.509 serials are up to 20 bytes, more than a BIGINT holds.
    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_after: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class EnrollmentFailure(Base):
    """Failed pairing attempts, for per-source lockout (kept for the lockout window only)."""

    __tablename__ = "enrollment_failures"
    __table_args__ = (Index("ix_enrollment_failures_source_at", "source", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
