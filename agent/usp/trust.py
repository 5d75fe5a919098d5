"""Who may do what: ``Device.LocalAgent.ControllerTrust.`` roles, and the subscriber's consent.

A controller is known by its endpoint ID (``[usp] controller_endpoint_id``); a record from any
other endpoint is dropped. Its role (``[usp] controller_role``) says what it may do:

    Viewer        Get, GetSupportedDM, GetInstances, GetSupportedProtocol, its own Subscriptions
    Diagnostics   the above, and Operate of the diagnostics (IPPing, TraceRoute, NSLookup, ...)

No role overrides the subscriber: a command the catalogue marks ``consent`` (protocol/catalogue.py)
runs only while a consent given on the device is active (agent/consent.py), exactly as for the
cloud's commands; otherwise the controller gets 7006 (permission denied).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from protocol.catalogue import CATALOGUE

from ..consent import Consent
from .errors import PermissionDenied

VIEWER: Final = "Viewer"
DIAGNOSTICS: Final = "Diagnostics"
ROLES: Final = {VIEWER: frozenset({"read"}), DIAGNOSTICS: frozenset({"read", "operate"})}


@dataclass(frozen=True)
class Trust:
    controller_id: str
    role: str
    consent: Callable[[], Consent | None]

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"controller role must be one of {', '.join(ROLES)}")

    def knows(self, endpoint_id: str) -> bool:
        return endpoint_id == self.controller_id

    def check_read(self) -> None:
        if "read" not in ROLES[self.role]:
            raise PermissionDenied(f"role {self.role} may not read")

    def check_operate(self, catalogue_command: str) -> None:
        """Raise :class:`PermissionDenied` unless this controller may run the command now."""
        if "operate" not in ROLES[self.role]:
            raise PermissionDenied(f"role {self.role} may not operate commands")
        definition = CATALOGUE[catalogue_command]
        if definition.consent or definition.internal:
            consent = self.consent()
            if definition.internal or consent is None or not consent.active(time.time()):
                raise PermissionDenied(
                    "this command needs a remote-assistance session the subscriber approved on the device"
                )
