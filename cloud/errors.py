"""Errors of the cloud.

CloudError
├── ConfigError          settings refused (for example a default secret outside development)
├── StorageError         the database could not be reached, migrated or written
│   └── StoreUnavailable the ingest's database does not answer: retried, nothing set aside
├── EnrollmentRefused    the pairing code is unknown, used or expired, or the CSR is bad
│   └── RateLimited      too many failures from one source, or codes for one subscriber
├── NotFound             no such agent
├── CommandRefused       the cloud will not send a CSR's command (cloud/remote.py); nothing is sent
│   ├── CommandInvalid   not a command a CSR can send, or its parameters or ttl_s do not fit
│   ├── AgentUnknown     no such agent, or it is revoked
│   ├── AgentOffline     the agent is offline and the command cannot wait for it
│   ├── NotInService     the subscriber's tier does not include the command
│   └── ConsentRequired  needs a remote-assistance session the subscriber approved
├── AccountError         accounts (cloud/accounts.py): a tenant, user or password refused
│   ├── LoginRefused     wrong tenant, username or password, or a disabled login
│   │   └── LoginLocked  too many failures for the account or from the source
│   ├── TokenInvalid     an access or refresh token that is expired, forged, used or revoked
│   └── HashingBusy      every password-hash slot of the process stayed taken: retry soon (503)
├── BrokerError          the embedded broker could not start
├── SetupError           not a printer address the setup guide can use (cloud/printer_setup.py)
└── CareError            proactive care (cloud/care)
    ├── MalformedRecords the hourly records of the offline entry point were refused (strict mode)
    └── DeliveryFailed   one attempt to send a notification failed (retried, then dead-lettered)
        └── EgressRefused  the egress policy refused a webhook's address (cloud/care/egress.py)

Each message is a sentence for the person who asked (the API answers with it), never a copy of what
they sent. None of these knows HTTP: how the API answers each class (status, problem type, title)
is decided in one table, cloud/api/errors.py.
"""


class CloudError(Exception):
    """Base class of every error raised by :mod:`cloud`."""


class ConfigError(CloudError):
    pass


class StorageError(CloudError):
    pass


class StoreUnavailable(StorageError):
    """The database does not answer the ingest's writer: retry later, set nothing aside."""


class EnrollmentRefused(CloudError):
    pass


class BrokerError(CloudError):
    pass


class RateLimited(EnrollmentRefused):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotFound(CloudError):
    pass


class CommandRefused(CloudError):
    """The cloud will not send a CSR's command; the message says why and what to do, in words."""


class CommandInvalid(CommandRefused):
    pass


class AgentUnknown(CommandRefused):
    pass


class AgentOffline(CommandRefused):
    pass


class NotInService(CommandRefused):
    pass


class ConsentRequired(CommandRefused):
    pass


class AccountError(CloudError):
    pass


class LoginRefused(AccountError):
    pass


class LoginLocked(LoginRefused):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TokenInvalid(AccountError):
    pass


class HashingBusy(AccountError):
    """Every password-hash slot of this process stayed taken for the whole wait: try again soon."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CareError(CloudError):
    pass


class MalformedRecords(CareError):
    pass


class DeliveryFailed(CareError):
    pass
