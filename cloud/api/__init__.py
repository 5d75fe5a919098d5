"""The operator API (FastAPI): enrollment, agents, telemetry."""

from .app import create_app

__all__ = ["create_app"]
