"""Logins of a tenant: staff with their role, and subscribers' own logins. Admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from ... import audit
from ...accounts import (
    MIN_PASSWORD_LEN,
    create_user,
    generate_password,
    hash_password,
    revoke_user_tokens,
)
from ...storage import User
from ..auth import AdminDep, load_subscriber, load_user, tenant_for_new
from ..deps import Limit, ObjectId, Offset, SessionDep
from ..models import Input

router = APIRouter(prefix="/users", tags=["accounts"])
Role = Literal["csr", "technician", "supervisor", "admin", "subscriber"]


class UserCreate(Input):
    username: str = Field(min_length=1, max_length=128)
    role: Role
    #: Omit to have one generated (returned once, in this answer only).
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LEN, max_length=1024)
    #: For role ``subscriber``: the household the login belongs to.
    subscriber_id: str | None = Field(default=None, max_length=32)
    #: Only the platform operator names the tenant; admins create in their own.
    tenant: str | None = Field(default=None, max_length=64)


class UserUpdate(Input):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LEN, max_length=1024)


class UserPublic(BaseModel):
    id: str
    tenant_id: str
    username: str
    role: str
    subscriber_id: str | None
    disabled: bool
    created_at: datetime


class UserCreated(UserPublic):
    #: Set only when the cloud generated the password: hand it over, it is not shown again.
    generated_password: str | None = None


def _public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        tenant_id=user.tenant_id,
        username=user.username,
        role=user.role,
        subscriber_id=user.subscriber_id,
        disabled=user.disabled,
        created_at=user.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def add_user(body: UserCreate, session: SessionDep, principal: AdminDep) -> UserCreated:
    tenant_id = tenant_for_new(session, principal, body.tenant)
    if body.subscriber_id is not None:
        load_subscriber(session, principal, body.subscriber_id)  # 404 for another tenant's
    password = body.password or generate_password()
    # A refusal (AccountError: 422; HashingBusy: 503 with Retry-After) is answered by cloud/api/errors.py.
    user = create_user(
        session,
        tenant_id=tenant_id,
        username=body.username,
        password=password,
        role=body.role,
        subscriber_id=body.subscriber_id,
    )
    audit.record(
        session,
        actor=principal.actor,
        action="user_add",
        agent_id=None,
        details={"user_id": user.id, "username": user.username, "role": user.role},
        outcome="saved",
        tenant_id=tenant_id,
    )
    session.commit()
    return UserCreated(**_public(user).model_dump(), generated_password=None if body.password else password)


@router.get("")
def list_users(
    session: SessionDep,
    principal: AdminDep,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[UserPublic]:
    query = select(User).order_by(User.tenant_id, User.username).limit(limit).offset(offset)
    if not principal.is_platform:
        query = query.where(User.tenant_id == principal.tenant_id)
    return [_public(u) for u in session.scalars(query)]


@router.get("/{user_id}")
def get_user(user_id: ObjectId, session: SessionDep, principal: AdminDep) -> UserPublic:
    return _public(load_user(session, principal, user_id))


@router.patch("/{user_id}")
def update_user(user_id: ObjectId, body: UserUpdate, session: SessionDep, principal: AdminDep) -> UserPublic:
    """Change the role, disable, or set a password; the login's refresh tokens stop working when
    it is disabled or its password changes (its access tokens at their next use)."""
    user = load_user(session, principal, user_id)
    if body.role is not None and (body.role == "subscriber") != (user.role == "subscriber"):
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="A staff login cannot become a subscriber's login, nor the other way round;"
            " create a new login instead.",
        )
    if user.id == principal.user_id and (body.disabled or (body.role and body.role != "admin")):
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="You cannot take away your own administrator role; ask another administrator to do it.",
        )
    if body.role is not None:
        user.role = body.role
    if body.disabled is not None:
        user.disabled = body.disabled
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    if body.disabled or body.password is not None:
        revoke_user_tokens(session, user.id)
    audit.record(
        session,
        actor=principal.actor,
        action="user_update",
        agent_id=None,
        details={
            "user_id": user.id,
            "role": body.role,
            "disabled": body.disabled,
            "password_changed": body.password is not None,
        },
        outcome="saved",
        tenant_id=user.tenant_id,
    )
    session.commit()
    return _public(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: ObjectId, session: SessionDep, principal: AdminDep) -> Response:
    user = load_user(session, principal, user_id)
    if user.id == principal.user_id:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="You cannot delete your own login; ask another administrator to do it.",
        )
    session.delete(user)
    audit.record(
        session,
        actor=principal.actor,
        action="user_delete",
        agent_id=None,
        details={"user_id": user.id, "username": user.username},
        outcome="deleted",
        tenant_id=user.tenant_id,
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
