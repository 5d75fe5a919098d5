"""Errors of the lab.

LabError
├── LabConfigError     a home description that cannot be built (bad name, address outside 10.213/16)
├── PrerequisiteError  not root, or a binary or kernel feature is missing: lab tests skip (fail on CI)
├── CommandError       a command run for the lab failed; carries argv, return code and stderr
├── ServiceError       a device (dnsmasq, avahi, printer, TV) died or was not ready in time
├── LabStateError      the lab is not up, the host is unknown, or a state file is unreadable
└── NfQueueError       (lab.devices.nfqueue) the kernel refused the impairer's NFQUEUE binding
"""

from collections.abc import Sequence


class LabError(Exception):
    """Base class of every error raised by :mod:`lab`."""


class LabConfigError(LabError):
    pass


class PrerequisiteError(LabError):
    pass


class CommandError(LabError):
    def __init__(self, argv: Sequence[str], returncode: int, stdout: str = "", stderr: str = "") -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-3:] or stdout.strip().splitlines()[-3:]
        super().__init__(f"{' '.join(self.argv)} exited {returncode}: {' | '.join(tail)}")


class ServiceError(LabError):
    pass


class LabStateError(LabError):
    pass
