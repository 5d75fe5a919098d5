"""The FastAPI application factory, and what every request goes through before its route.

Bodies are bounded before they are read (:class:`BodyLimit`, a pure ASGI middleware: Content-Length
up front, then the bytes as they stream in), and validation errors name the field and the rule but
never echo what was sent (issue 17: a 100 MiB body took the process to 848 MiB, and the 422 answer to
a 300 MiB one was 600 MiB). Every error answer is a problem document (RFC 9457, cloud/api/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fastapi import APIRouter, FastAPI, HTTPException, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..accounts import PASSWORD_HASHES, token_key
from ..config import Settings
from ..console import router as console_router
from ..const import API_PREFIX, CLOUD_VERSION, SPEEDTEST_MAX_BYTES
from ..downlink import CommandPublisher
from ..keys import KeyRing
from ..pki import CertificateAuthority
from . import errors
from .routes import (
    agents,
    assist,
    care,
    commands,
    connectivity,
    consent,
    devices,
    enrollments,
    health,
    me,
    pki,
    plans,
    quarantine,
    speedtest,
    subscribers,
    team,
    tenants,
    tokens,
    usage,
    users,
)

#: Routes that take more than ``Settings.max_body_bytes``, with their own bound: the speed-test
#: upload counts and drops what it reads (routes/speedtest.py).
LARGER_BODIES: Final[Mapping[str, int]] = {f"{API_PREFIX}/speedtest/upload": SPEEDTEST_MAX_BYTES}


def _size(nbytes: int) -> str:
    mib, kib = 1024 * 1024, 1024
    if nbytes % mib == 0:
        return f"{nbytes // mib} MiB"
    return f"{nbytes // kib} KiB" if nbytes % kib == 0 else f"{nbytes} bytes"


def _too_large_detail(limit: int) -> str:
    return f"The request body is larger than {_size(limit)}, the most this endpoint takes; send less."


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit; the route's reading stops
    there and the app answers 413 (FastAPI re-raises an HTTPException met while reading a body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE, _too_large_detail(limit), headers={"Connection": "close"}
        )
        self.limit = limit


class BodyLimit:
    """Refuses a request body over ``limit`` bytes (``larger`` per path) without buffering it.

    A declared Content-Length over the limit is answered 413 before the app runs; a chunked or
    under-declared body is counted as it arrives and reading stops at the limit. ``Connection: close``
    goes with the answer: the rest of the body is never read, so the connection cannot be reused.
    """

    def __init__(self, app: ASGIApp, *, limit: int, larger: Mapping[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        for name, value in scope["headers"]:
            # The server has already refused a malformed Content-Length (h11 answers 400).
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_too_large(send, limit)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:  # an answer is under way: the server ends the connection
                raise
            await _send_too_large(send, limit)


async def _send_too_large(send: Send, limit: int) -> None:
    body = errors.encode(status.HTTP_413_CONTENT_TOO_LARGE, _too_large_detail(limit))
    headers = [
        (b"content-type", errors.PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send(
        {"type": "http.response.start", "status": status.HTTP_413_CONTENT_TOO_LARGE, "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})


def create_app(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    keys: KeyRing,
    ca: CertificateAuthority,
    ingest: CommandPublisher | None = None,
) -> FastAPI:
    app = FastAPI(title="homediag cloud", version=CLOUD_VERSION, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.keys = keys
    app.state.ca = ca
    #: The bootstrap platform-operator credential; people log in at /api/v1/auth/token.
    app.state.api_token = settings.resolved_api_token()
    app.state.token_key = token_key(settings.state_dir)
    app.state.ingest = ingest
    PASSWORD_HASHES.configure(settings.password_hash_concurrency, settings.password_hash_wait_s)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, larger=LARGER_BODIES)
    errors.install(app)  # every error answer a problem document (RFC 9457)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(enrollments.router)
    api.include_router(agents.router)
    api.include_router(pki.router)
    api.include_router(commands.router)
    api.include_router(consent.router)
    api.include_router(usage.router)
    api.include_router(care.router)
    api.include_router(devices.router)
    api.include_router(speedtest.router)
    api.include_router(connectivity.router)
    api.include_router(assist.router)
    api.include_router(tokens.router)
    api.include_router(me.router)
    api.include_router(tenants.router)
    api.include_router(users.router)
    api.include_router(subscribers.router)
    api.include_router(plans.router)
    api.include_router(team.router)
    api.include_router(quarantine.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(console_router)
    return app
