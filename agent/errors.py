"""Errors of the agent.

    AgentError
    ├── ConfigError        bad configuration file, environment override or probe options
    ├── NotEnrolled        no identity yet: run `homediag-agent enroll`
    ├── EnrollmentError    the cloud refused the pairing code, or could not be reached
    ├── OutboxError        the durable outbox could not be opened or written
    ├── SweepRefused       (also ValueError) a subnet the ARP sweep will not touch   discovery/arp.py
    ├── IppError           a printer could not be asked, or its answer not read      discovery/ipp.py
    └── IcmpUnavailable    (also OSError) no ICMP socket may be opened here           icmp.py

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
