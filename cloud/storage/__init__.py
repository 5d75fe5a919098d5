"""Storage: the schema, sessions, migrations and the queries the cloud needs."""

from .assistance import AuditEntry, CommandRecord
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
    "PairingCode",
    "Report",
    "ReportWatermark",
    "Sample",
    "UsageHour",
    "UsagePlan",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "utcnow",
]
