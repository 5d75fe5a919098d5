"""The agent's identity: its key pair and what enrollment returned.

The private key is generated here, on the device, and never leaves it; the file is
created with mode 0600 before any byte is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import protocol
from protocol import Ed25519PrivateKey, Ed25519PublicKey
from protocol.signing import write_private_key_file

from .const import CA_FILE, ENROLLMENT_FILE, KEY_FILE, TLS_CERT_FILE, TLS_KEY_FILE
from .errors import ConfigError, NotEnrolled
from .files import write_atomic

#: At most this many cloud keys are pinned at once (current, next, and one being retired).
MAX_PINNED_KEYS = 3


@dataclass(frozen=True)
class Enrollment:
    agent_id: str
    broker_url: str
    cloud_url: str
    #: The cloud signing keys this agent trusts for acks and commands, newest last.
    cloud_public_keys: tuple[str, ...]
    enrolled_at: float

    @property
    def cloud_keys(self) -> list[Ed25519PublicKey]:
        return [protocol.load_public_key(k) for k in self.cloud_public_keys]

    def trusting(self, key: str) -> Enrollment:
        if key in self.cloud_public_keys:
            return self
        keys = (*self.cloud_public_keys, key)[-MAX_PINNED_KEYS:]
        return replace(self, cloud_public_keys=keys)

    def retiring(self, key: str) -> Enrollment:
        keys = tuple(k for k in self.cloud_public_keys if k != key)
        if not keys:
            raise ConfigError("refusing to retire the last pinned cloud key")
        return replace(self, cloud_public_keys=keys)


def ensure_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


def load_or_create_key(state_dir: Path) -> Ed25519PrivateKey:
    path = state_dir / KEY_FILE
    if path.exists():
        # POSIX modes only: on Windows st_mode is always 0o666/0o444 and the protection is the ACL
        # of the state folder, which the installer restricts to SYSTEM and Administrators.
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} is readable by others; chmod 600 it")
        try:
            return protocol.load_private_key_pem(path.read_bytes())
        except protocol.ProtocolError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    ensure_state_dir(state_dir)
    key = protocol.generate_private_key()
    write_private_key_file(path, protocol.private_key_pem(key))
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
        data["cloud_public_keys"] = tuple(data["cloud_public_keys"])
        enrollment = Enrollment(**data)
        if not enrollment.cloud_keys:
            raise TypeError("no pinned cloud key")
    except (TypeError, KeyError, protocol.ProtocolError) as exc:
        raise ConfigError(f"{path} is damaged: {exc}") from exc
    return enrollment


def load_or_create_tls_key(state_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The key of the agent's TLS client certificate (P-256: what every broker's TLS stack takes)."""
    path = state_dir / TLS_KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigError(f"{path} is not an EC key")
        return key
    ensure_state_dir(state_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private_key_file(path, pem)
    return key


def replace_tls_key(state_dir: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(state_dir / TLS_KEY_FILE, pem, 0o600)


def certificate_request(state_dir: Path) -> str:
    """A CSR for the TLS key; the cloud's CA decides the subject, so ours is a placeholder."""
    key = load_or_create_tls_key(state_dir)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "homediag-agent")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def save_certificates(state_dir: Path, certificate: str, ca_certificate: str) -> None:
    write_atomic(state_dir / TLS_CERT_FILE, certificate.encode(), 0o644)
    write_atomic(state_dir / CA_FILE, ca_certificate.encode(), 0o644)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path


def tls_files(state_dir: Path) -> TlsFiles | None:
    files = TlsFiles(state_dir / TLS_CERT_FILE, state_dir / TLS_KEY_FILE, state_dir / CA_FILE)
    return files if all(p.exists() for p in (files.cert, files.key, files.ca)) else None


def certificate_needs_renewal(state_dir: Path, now: float) -> bool:
    """True when less than a third of the client certificate's lifetime is left."""
    try:
        cert = x509.load_pem_x509_certificate((state_dir / TLS_CERT_FILE).read_bytes())
    except (OSError, ValueError):
        return False
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    return end - now < (end - start) / 3
