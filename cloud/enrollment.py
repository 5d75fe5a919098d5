"""One-time pairing codes and the enrollment they allow.

Codes are short and typable (``7KQ2-M9XD``: 8 characters of Crockford base32,
40 bits), expire, work once, and are stored only as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import protocol

from .const import PAIRING_ALPHABET, PAIRING_CODE_GROUP_LEN, PAIRING_CODE_GROUPS
from .errors import EnrollmentRefused
from .storage import Agent, PairingCode, utcnow


def normalise_code(code: str) -> str:
    """Accept what people type: lower case, spaces, and the letters Crockford maps (O->0, I/L->1)."""
    text = code.upper().replace("-", "").replace(" ", "")
    return text.translate(str.maketrans("OIL", "011"))


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def issue_pairing_code(session: Session, ttl_s: int, note: str = "") -> str:
    groups = [
        "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_GROUP_LEN))
        for _ in range(PAIRING_CODE_GROUPS)
    ]
    code = "-".join(groups)
    session.add(PairingCode(code_hash=_hash(code), expires_at=utcnow() + timedelta(seconds=ttl_s), note=note))
    return code


@dataclass(frozen=True)
class EnrollmentRequest:
    code: str
    public_key: str
    hostname: str = ""
    platform: str = ""
    agent_version: str = ""


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
    )
    pairing.used_at = now
    pairing.agent_id = agent.id
    session.add(agent)
    return agent
