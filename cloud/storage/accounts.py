"""Accounts: tenants (operators), their subscribers and plans, staff and subscriber logins,
refresh tokens and failed logins.

Every row that belongs to an operator carries ``tenant_id``; the API loads objects through
``cloud/api/auth.py``, which adds the principal's tenant to every query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class Tenant(Base):
    """One operator (ISP). Nothing of one tenant is visible to another's users."""

    __tablename__ = "tenants"

    #: A short slug (``acme``), typed at login.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Plan(Base):
    """A plan a tenant sells: the usage cap and cycle it sets on its subscribers' homes, and a tier."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_plans_tenant_name"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    cap_bytes: Mapped[int] = mapped_column(BigInteger)
    cycle_start_day: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    #: ``premium`` or ``standard``.
    tier: Mapped[str] = mapped_column(String(16), default="standard")


class Subscriber(Base):
    """A household that buys from a tenant; its homes are the agents with its ``subscriber_id``."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("tenant_id", "reference", name="uq_subscribers_tenant_reference"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    #: The operator's own customer number (what pairing codes name in ``subscriber``).
    reference: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    #: ``premium`` or ``standard``.
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    plan_id: Mapped[int | None] = mapped_column(
        _ID, ForeignKey("plans.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A login: staff (``csr``, ``technician``, ``supervisor``, ``admin``) or a ``subscriber``."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(128))
    #: Argon2id (PHC string); the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    #: Set for role ``subscriber``: the household this login may see.
    subscriber_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("subscribers.id", ondelete="CASCADE"), default=None, index=True
    )
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """An opaque refresh token, stored as its SHA-256 only. Each use rotates it (``used_at``); a used
    token presented again means it was stolen, and its whole ``family`` is revoked."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginFailure(Base):
    """A failed login, for lockout per account and per source (kept for the lockout window only)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_at", "account", "at"),
        Index("ix_login_failures_source_at", "source", "at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    #: ``tenant/username`` as typed (lower case), whether or not such a user exists.
    account: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
