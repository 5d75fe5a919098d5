"""Storage: the schema, sessions, migrations and the queries the cloud needs."""

from .db import make_engine, make_sessionmaker, migrate
from .models import Agent, Base, PairingCode, Report, Sample, utcnow

__all__ = [
    "Agent",
    "Base",
    "PairingCode",
    "Report",
    "Sample",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "utcnow",
]
