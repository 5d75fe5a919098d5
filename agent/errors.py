"""Errors of the agent.

    AgentError
    ├── ConfigError        bad configuration file, environment override or probe options
    ├── NotEnrolled        no identity yet: run `homediag-agent enroll`
    ├── EnrollmentError    the cloud refused the pairing code, or could not be reached
    └── OutboxError        the durable outbox could not be opened or written

Probe failures are not errors: they are data (a result whose status is ``Error_...``).
"""


class AgentError(Exception):
    """Base class of every error raised by :mod:`agent`."""


class ConfigError(AgentError):
    pass


class NotEnrolled(AgentError):
    pass


class EnrollmentError(AgentError):
    pass


class OutboxError(AgentError):
    pass
