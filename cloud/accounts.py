"""Accounts: tenants, logins with roles, password checks with lockout, and API tokens.

Passwords are hashed with Argon2id (pwdlib). A login yields a short-lived access token (a JWT,
HS256, with a key kept in the state directory) and an opaque refresh token, stored as its SHA-256
only. Every use of a refresh token rotates it; presenting a used one again revokes its whole family
(the token was copied: OAuth 2.0 Security BCP, RFC 9700 §4.14.2). Guessing is bounded like pairing
codes: an account is locked after :data:`~cloud.const.LOGIN_FAILURES_PER_ACCOUNT` failures in the
window, a source after :data:`~cloud.const.LOGIN_FAILURES_PER_SOURCE`.

An attempt is reserved (written as a failure and committed) before Argon2 runs, under a lock (this
process's, and the database's: SQLite's write lock, a PostgreSQL advisory lock), so parallel guesses
count each other: issue 17 saw 19 of 40 simultaneous guesses checked against a limit of 5. Argon2id
takes 64 MiB a check, so at most :data:`~cloud.const.PASSWORD_HASH_CONCURRENCY` run at once in a
process (:data:`PASSWORD_HASHES`); one that waits too long for its turn is :class:`HashingBusy`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .config import make_private_dir
from .const import (
    ACCESS_TOKEN_TTL_S,
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_SOURCE,
    LOGIN_LOCKOUT_WINDOW_S,
    PASSWORD_HASH_CONCURRENCY,
    PASSWORD_HASH_WAIT_S,
    REFRESH_TOKEN_TTL_S,
    TOKEN_KEY_FILE,
)
from .errors import AccountError, HashingBusy, LoginLocked, LoginRefused, TokenInvalid
from .storage import LoginFailure, RefreshToken, Subscriber, Tenant, User, utcnow

#: Staff roles, least to most powerful; each has the rights of those before it.
STAFF_ROLES: Final = ("csr", "technician", "supervisor", "admin")
SUBSCRIBER_ROLE: Final = "subscriber"
ROLES: Final = (*STAFF_ROLES, SUBSCRIBER_ROLE)
TIERS: Final = ("standard", "premium")
TENANT_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,62}$"
TOKEN_ALGORITHM: Final = "HS256"  # noqa: S105 - an algorithm name
TOKEN_AUDIENCE: Final = "homediag-api"  # noqa: S105 - the JWT "aud" claim
MIN_PASSWORD_LEN: Final = 10

_HASHER = PasswordHash((Argon2Hasher(),))
#: One key for every login reservation (pg_advisory_xact_lock): a reservation is a few rows for a
#: millisecond, so one queue for all is cheap and cannot deadlock.
_RESERVE_LOCK_KEY: Final = 0x686F6D65  # "home"
#: Serialises reservations of this process's threads (the database lock serialises processes).
_RESERVE_LOCK = threading.Lock()


class PasswordHashes:
    """At most ``concurrency`` Argon2 computations at once in this process (64 MiB each).

    Process-wide because the cost is: memory and cores are the process's. ``configure`` sizes it
    from the settings (the API does at start); a holder releases the semaphore it took.
    """

    def __init__(self, concurrency: int, wait_s: float) -> None:
        self.configure(concurrency, wait_s)

    def configure(self, concurrency: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self.wait_s = wait_s

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        slots = self._slots
        if not slots.acquire(timeout=self.wait_s):
            raise HashingBusy("the cloud is checking many passwords at once; try again in a few seconds", 5)
        try:
            yield
        finally:
            slots.release()


PASSWORD_HASHES = PasswordHashes(PASSWORD_HASH_CONCURRENCY, PASSWORD_HASH_WAIT_S)


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user does not exist, so the answer takes as long either way."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Argon2id of a new password, in its turn (:class:`HashingBusy` if none comes)."""
    if len(password) < MIN_PASSWORD_LEN:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LEN} characters")
    with PASSWORD_HASHES.turn():
        return _HASHER.hash(password)


def _verify(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    with PASSWORD_HASHES.turn():
        return _HASHER.verify_and_update(password, password_hash or _dummy_hash())


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def token_key(state_dir: Path) -> bytes:
    """The access-token key: made once (like the cloud's signing key), shared by API processes."""
    path = state_dir / TOKEN_KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    make_private_dir(state_dir)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def create_tenant(session: Session, tenant_id: str, name: str = "") -> Tenant:
    if not re.fullmatch(TENANT_ID_PATTERN, tenant_id):
        raise AccountError("a tenant id is lower-case letters, digits and '-', at most 63")
    if session.get(Tenant, tenant_id) is not None:
        raise AccountError(f"tenant {tenant_id!r} exists")
    tenant = Tenant(id=tenant_id, name=name[:255] or tenant_id)
    session.add(tenant)
    session.flush()
    return tenant


def create_user(
    session: Session,
    *,
    tenant_id: str,
    username: str,
    password: str,
    role: str,
    subscriber_id: str | None = None,
) -> User:
    """A staff login, or a subscriber's (``role="subscriber"`` with its ``subscriber_id``)."""
    if session.get(Tenant, tenant_id) is None:
        raise AccountError(f"no tenant {tenant_id!r}")
    if role not in ROLES:
        raise AccountError(f"role is one of {', '.join(ROLES)}")
    if (role == SUBSCRIBER_ROLE) != (subscriber_id is not None):
        raise AccountError("a subscriber login needs its subscriber, and only a subscriber login has one")
    if subscriber_id is not None:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or subscriber.tenant_id != tenant_id:
            raise AccountError("no such subscriber in this tenant")
    username = username.strip().lower()
    if not 1 <= len(username) <= 128:
        raise AccountError("a username has 1 to 128 characters")
    taken = session.scalar(select(User.id).where(User.tenant_id == tenant_id, User.username == username))
    if taken is not None:
        raise AccountError(f"user {username!r} exists in {tenant_id!r}")
    user = User(
        id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        username=username,
        password_hash=hash_password(password),
        role=role,
        subscriber_id=subscriber_id,
    )
    session.add(user)
    session.flush()
    return user


def _account(tenant: str, username: str) -> str:
    return f"{tenant.strip().lower()}/{username.strip().lower()}"[:200]


def _reserve_attempt(session: Session, account: str, source: str) -> int:
    """Count the window's failures and, below both limits, add this attempt as one: committed
    before any password is checked, so a parallel guess counts it. Returns the row's id."""
    now = utcnow()
    with _RESERVE_LOCK:
        try:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(_RESERVE_LOCK_KEY)))
            # A write first: on SQLite it takes the database's write lock before the counts are read.
            session.execute(
                delete(LoginFailure).where(LoginFailure.at < now - timedelta(seconds=LOGIN_LOCKOUT_WINDOW_S))
            )
            since = now - timedelta(seconds=LOGIN_LOCKOUT_WINDOW_S)
            counts = (
                (LoginFailure.account == account, LOGIN_FAILURES_PER_ACCOUNT, "this account"),
                (LoginFailure.source == source, LOGIN_FAILURES_PER_SOURCE, "this address"),
            )
            for condition, limit, what in counts:
                failures = session.scalar(
                    select(func.count()).select_from(LoginFailure).where(condition, LoginFailure.at > since)
                )
                if (failures or 0) >= limit:
                    raise LoginLocked(
                        f"too many login attempts for {what}, failed or at the same moment; try again"
                        f" in {LOGIN_LOCKOUT_WINDOW_S // 60} minutes",
                        LOGIN_LOCKOUT_WINDOW_S,
                    )
            attempt = LoginFailure(account=account, source=source, at=now)
            session.add(attempt)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return attempt.id


def authenticate(session: Session, tenant: str, username: str, password: str, source: str) -> User:
    """The user, or :class:`LoginRefused` (one message for every failure: no oracle for which
    tenants or users exist), :class:`LoginLocked` or :class:`HashingBusy`.

    Commits the attempt's reservation itself (a failure unless the password is right); on success
    the account's failures are deleted in the session, which the caller commits."""
    account = _account(tenant, username)
    attempt = _reserve_attempt(session, account, source[:64])
    user = session.scalar(
        select(User).where(
            User.tenant_id == tenant.strip().lower(), User.username == username.strip().lower()
        )
    )
    try:
        ok, new_hash = _verify(password, user.password_hash if user else None)
    except HashingBusy:  # no password was checked: the attempt does not count
        session.execute(delete(LoginFailure).where(LoginFailure.id == attempt))
        session.commit()
        raise
    if user is None or not ok or user.disabled:
        raise LoginRefused("wrong tenant, username or password")
    if new_hash is not None:  # the hasher's parameters were raised since this password was set
        user.password_hash = new_hash
    session.execute(delete(LoginFailure).where(LoginFailure.account == account))
    return user


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_token(user: User, key: bytes, now: datetime | None = None) -> str:
    moment = now or utcnow()
    claims: dict[str, Any] = {
        "sub": user.id,
        "tid": user.tenant_id,
        "role": user.role,
        "name": user.username,
        "aud": TOKEN_AUDIENCE,
        "iat": int(moment.timestamp()),
        "exp": int(moment.timestamp()) + ACCESS_TOKEN_TTL_S,
    }
    if user.subscriber_id is not None:
        claims["sid"] = user.subscriber_id
    return jwt.encode(claims, key, algorithm=TOKEN_ALGORITHM)


def decode_access_token(token: str, key: bytes) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[TOKEN_ALGORITHM],
            audience=TOKEN_AUDIENCE,
            options={"require": ["exp", "iat", "sub", "tid", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(f"invalid access token: {exc}") from exc
    return claims


def issue_tokens(session: Session, user: User, key: bytes, family: str | None = None) -> TokenPair:
    refresh = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            token_hash=_digest(refresh),
            user_id=user.id,
            family=family or uuid.uuid4().hex,
            issued_at=now,
            expires_at=now + timedelta(seconds=REFRESH_TOKEN_TTL_S),
        )
    )
    return TokenPair(access_token(user, key, now), refresh, ACCESS_TOKEN_TTL_S)


def refresh_tokens(session: Session, refresh: str, key: bytes) -> TokenPair:
    """Rotate: the presented token is spent, a new pair is issued in the same family."""
    row = session.get(RefreshToken, _digest(refresh), with_for_update=True)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise TokenInvalid("invalid refresh token")
    if row.used_at is not None:
        _revoke_family(session, row.family, now)
        raise TokenInvalid("refresh token reused; every token of this login is revoked")
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise TokenInvalid("invalid refresh token")
    row.used_at = now
    return issue_tokens(session, user, key, family=row.family)


def revoke_refresh_token(session: Session, refresh: str) -> None:
    """Log out: the token and every token rotated from the same login stop working."""
    row = session.get(RefreshToken, _digest(refresh))
    if row is not None:
        _revoke_family(session, row.family, utcnow())


def revoke_user_tokens(session: Session, user_id: str) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _revoke_family(session: Session, family: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
