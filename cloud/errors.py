"""Errors of the cloud.

CloudError
├── ConfigError          settings refused (for example a default secret outside development)
├── StorageError         the database could not be reached, migrated or written
├── EnrollmentRefused    the pairing code is unknown, used or expired
└── BrokerError          the embedded broker could not start
"""


class CloudError(Exception):
    """Base class of every error raised by :mod:`cloud`."""


class ConfigError(CloudError):
    pass


class StorageError(CloudError):
    pass


class EnrollmentRefused(CloudError):
    pass


class BrokerError(CloudError):
    pass
