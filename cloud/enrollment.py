"""One-time pairing codes, the enrollment they allow, and revocation.

Codes are short and typable (``7KQ2-M9XD``: 8 characters of Crockford base32,
40 bits), expire, work once, and are stored only as a SHA-256 hash. Guessing is
bounded twice: a source that fails :data:`LOCKOUT_FAILURES` times within
:data:`LOCKOUT_WINDOW` is locked out for the rest of the window, and a subscriber
can be issued at most :data:`CODES_PER_SUBSCRIBER_PER_HOUR` codes, so at most a
handful of valid codes exist per subscriber against 2^40 possibilities.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

import protocol

from .const import PAIRING_ALPHABET, PAIRING_CODE_GROUP_LEN, PAIRING_CODE_GROUPS
from .errors import EnrollmentRefused, NotFound, RateLimited
from .pki import CertificateAuthority
from .storage import Agent, Certificate, EnrollmentFailure, PairingCode, Plan, Subscriber, utcnow
from .usage import set_plan


def normalise_code(code: str) -> str:
    """Accept what people type: lower case, spaces, and the letters Crockford maps (O->0, I/L->1)."""
    text = code.upper().replace("-", "").replace(" ", "")
    return text.translate(str.maketrans("OIL", "011"))


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


LOCKOUT_FAILURES = 10
LOCKOUT_WINDOW = timedelta(minutes=15)
CODES_PER_SUBSCRIBER_PER_HOUR = 5


def issue_pairing_code(
    session: Session,
    ttl_s: int,
    note: str = "",
    subscriber: str = "",
    *,
    tenant_id: str | None = None,
    subscriber_id: str | None = None,
) -> str:
    """A code; the agent enrolled with it joins ``tenant_id`` and ``subscriber_id`` when given."""
    if subscriber:
        recent = session.scalar(
            select(func.count())
            .select_from(PairingCode)
            .where(
                PairingCode.subscriber == subscriber, PairingCode.created_at > utcnow() - timedelta(hours=1)
            )
        )
        if (recent or 0) >= CODES_PER_SUBSCRIBER_PER_HOUR:
            raise RateLimited(f"at most {CODES_PER_SUBSCRIBER_PER_HOUR} codes per subscriber per hour", 3600)
    groups = [
        "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_GROUP_LEN))
        for _ in range(PAIRING_CODE_GROUPS)
    ]
    code = "-".join(groups)
    session.add(
        PairingCode(
            code_hash=_hash(code),
            expires_at=utcnow() + timedelta(seconds=ttl_s),
            note=note[:255],
            subscriber=subscriber[:128],
            tenant_id=tenant_id,
            subscriber_id=subscriber_id,
        )
    )
    return code


def check_lockout(session: Session, source: str) -> None:
    since = utcnow() - LOCKOUT_WINDOW
    failures = session.scalar(
        select(func.count())
        .select_from(EnrollmentFailure)
        .where(EnrollmentFailure.source == source, EnrollmentFailure.at > since)
    )
    if (failures or 0) >= LOCKOUT_FAILURES:
        raise RateLimited(
            "too many failed pairing attempts; try again later", int(LOCKOUT_WINDOW.total_seconds())
        )


def record_failure(session: Session, source: str) -> None:
    """Count a failed attempt; the caller commits it on its own."""
    session.execute(delete(EnrollmentFailure).where(EnrollmentFailure.at < utcnow() - LOCKOUT_WINDOW))
    session.add(EnrollmentFailure(source=source[:64]))


@dataclass(frozen=True)
class EnrollmentRequest:
    code: str
    public_key: str
    hostname: str = ""
    platform: str = ""
    agent_version: str = ""
    csr: str = ""


def redeem(session: Session, request: EnrollmentRequest) -> Agent:
    """Consume the code and register the agent's public key; the caller commits."""
    try:
        protocol.load_public_key(request.public_key)
    except protocol.ProtocolError as exc:
        raise EnrollmentRefused(f"invalid public key: {exc}") from exc
    pairing = session.execute(
        select(PairingCode).where(PairingCode.code_hash == _hash(request.code)).with_for_update()
    ).scalar_one_or_none()
    now = utcnow()
    # One message for every failure, so the endpoint is no oracle for which codes exist.
    if pairing is None or pairing.used_at is not None or pairing.expires_at <= now:
        raise EnrollmentRefused("invalid, used or expired pairing code")
    agent = Agent(
        id=uuid.uuid4().hex,
        public_key=request.public_key,
        hostname=request.hostname[:255],
        platform=request.platform[:128],
        agent_version=request.agent_version[:128],
        enrolled_at=now,
        tenant_id=pairing.tenant_id,
        subscriber_id=pairing.subscriber_id,
    )
    pairing.used_at = now
    pairing.agent_id = agent.id
    session.add(agent)
    session.flush()
    household = session.get(Subscriber, pairing.subscriber_id) if pairing.subscriber_id else None
    plan = session.get(Plan, household.plan_id) if household and household.plan_id else None
    if plan is not None:  # the new home starts on its household's plan (sent at its first hello)
        set_plan(session, agent.id, plan.cap_bytes, plan.cycle_start_day, plan.timezone)
    return agent


def issue_certificate(
    session: Session, ca: CertificateAuthority, agent_id: str, csr: str, days: float
) -> bytes:
    issued = ca.sign_agent_csr(csr.encode(), agent_id, days)
    session.add(Certificate(serial=f"{issued.serial:x}", agent_id=agent_id, not_after=issued.not_after))
    return issued.pem


def revoke(session: Session, agent_id: str) -> None:
    """Revoke an agent and every certificate it holds; it must enroll again with a new code."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(agent_id)
    now = utcnow()
    agent.revoked, agent.revoked_at, agent.online = True, now, False
    session.execute(
        update(Certificate)
        .where(Certificate.agent_id == agent_id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def crl_pem(session: Session, ca: CertificateAuthority) -> bytes:
    rows = session.execute(
        select(Certificate.serial, Certificate.revoked_at).where(Certificate.revoked_at.is_not(None))
    )
    return ca.crl([(int(serial, 16), when) for serial, when in rows if when is not None])


def write_crl(session: Session, ca: CertificateAuthority, path: Path) -> bytes:
    """Write the CRL where the broker reads it (atomically: a broker never reads half a file)."""
    pem = crl_pem(session, ca)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(pem)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return pem
