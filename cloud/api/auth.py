"""Who is asking, and may they touch this object?

Every request names a :class:`Principal`: the platform operator (the bootstrap bearer token of
``settings.resolved_api_token()``, which sees every tenant), a tenant's staff member, or a
subscriber. Routes check the role (``StaffDep``, ``TechnicianDep``...) and load every object
through the ``load_*`` helpers here, which add the principal's tenant (and, for subscribers, their
household) to the query. An object of another tenant is answered exactly like one that does not
exist (404), so ids cannot be probed.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, false
from sqlalchemy.orm import Session

from protocol.catalogue import CATALOGUE

from ..accounts import STAFF_ROLES, SUBSCRIBER_ROLE, decode_access_token
from ..audit import Actor
from ..errors import TokenInvalid
from ..sentences import not_found_sentence, role_sentence
from ..storage import Agent, Plan, Subscriber, Tenant, User
from ..storage.assistance import CommandRecord

PLATFORM: Final = "platform"
#: The platform operator's name in the audit log (as before accounts existed).
PLATFORM_ACTOR: Final = "operator"
_RANK: Final = {role: n for n, role in enumerate(STAFF_ROLES)}

_bearer = HTTPBearer(auto_error=False, description="an access token from /api/v1/auth/token")


@dataclass(frozen=True)
class Principal:
    #: ``platform``, a staff role, or ``subscriber``.
    role: str
    #: None for the platform operator only.
    tenant_id: str | None
    user_id: str | None
    username: str
    subscriber_id: str | None = None

    @property
    def is_platform(self) -> bool:
        return self.role == PLATFORM

    @property
    def is_subscriber(self) -> bool:
        return self.role == SUBSCRIBER_ROLE

    def at_least(self, role: str) -> bool:
        """Staff at ``role`` or above (the platform operator is above every staff role)."""
        if self.is_platform:
            return True
        return self.role in _RANK and _RANK[self.role] >= _RANK[role]

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.user_id, self.tenant_id)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise _unauthorized("No access token came with the request; log in first.")
    token = credentials.credentials
    operator: str = request.app.state.api_token
    if hmac.compare_digest(token.encode(), operator.encode()):
        return Principal(PLATFORM, None, None, PLATFORM_ACTOR)
    try:
        claims = decode_access_token(token, request.app.state.token_key)
    except TokenInvalid:
        raise _unauthorized("The access token is missing or wrong; log in again.") from None
    # The role and the login's state come from the database, not the token: disabling a login or
    # lowering its role takes effect at once, not when its token expires.
    with request.app.state.sessions() as session:
        user = session.get(User, claims["sub"])
        if user is None or user.disabled or user.tenant_id != claims["tid"]:
            raise _unauthorized("This login is no longer valid; log in again.")
        return Principal(user.role, user.tenant_id, user.id, user.username, user.subscriber_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(minimum: str) -> Callable[[Principal], Principal]:
    def check(principal: PrincipalDep) -> Principal:
        if not principal.at_least(minimum):
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=role_sentence(minimum))
        return principal

    return check


def require_platform(principal: PrincipalDep) -> Principal:
    if not principal.is_platform:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN, detail="Only the platform operator can do this."
        )
    return principal


StaffDep = Annotated[Principal, Depends(require_role("csr"))]
TechnicianDep = Annotated[Principal, Depends(require_role("technician"))]
SupervisorDep = Annotated[Principal, Depends(require_role("supervisor"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
PlatformDep = Annotated[Principal, Depends(require_platform)]


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=not_found_sentence(what))


def can_see_agent(principal: Principal, agent: Agent) -> bool:
    if principal.is_platform:
        return True
    if agent.tenant_id is None or agent.tenant_id != principal.tenant_id:
        return False
    return not principal.is_subscriber or (
        principal.subscriber_id is not None and agent.subscriber_id == principal.subscriber_id
    )


def scope_agents(query: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict a query that selects from ``agents`` to the homes the principal may see."""
    if principal.is_platform:
        return query
    if principal.tenant_id is None:
        return query.where(false())
    query = query.where(Agent.tenant_id == principal.tenant_id)
    if principal.is_subscriber:
        query = query.where(Agent.subscriber_id == principal.subscriber_id)
    return query


def load_agent(session: Session, principal: Principal, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or not can_see_agent(principal, agent):
        raise _not_found("home")
    return agent


def check_agent(session: Session, principal: Principal, agent_id: str) -> None:
    load_agent(session, principal, agent_id)


def load_command(session: Session, principal: Principal, command_id: str) -> CommandRecord:
    record = session.get(CommandRecord, command_id)
    agent = session.get(Agent, record.agent_id) if record is not None else None
    if record is None or agent is None or not can_see_agent(principal, agent):
        raise _not_found("command")
    return record


def _in_tenant(principal: Principal, tenant_id: str) -> bool:
    return principal.is_platform or principal.tenant_id == tenant_id


def load_subscriber(session: Session, principal: Principal, subscriber_id: str) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or not _in_tenant(principal, subscriber.tenant_id):
        raise _not_found("subscriber")
    if principal.is_subscriber and principal.subscriber_id != subscriber.id:
        raise _not_found("subscriber")
    return subscriber


def load_plan(session: Session, principal: Principal, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or not _in_tenant(principal, plan.tenant_id):
        raise _not_found("plan")
    return plan


def load_user(session: Session, principal: Principal, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or not _in_tenant(principal, user.tenant_id):
        raise _not_found("user")
    return user


def tenant_for_new(session: Session, principal: Principal, requested: str | None) -> str:
    """The tenant a new object goes into: the principal's own; the platform operator names one."""
    if principal.is_platform:
        if not requested or session.get(Tenant, requested) is None:
            raise HTTPException(
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail="Name an existing tenant (the tenant parameter) and try again.",
            )
        return requested
    assert principal.tenant_id is not None
    if requested and requested != principal.tenant_id:
        raise _not_found("tenant")
    return principal.tenant_id


def check_may_send(principal: Principal, name: str) -> None:
    """Routine diagnostics for every staff role; commands that need the subscriber's consent
    (setup actions such as ``add_printer``) for technicians and above."""
    if principal.is_subscriber:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="Only the provider's staff can send commands to a home.",
        )
    definition = CATALOGUE.get(name)
    if definition is not None and definition.consent and not principal.at_least("technician"):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"The {name} command needs the technician role;"
            " ask a technician or a tenant administrator.",
        )
