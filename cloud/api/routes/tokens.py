"""Login: the OAuth 2.0 token endpoint (password and refresh-token grants, RFC 6749 §4.3 and §6)
and revocation (RFC 7009).

A browser asks for ``session_cookie``: the refresh token then travels only in an HttpOnly,
SameSite=Strict cookie scoped to ``/api/v1/auth``, out of reach of the page's scripts, and shared by
the browser's tabs, so a duplicated tab rotates the same token instead of spending a copy (which
reuse detection would punish by ending the login). API clients keep the token in the body.

Every request that sets, spends or clears the cookie must carry ``X-Homediag-Client``: a page of
another site can post a form here (and SameSite does not stop the answer from *setting* a cookie, which
would log the browser in as the attacker), but it cannot add a header without a CORS preflight, which
this API never grants. Same-site neighbours (other subdomains) are kept out the same way.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Form, Header, HTTPException, Request, Response, status
from pydantic import BaseModel

from ...accounts import TokenPair, authenticate, issue_tokens, refresh_tokens, revoke_refresh_token
from ...const import API_PREFIX
from ...errors import LoginLocked, LoginRefused, TokenInvalid
from ..deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])
_LOGGER = logging.getLogger(__name__)


REFRESH_COOKIE = "homediag_refresh"
_COOKIE_PATH = f"{API_PREFIX}/auth"
_CLIENT_HEADER_DOC = "any value; required with session_cookie or the cookie (cross-site request forgery)"


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - RFC 6750's token type
    #: Seconds the access token is valid; renew with the refresh token before then.
    expires_in: int
    #: Absent when it was set as the ``homediag_refresh`` cookie (``session_cookie``).
    refresh_token: str | None = None


def _answer(pair: TokenPair, request: Request, response: Response, cookie: bool) -> TokenPublic:
    if not cookie:
        return TokenPublic(
            access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
        )
    # No Max-Age: it ends with the browser session, like the tab storage it replaces; the
    # token itself expires on the server. Secure whenever the console is served over HTTPS.
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return TokenPublic(access_token=pair.access_token, expires_in=pair.expires_in)


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _forget(request: Request, response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=_COOKIE_PATH, httponly=True, samesite="strict", secure=_https(request)
    )


def _cookie_guard(client: str) -> None:
    if not client:
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST,
            detail="invalid_request: a cookie session needs the X-Homediag-Client header",
        )


def _invalid_grant(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=f"invalid_grant: {detail}")


@router.post(
    "/token",
    response_model_exclude_none=True,
    responses={
        400: {"description": "wrong tenant, username or password; or a bad refresh token"},
        429: {"description": "locked out after too many failures (see Retry-After)"},
        503: {"description": "too many passwords being checked at once (see Retry-After)"},
    },
)
def token(
    request: Request,
    response: Response,
    session: SessionDep,
    *,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()] = "password",
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    tenant: Annotated[str, Form(max_length=64, description="the operator's id, e.g. acme")] = "",
    refresh_token: Annotated[str, Form(max_length=256)] = "",
    session_cookie: Annotated[
        bool, Form(description="browsers: keep the refresh token in an HttpOnly cookie, not the body")
    ] = False,
    homediag_refresh: Annotated[str, Cookie(max_length=256, include_in_schema=False)] = "",
    x_homediag_client: Annotated[str, Header(max_length=64, description=_CLIENT_HEADER_DOC)] = "",
) -> TokenPublic:
    """Password grant (``username``, ``password`` and ``tenant``) or refresh-token grant
    (``refresh_token``, or the cookie when the form has none; it is spent: use the new one)."""
    key: bytes = request.app.state.token_key
    from_cookie = grant_type == "refresh_token" and not refresh_token and bool(homediag_refresh)
    if from_cookie or session_cookie:
        _cookie_guard(x_homediag_client)
    if grant_type == "refresh_token":
        try:
            pair = refresh_tokens(session, refresh_token or homediag_refresh, key)
        except TokenInvalid as exc:
            session.commit()  # a reused token revokes its family: keep that
            error = _invalid_grant(str(exc))
            if from_cookie:  # a spent or revoked cookie is of no further use: the browser drops it
                gone = Response()
                _forget(request, gone)
                error.headers = {"set-cookie": gone.headers["set-cookie"]}
            raise error from exc
        session.commit()
        return _answer(pair, request, response, from_cookie or session_cookie)
    source = request.client.host if request.client else "unknown"
    try:
        user = authenticate(session, tenant, username, password, source)
    except LoginLocked:
        session.rollback()
        _LOGGER.warning("login to %s/%s from %s refused: locked out", tenant, username, source)
        raise  # a 429 with Retry-After (cloud/api/errors.py)
    except LoginRefused as exc:  # the attempt was committed as a failure before the check
        _LOGGER.info("login to %s/%s from %s refused", tenant, username, source)
        raise _invalid_grant(str(exc)) from exc
    pair = issue_tokens(session, user, key)
    session.commit()
    return _answer(pair, request, response, session_cookie)


@router.post("/revoke", responses={400: {"description": "no token given, in the form or the cookie"}})
def revoke(
    request: Request,
    response: Response,
    session: SessionDep,
    *,
    token: Annotated[str, Form(max_length=256)] = "",
    homediag_refresh: Annotated[str, Cookie(max_length=256, include_in_schema=False)] = "",
    x_homediag_client: Annotated[str, Header(max_length=64, description=_CLIENT_HEADER_DOC)] = "",
) -> dict[str, str]:
    """Log out: the refresh token (``token`` and/or the cookie, which is then cleared) and every one
    rotated from the same login stop working. The answer is the same for unknown tokens (RFC 7009
    §2.2)."""
    cookie = homediag_refresh if x_homediag_client else ""
    if not (token or cookie):
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST,
            detail="invalid_request: no token (form field token, or the cookie with X-Homediag-Client)",
        )
    for spent in {token, cookie} - {""}:
        revoke_refresh_token(session, spent)
    session.commit()
    if cookie:
        _forget(request, response)
    return {"status": "revoked"}
