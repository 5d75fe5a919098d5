"""The agent's identity: its key pair and what enrollment returned.

The private key is generated here, on the device, and never leaves it; the file is
created with mode 0600 before any byte is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import protocol
from protocol import Ed25519PrivateKey, Ed25519PublicKey

from .const import ENROLLMENT_FILE, KEY_FILE
from .errors import ConfigError, NotEnrolled


@dataclass(frozen=True)
class Enrollment:
    agent_id: str
    broker_url: str
    cloud_url: str
    cloud_public_key: str
    enrolled_at: float

    @property
    def cloud_key(self) -> Ed25519PublicKey:
        return protocol.load_public_key(self.cloud_public_key)


def ensure_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


def load_or_create_key(state_dir: Path) -> Ed25519PrivateKey:
    path = state_dir / KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} is readable by others; chmod 600 it")
        try:
            return protocol.load_private_key_pem(path.read_bytes())
        except protocol.ProtocolError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    ensure_state_dir(state_dir)
    key = protocol.generate_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(protocol.private_key_pem(key))
        fh.flush()
        os.fsync(fh.fileno())
    return key


def save_enrollment(state_dir: Path, enrollment: Enrollment) -> None:
    write_atomic(state_dir / ENROLLMENT_FILE, json.dumps(asdict(enrollment), indent=2).encode())


def load_enrollment(state_dir: Path) -> Enrollment:
    path = state_dir / ENROLLMENT_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotEnrolled(f"not enrolled (no {path}); run `homediag-agent enroll`") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        enrollment = Enrollment(**data)
        enrollment.cloud_key  # noqa: B018 - validates the pinned key early
    except (TypeError, protocol.ProtocolError) as exc:
        raise ConfigError(f"{path} is damaged: {exc}") from exc
    return enrollment


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
