"""Remote assistance: commands sent to agents, consent given in the portal, and the append-only audit
log of CSR actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class CommandRecord(Base):
    """One command a CSR sent, from issue to result. ``state``: queued (waiting for an offline agent),
    sent, running, complete, error (the agent's ``Error_...`` status is in ``status``), expired."""

    __tablename__ = "commands"
    __table_args__ = (Index("ix_commands_agent_issued", "agent_id", "issued_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    issued_by: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(64), default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    #: When the agent reported it running (its progress event).
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    """Who did what to which home, with what outcome. Rows are never updated or deleted (the
    migration adds triggers that refuse it)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_agent_at", "agent_id", "at"),
        # A tenant's recent entries: the audit page and the team figures.
        Index("ix_audit_tenant_at", "tenant_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]]
    outcome: Mapped[str] = mapped_column(String(255))
    #: The tenant whose home or account was acted on (the actor's own for platform-wide actions).
    tenant_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    #: The acting login (``users.id``); None for the platform operator token and the system.
    actor_user_id: Mapped[str | None] = mapped_column(String(32), default=None)


class WebConsent(Base):
    """A remote-assistance grant or revoke made in the self-care portal; those made on the device
    arrive as ``consent`` samples. Rows are events, never updated: the latest decision of either
    side wins (cloud/consent.py)."""

    __tablename__ = "web_consents"
    __table_args__ = (Index("ix_web_consents_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    #: When it was granted or revoked.
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The end of the session a grant opens; None for a revoke.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The deciding login (``users.id``); None for the platform operator's token.
    user_id: Mapped[str | None] = mapped_column(String(32), default=None)
    username: Mapped[str] = mapped_column(String(128))
