"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import Session, sessionmaker

from ..accounts import token_key
from ..config import Settings
from ..console import router as console_router
from ..const import API_PREFIX, CLOUD_VERSION
from ..keys import KeyRing
from ..pki import CertificateAuthority
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
    speedtest,
    subscribers,
    team,
    tenants,
    tokens,
    usage,
    users,
)


def create_app(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    keys: KeyRing,
    ca: CertificateAuthority,
    ingest: Any = None,
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
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(console_router)
    return app
