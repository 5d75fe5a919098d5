"""Enrollment: pairing codes (operators) and their redemption (devices)."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from ...enrollment import (
    EnrollmentRequest,
    check_lockout,
    issue_certificate,
    issue_pairing_code,
    record_failure,
    redeem,
)
from ...errors import EnrollmentRefused, RateLimited
from ...storage import Subscriber, utcnow
from ..auth import PrincipalDep, load_subscriber
from ..deps import SessionDep, SettingsDep
from ..models import EnrollmentCreate, EnrollmentPublic, PairingCodeCreate, PairingCodePublic

router = APIRouter(tags=["enrollment"])
_LOGGER = logging.getLogger(__name__)


@router.post("/pairing-codes", status_code=status.HTTP_201_CREATED)
def create_pairing_code(
    body: PairingCodeCreate, session: SessionDep, principal: PrincipalDep
) -> PairingCodePublic:
    """Staff issue codes for a household of their tenant (``subscriber_id``, or the operator's
    ``subscriber`` reference); a subscriber's login for its own household."""
    wanted = principal.subscriber_id if principal.is_subscriber else body.subscriber_id
    household = load_subscriber(session, principal, wanted) if wanted else None
    if household is None and body.subscriber and not principal.is_platform:
        household = session.scalar(
            select(Subscriber).where(
                Subscriber.tenant_id == principal.tenant_id, Subscriber.reference == body.subscriber
            )
        )
    # The per-subscriber rate limit counts the household's own reference, whatever the body says.
    reference = household.reference if household else body.subscriber
    tenant_id = household.tenant_id if household else principal.tenant_id
    # RateLimited: a 429 with Retry-After (cloud/api/errors.py).
    code = issue_pairing_code(
        session,
        body.ttl_s,
        body.note,
        reference,
        tenant_id=tenant_id,
        subscriber_id=household.id if household else None,
    )
    session.commit()
    return PairingCodePublic(code=code, expires_at=utcnow() + timedelta(seconds=body.ttl_s))


@router.post("/enrollments", status_code=status.HTTP_201_CREATED)
def enroll(
    body: EnrollmentCreate, session: SessionDep, settings: SettingsDep, request: Request
) -> EnrollmentPublic:
    source = request.client.host if request.client else "unknown"
    try:
        check_lockout(session, source)
    except RateLimited:
        _LOGGER.warning("enrollment from %s refused: locked out", source)
        raise  # a 429 with Retry-After (cloud/api/errors.py)
    ca = request.app.state.ca
    try:
        agent = redeem(session, EnrollmentRequest(**body.model_dump()))
        certificate = issue_certificate(session, ca, agent.id, body.csr, settings.cert_validity_days)
        session.commit()
    except EnrollmentRefused as exc:
        session.rollback()
        record_failure(session, source)
        session.commit()
        _LOGGER.warning("enrollment refused for %s: %s", source, exc)
        raise  # a 403 in words (cloud/api/errors.py)
    _LOGGER.info("enrolled agent %s (%s)", agent.id, agent.hostname)
    return EnrollmentPublic(
        agent_id=agent.id,
        broker_url=settings.agent_broker_url,
        cloud_public_keys=request.app.state.keys.get().pinned_at_enrollment(),
        certificate=certificate.decode(),
        ca_certificate=ca.pem.decode(),
    )
