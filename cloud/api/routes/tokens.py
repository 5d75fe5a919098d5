"""Login: the OAuth 2.0 token endpoint (password and refresh-token grants, RFC 6749 §4.3 and §6)
and revocation (RFC 7009)."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request, status
from pydantic import BaseModel

from ...accounts import TokenPair, authenticate, issue_tokens, refresh_tokens, revoke_refresh_token
from ...errors import LoginLocked, LoginRefused, TokenInvalid
from ..deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])
_LOGGER = logging.getLogger(__name__)


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - RFC 6750's token type
    #: Seconds the access token is valid; renew with the refresh token before then.
    expires_in: int
    refresh_token: str


def _public(pair: TokenPair) -> TokenPublic:
    return TokenPublic(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


def _invalid_grant(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=f"invalid_grant: {detail}")


@router.post(
    "/token",
    responses={
        400: {"description": "wrong tenant, username or password; or a bad refresh token"},
        429: {"description": "locked out after too many failures (see Retry-After)"},
    },
)
def token(
    request: Request,
    session: SessionDep,
    *,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()] = "password",
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    tenant: Annotated[str, Form(max_length=64, description="the operator's id, e.g. acme")] = "",
    refresh_token: Annotated[str, Form(max_length=256)] = "",
) -> TokenPublic:
    """Password grant (``username``, ``password`` and ``tenant``) or refresh-token grant
    (``refresh_token``, which is spent: use the new one returned)."""
    key: bytes = request.app.state.token_key
    if grant_type == "refresh_token":
        try:
            pair = refresh_tokens(session, refresh_token, key)
        except TokenInvalid as exc:
            session.commit()  # a reused token revokes its family: keep that
            raise _invalid_grant(str(exc)) from exc
        session.commit()
        return TokenPublic(
            access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
        )
    source = request.client.host if request.client else "unknown"
    try:
        user = authenticate(session, tenant, username, password, source)
    except LoginLocked as exc:
        session.rollback()
        _LOGGER.warning("login to %s/%s from %s refused: locked out", tenant, username, source)
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=str(exc),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    except LoginRefused as exc:
        session.commit()  # the failure counts towards the lockout
        _LOGGER.info("login to %s/%s from %s refused", tenant, username, source)
        raise _invalid_grant(str(exc)) from exc
    pair = issue_tokens(session, user, key)
    session.commit()
    return TokenPublic(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


@router.post("/revoke")
def revoke(session: SessionDep, token: Annotated[str, Form(max_length=256)]) -> dict[str, str]:
    """Log out: the refresh token and every one rotated from the same login stop working. The
    answer is the same for unknown tokens (RFC 7009 §2.2)."""
    revoke_refresh_token(session, token)
    session.commit()
    return {"status": "revoked"}
