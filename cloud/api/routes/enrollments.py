"""POST /api/v1/enrollments: a device trades a pairing code and its public key for an identity."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status

import protocol

from ...enrollment import EnrollmentRequest, redeem
from ...errors import EnrollmentRefused
from ..deps import SessionDep, SettingsDep
from ..models import EnrollmentCreate, EnrollmentPublic

router = APIRouter(prefix="/enrollments", tags=["enrollment"])
_LOGGER = logging.getLogger(__name__)


@router.post("", status_code=status.HTTP_201_CREATED)
def enroll(
    body: EnrollmentCreate, session: SessionDep, settings: SettingsDep, request: Request
) -> EnrollmentPublic:
    try:
        agent = redeem(session, EnrollmentRequest(**body.model_dump()))
        session.commit()
    except EnrollmentRefused as exc:
        session.rollback()
        client = request.client.host if request.client else "?"
        _LOGGER.warning("enrollment refused for %s: %s", client, exc)
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc
    _LOGGER.info("enrolled agent %s (%s)", agent.id, agent.hostname)
    return EnrollmentPublic(
        agent_id=agent.id,
        broker_url=settings.agent_broker_url,
        cloud_public_key=protocol.public_key_text(request.app.state.cloud_key),
    )
