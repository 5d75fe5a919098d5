"""Storage: the schema, sessions, migrations and the queries the cloud needs.

* ``models`` and one module per feature (``accounts``, ``assistance``, ``care``, ``connectivity``,
  ``inventory``, ``quarantine``, ``usage``): the tables; ``db``: engines, sessions, migrations.
* ``reports``: the queries of the report path (known reports and retention watermarks, reports
  inserted once, raw samples, the agent's hello, presence and last seen), called by
  ``cloud/ingest/store.py`` inside its transaction.
"""

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
from .reports import (
    ReportKey,
    ReportRow,
    SampleRow,
    insert_reports,
    insert_samples,
    known_reports,
    record_hello,
    record_presence,
    touch_last_seen,
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
    "LoginFailure",
    "PairingCode",
    "Plan",
    "QuarantinedReport",
    "RefreshToken",
    "Report",
    "ReportKey",
    "ReportRow",
    "ReportWatermark",
    "Sample",
    "SampleRow",
    "Subscriber",
    "Tenant",
    "UsageHour",
    "UsagePlan",
    "User",
    "WebConsent",
    "insert_reports",
    "insert_samples",
    "known_reports",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "record_hello",
    "record_presence",
    "touch_last_seen",
    "utcnow",
]
