"""Agents: online state, last seen, latest telemetry."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import func, select

import protocol
from protocol.const import RENEWAL_CONTEXT

from ... import audit
from ...enrollment import issue_certificate, revoke, write_crl
from ...errors import EnrollmentRefused, NotFound
from ...sentences import NO_SUCH_AGENT
from ...storage import Agent, Sample
from ..auth import PrincipalDep, StaffDep, TechnicianDep, load_agent, scope_agents
from ..deps import Limit, Moment, NameFilter, ObjectId, Offset, PublisherDep, SessionDep, SettingsDep
from ..models import (
    AgentPublic,
    CertificatePublic,
    CertificateRenewal,
    LatestTelemetry,
    SamplePublic,
    SamplesPage,
)

router = APIRouter(prefix="/agents", tags=["agents"])
_LOGGER = logging.getLogger(__name__)


def _public(agent: Agent) -> AgentPublic:
    return AgentPublic(
        agent_id=agent.id,
        hostname=agent.hostname,
        platform=agent.platform,
        agent_version=agent.agent_version,
        enrolled_at=agent.enrolled_at,
        last_seen_at=agent.last_seen_at,
        online=agent.online,
        status_changed_at=agent.status_changed_at,
        revoked=agent.revoked,
        tenant_id=agent.tenant_id,
        subscriber_id=agent.subscriber_id,
    )


def _get(session: SessionDep, agent_id: str) -> Agent:
    """Unscoped: only for the agent's own (signed) requests; people go through ``load_agent``."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NO_SUCH_AGENT)
    return agent


def _sample(row: Sample) -> SamplePublic:
    return SamplePublic(probe=row.probe, at=row.at, status=row.status, data=row.data)


@router.get("")
def list_agents(
    session: SessionDep,
    principal: PrincipalDep,
    *,
    online: bool | None = None,
    revoked: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AgentPublic]:
    query = scope_agents(select(Agent), principal).order_by(Agent.enrolled_at, Agent.id)
    query = query.limit(limit).offset(offset)
    if online is not None:
        query = query.where(Agent.online == online)
    if revoked is not None:
        query = query.where(Agent.revoked == revoked)
    return [_public(a) for a in session.scalars(query)]


@router.get("/{agent_id}")
def get_agent(agent_id: ObjectId, session: SessionDep, principal: PrincipalDep) -> AgentPublic:
    return _public(load_agent(session, principal, agent_id))


@router.post("/{agent_id}/revoke")
def revoke_agent(
    agent_id: ObjectId,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    principal: TechnicianDep,
    *,
    ingest: PublisherDep,
) -> AgentPublic:
    """Revoke the agent's certificates and key: the broker refuses it after the CRL reload, the
    ingestion at once. It can come back only by enrolling again with a new pairing code."""
    load_agent(session, principal, agent_id)
    try:
        revoke(session, agent_id)
    except NotFound:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NO_SUCH_AGENT) from None
    audit.record(
        session,
        actor=principal.actor,
        action="revoke_agent",
        agent_id=agent_id,
        details={},
        outcome="revoked",
    )
    session.commit()
    write_crl(session, request.app.state.ca, settings.crl_path)
    if ingest is not None:
        ingest.forget_agent(agent_id)
    _LOGGER.warning("agent %s revoked", agent_id)
    return _public(_get(session, agent_id))


@router.post("/{agent_id}/certificate")
def renew_certificate(
    agent_id: ObjectId, body: CertificateRenewal, session: SessionDep, settings: SettingsDep, request: Request
) -> CertificatePublic:
    """Renewal without an operator: the request is signed with the agent's enrolled message key."""
    agent = _get(session, agent_id)
    try:
        if agent.revoked:
            raise EnrollmentRefused("this agent is revoked")
        protocol.signing.verify(
            protocol.load_public_key(agent.public_key),
            protocol.signing.b64decode(body.signature),
            RENEWAL_CONTEXT + body.csr.encode(),
        )
        certificate = issue_certificate(
            session, request.app.state.ca, agent_id, body.csr, settings.cert_validity_days
        )
    except (EnrollmentRefused, protocol.ProtocolError) as exc:
        session.rollback()
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc
    session.commit()
    _LOGGER.info("renewed the certificate of agent %s", agent_id)
    return CertificatePublic(
        certificate=certificate.decode(), ca_certificate=request.app.state.ca.pem.decode()
    )


@router.get("/{agent_id}/telemetry/latest")
def latest_telemetry(agent_id: ObjectId, session: SessionDep, principal: StaffDep) -> LatestTelemetry:
    load_agent(session, principal, agent_id)
    newest = (
        select(Sample.probe, func.max(Sample.id).label("id"))
        .where(Sample.agent_id == agent_id)
        .group_by(Sample.probe)
        .subquery()
    )
    rows = session.scalars(select(Sample).join(newest, Sample.id == newest.c.id))
    return LatestTelemetry(agent_id=agent_id, probes={r.probe: _sample(r) for r in rows})


@router.get("/{agent_id}/telemetry")
def telemetry(
    agent_id: ObjectId,
    session: SessionDep,
    principal: StaffDep,
    *,
    probe: NameFilter = None,
    since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> SamplesPage:
    load_agent(session, principal, agent_id)
    query = select(Sample).where(Sample.agent_id == agent_id).order_by(Sample.at.desc(), Sample.id.desc())
    if probe:
        query = query.where(Sample.probe == probe)
    if since:
        query = query.where(Sample.at >= since)
    return SamplesPage(agent_id=agent_id, samples=[_sample(r) for r in session.scalars(query.limit(limit))])
