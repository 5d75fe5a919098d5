"""The cloud's certificate authority (``cryptography``): agent client certificates, the broker's and
the cloud's own TLS identities, and the certificate revocation list.

Agents generate their TLS key on the device and send a certificate signing request; only its public
key is used: the CA writes the subject itself (``CN=<agent id>``, SAN
``URI:urn:homediag:agent:<agent id>``), so a device cannot ask for another identity. Mosquitto's
``use_identity_as_username`` then makes the CN the MQTT user name that ACL patterns match.

The CA key is a file with mode 0600 in ``STATE_DIR/pki``. To move it into an external CA or an HSM,
replace :class:`CertificateAuthority`'s two signing calls (``sign_csr`` and ``crl``) with calls to
that service; nothing else holds the key (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .config import make_private_dir
from .errors import EnrollmentRefused

CA_KEY_FILE = "ca-key.pem"
CA_CERT_FILE = "ca.pem"
AGENT_URI_PREFIX = "urn:homediag:agent:"
CA_VALIDITY_DAYS = 3650
#: Certificates are valid from a day back: a gateway whose clock is hours behind must still
#: accept the broker's certificate and have its own accepted.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(days=1)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class IssuedCertificate:
    pem: bytes
    serial: int
    not_after: dt.datetime


class CertificateAuthority:
    def __init__(self, directory: Path, name: str = "homediag agent CA") -> None:
        self.directory = directory
        make_private_dir(directory)
        key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
        if not key_path.exists():
            key = ec.generate_private_key(ec.SECP384R1())
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(_now() - CLOCK_SKEW_ALLOWANCE)
                .not_valid_after(_now() + dt.timedelta(days=CA_VALIDITY_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA384())
            )
            _write_private(key_path, _key_pem(key))
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if key_path.stat().st_mode & 0o077:
            raise PermissionError(f"{key_path} is readable by others; chmod 600 it")
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TypeError("the CA key must be an EC key")
        self._key = loaded
        self.certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())

    @property
    def cert_path(self) -> Path:
        return self.directory / CA_CERT_FILE

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def _builder(
        self, subject: str, public_key: ec.EllipticCurvePublicKey, days: float
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - CLOCK_SKEW_ALLOWANCE)
            .not_valid_after(_now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.certificate.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )

    def _sign(self, builder: x509.CertificateBuilder) -> IssuedCertificate:
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(
            cert.public_bytes(serialization.Encoding.PEM), cert.serial_number, cert.not_valid_after_utc
        )

    def sign_agent_csr(self, csr_pem: bytes, agent_id: str, days: float) -> IssuedCertificate:
        """A client certificate for ``agent_id`` on the CSR's key; the CSR's subject is ignored."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise EnrollmentRefused(f"invalid certificate signing request: {exc}") from exc
        try:
            valid = csr.is_signature_valid
        except (InvalidSignature, UnsupportedAlgorithm):
            valid = False
        public_key = csr.public_key()
        if not valid or not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise EnrollmentRefused("the CSR must be self-signed with an EC key")
        builder = (
            self._builder(agent_id, public_key, days)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(AGENT_URI_PREFIX + agent_id)]),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        return self._sign(builder)

    def issue_key_and_certificate(
        self, name: str, *, server_names: list[str] | None = None, days: int = 825
    ) -> tuple[bytes, IssuedCertificate]:
        """A key and certificate for the broker (``server_names``) or the cloud's own client identity."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(name, key.public_key(), days)
        if server_names:
            alt: list[x509.GeneralName] = []
            for entry in server_names:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
                except ValueError:
                    alt.append(x509.DNSName(entry))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        return _key_pem(key), self._sign(builder)

    def crl(self, revoked: list[tuple[int, dt.datetime]], next_update_days: int = 7) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(_now() - dt.timedelta(minutes=5))
            .next_update(_now() + dt.timedelta(days=next_update_days))
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def agent_id_of(cert: x509.Certificate) -> str | None:
    """The agent id a client certificate was issued to, from its SAN URI."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(AGENT_URI_PREFIX):
            return uri[len(AGENT_URI_PREFIX) :]
    return None
