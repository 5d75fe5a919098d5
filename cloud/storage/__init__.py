"""Storage: the schema, sessions, migrations and the queries the cloud needs."""

from .assistance import AuditEntry, CommandRecord
from .db import make_engine, make_sessionmaker, migrate
from .models import Agent, Base, Certificate, EnrollmentFailure, PairingCode, Report, Sample, utcnow
from .usage import DeviceClassHour, UsageHour, UsagePlan

__all__ = [
    "Agent",
    "AuditEntry",
    "Base",
    "Certificate",
    "CommandRecord",
    "DeviceClassHour",
    "EnrollmentFailure",
    "PairingCode",
    "Report",
    "Sample",
    "UsageHour",
    "UsagePlan",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "utcnow",
]
