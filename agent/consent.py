"""Remote-assistance consent given on the device itself (`homediag-agent consent grant --minutes 60`).

Commands marked ``consent`` in the catalogue run only while a consent is active: granted here, or
granted in the self-care portal and vouched for by the cloud inside the signed command
(``consent_until``). Revoking here ends it at once for both.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from protocol.catalogue import MAX_CONSENT_MINUTES

from .errors import ConfigError
from .files import write_atomic

CONSENT_FILE = "consent.json"


@dataclass(frozen=True)
class Consent:
    granted_at: float
    expires_at: float
    revoked: bool = False

    def active(self, now: float) -> bool:
        return not self.revoked and self.granted_at <= now < self.expires_at

    @property
    def revoked_at(self) -> float | None:
        """When the subscriber revoked it (a revoke ends the session at that moment)."""
        return self.expires_at if self.revoked else None


def grant(state_dir: Path, minutes: float, now: float | None = None) -> Consent:
    if not 0 < minutes <= MAX_CONSENT_MINUTES:
        raise ConfigError(f"consent lasts between 1 minute and {MAX_CONSENT_MINUTES} minutes")
    start = time.time() if now is None else now
    consent = Consent(granted_at=start, expires_at=start + minutes * 60)
    write_atomic(state_dir / CONSENT_FILE, json.dumps(asdict(consent)).encode(), 0o644)
    return consent


def revoke(state_dir: Path, now: float | None = None) -> Consent:
    current = load(state_dir) or Consent(granted_at=0.0, expires_at=0.0)
    revoked = Consent(
        granted_at=current.granted_at, expires_at=time.time() if now is None else now, revoked=True
    )
    write_atomic(state_dir / CONSENT_FILE, json.dumps(asdict(revoked)).encode(), 0o644)
    return revoked


def load(state_dir: Path) -> Consent | None:
    try:
        data = json.loads((state_dir / CONSENT_FILE).read_text())
        return Consent(float(data["granted_at"]), float(data["expires_at"]), bool(data.get("revoked", False)))
    except (OSError, ValueError, KeyError, TypeError):
        return None
