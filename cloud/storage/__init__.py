"""Storage: the schema, sessions, migrations and the queries the cloud needs."""

from .accounts import LoginFailure, Plan, RefreshToken, Subscriber, Tenant, User
from .assistance import AuditEntry, CommandRecord, WebConsent
from .care import CareDailyEntry, CareDeadLetter, CareFeedback, CareNotification, CarePreference
from .connectivity import ConnectivitySample
from .db import make_engine, make_sessionmaker, migrate
from .inventory import InventoryDevice, InventoryEvent
from .models import (
    Agent,
    Base,
    Certificate,
    EnrollmentFailure,
    PairingCode,
    Report,
    ReportWatermark,
    Sample,
    utcnow,
)
from .quarantine import QuarantinedReport
from .usage import DeviceClassHour, UsageHour, UsagePlan

__all__ = [
    "Agent",
    "AuditEntry",
    "Base",
    "CareDailyEntry",
    "CareDeadLetter",
    "CareFeedback",
    "CareNotification",
    "CarePreference",
    "Certificate",
    "CommandRecord",
    "ConnectivitySample",
    "DeviceClassHour",
    "EnrollmentFailure",
    "InventoryDevice",
    "InventoryEvent",
    "LoginFailure",
    "PairingCode",
    "Plan",
    "QuarantinedReport",
    "RefreshToken",
    "Report",
    "ReportWatermark",
    "Sample",
    "Subscriber",
    "Tenant",
    "UsageHour",
    "UsagePlan",
    "User",
    "WebConsent",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "utcnow",
]
