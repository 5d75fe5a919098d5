"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import Session, sessionmaker

from protocol import Ed25519PrivateKey

from ..config import Settings
from ..const import CLOUD_VERSION
from .routes import agents, enrollments, health


def create_app(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    cloud_key: Ed25519PrivateKey,
    ingest: Any = None,
) -> FastAPI:
    app = FastAPI(title="homediag cloud", version=CLOUD_VERSION, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.cloud_key = cloud_key
    app.state.api_token = settings.resolved_api_token()
    app.state.ingest = ingest
    api = APIRouter(prefix="/api/v1")
    api.include_router(enrollments.router)
    api.include_router(agents.router)
    app.include_router(api)
    app.include_router(health.router)
    return app
