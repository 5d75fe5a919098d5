"""homediag home agent: probes, a durable outbox and an MQTT link to the cloud.

Imports :mod:`protocol` and never :mod:`cloud`.
"""

from .config import AgentConfig, LinkConfig, OutboxConfig, load_config
from .const import AGENT_VERSION
from .enroll import enroll
from .errors import AgentError, ConfigError, EnrollmentError, NotEnrolled, OutboxError
from .identity import Enrollment, load_enrollment, load_or_create_key
from .link import Link, LinkState
from .outbox import AsyncOutbox, Outbox
from .runner import Agent

__all__ = [
    "AGENT_VERSION",
    "Agent",
    "AgentConfig",
    "AgentError",
    "AsyncOutbox",
    "ConfigError",
    "Enrollment",
    "EnrollmentError",
    "Link",
    "LinkConfig",
    "LinkState",
    "NotEnrolled",
    "Outbox",
    "OutboxConfig",
    "OutboxError",
    "enroll",
    "load_config",
    "load_enrollment",
    "load_or_create_key",
]
