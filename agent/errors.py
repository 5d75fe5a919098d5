"""Errors of the agent.

    AgentError
    ├── ConfigError           bad configuration file, environment override or probe options
    │   └── ProbeConfigError  a probe's options are invalid                          probes/base.py
    ├── NotEnrolled           no identity yet: run `homediag-agent enroll`
    ├── EnrollmentError       the cloud refused the pairing code, or could not be reached
    ├── OutboxError           the durable outbox could not be opened or written
    ├── CommandRefused        a command from the cloud fails a check; carries its status  commands.py
    ├── SweepRefused          (also ValueError) a subnet the ARP sweep will not touch   discovery/arp.py
    ├── IppError              a printer could not be asked, or its answer not read      discovery/ipp.py
    ├── IcmpUnavailable       (also OSError) no ICMP socket may be opened here          connectivity/icmp.py
    ├── ConntrackUnavailable  connection tracking cannot be read here                    usage/conntrack.py
    └── CaptureUnavailable    the header-only packet capture cannot run here           usage/capture.py

Probe failures are not errors: they are data (a result whose status is ``Error_...``); the two
``...Unavailable`` errors of usage become such statuses in ``usage/devices.py``.
"""


class AgentError(Exception):
    """Base class of every error raised by :mod:`agent`."""


class ConfigError(AgentError):
    pass


class ProbeConfigError(ConfigError):
    """A probe's options are invalid."""


class NotEnrolled(AgentError):
    pass


class EnrollmentError(AgentError):
    pass


class OutboxError(AgentError):
    pass
