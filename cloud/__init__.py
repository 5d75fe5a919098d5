"""homediag cloud: ingestion, storage, enrollment and the operator API.

Imports :mod:`protocol` and never :mod:`agent`.
"""

from .config import Settings, load_settings
from .const import CLOUD_VERSION
from .errors import BrokerError, CloudError, ConfigError, EnrollmentRefused, StorageError
from .ingest import Ingest, IngestStats

__all__ = [
    "CLOUD_VERSION",
    "BrokerError",
    "CloudError",
    "ConfigError",
    "EnrollmentRefused",
    "Ingest",
    "IngestStats",
    "Settings",
    "StorageError",
    "load_settings",
]
