"""Enrollment: trade a one-time pairing code and our public key for an agent id.

Uses the standard library's HTTP client on purpose: enrollment runs once, and the
agent stays free of an HTTP stack on small gateways.
"""

from __future__ import annotations

import json
import platform
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import protocol
from protocol.const import RENEWAL_CONTEXT

from .const import AGENT_VERSION, ENROLL_TIMEOUT_S
from .errors import EnrollmentError
from .identity import (
    Enrollment,
    certificate_request,
    ensure_state_dir,
    load_or_create_key,
    replace_tls_key,
    save_certificates,
    save_enrollment,
)


def enroll(state_dir: Path, cloud_url: str, code: str, timeout_s: float = ENROLL_TIMEOUT_S) -> Enrollment:
    """Enroll this device with the cloud at ``cloud_url`` and store the result."""
    if not cloud_url.startswith(("http://", "https://")):
        raise EnrollmentError("the cloud URL must start with http:// or https://")
    ensure_state_dir(state_dir)
    key = load_or_create_key(state_dir)
    request_body = {
        "code": code.strip(),
        "public_key": protocol.public_key_text(key),
        "hostname": socket.gethostname(),
        "platform": f"{platform.system()}-{platform.machine()}".lower(),
        "agent_version": AGENT_VERSION,
        "csr": certificate_request(state_dir),
    }
    reply: Any = _post(cloud_url.rstrip("/") + "/api/v1/enrollments", request_body, timeout_s, "enrollment")
    try:
        enrollment = Enrollment(
            agent_id=str(reply["agent_id"]),
            broker_url=str(reply["broker_url"]),
            cloud_url=cloud_url,
            cloud_public_keys=tuple(str(k) for k in reply["cloud_public_keys"]),
            enrolled_at=time.time(),
        )
        if not enrollment.cloud_keys:  # also refuses a reply whose keys we could not use
            raise TypeError("no cloud key in the reply")
        certificate, ca_certificate = str(reply["certificate"]), str(reply["ca_certificate"])
    except (KeyError, TypeError, protocol.ProtocolError) as exc:
        raise EnrollmentError(f"unexpected enrollment reply: {exc}") from exc
    if not protocol.is_valid_agent_id(enrollment.agent_id):
        raise EnrollmentError(f"the cloud assigned an invalid agent id {enrollment.agent_id!r}")
    save_certificates(state_dir, certificate, ca_certificate)
    save_enrollment(state_dir, enrollment)
    return enrollment


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read(4096)).get("detail", exc.reason))
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)


def renew_certificate(state_dir: Path, enrollment: Enrollment, timeout_s: float = ENROLL_TIMEOUT_S) -> None:
    """Ask the cloud for a new client certificate, proving who we are with our enrolled key.

    A new TLS key is generated for the request; the old one is kept until the new certificate
    arrives, so a failed renewal leaves a working identity behind.
    """
    key = load_or_create_key(state_dir)
    new_key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "homediag-agent")]))
        .sign(new_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    body = {"csr": csr.decode(), "signature": protocol.signing.b64encode(key.sign(RENEWAL_CONTEXT + csr))}
    url = f"{enrollment.cloud_url.rstrip('/')}/api/v1/agents/{enrollment.agent_id}/certificate"
    reply = _post(url, body, timeout_s, "certificate renewal")
    try:
        certificate, ca_certificate = str(reply["certificate"]), str(reply["ca_certificate"])
    except (KeyError, TypeError) as exc:
        raise EnrollmentError(f"unexpected renewal reply: {exc}") from exc
    replace_tls_key(state_dir, new_key)
    save_certificates(state_dir, certificate, ca_certificate)


def _post(url: str, body: dict[str, str], timeout_s: float, what: str) -> dict[str, object]:
    if not url.startswith(("http://", "https://")):
        raise EnrollmentError("the cloud URL must start with http:// or https://")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            reply = json.loads(response.read(64 * 1024))
    except urllib.error.HTTPError as exc:
        with exc:
            raise EnrollmentError(f"the cloud refused {what} ({exc.code}): {_detail(exc)}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EnrollmentError(f"cannot reach the cloud at {url}: {exc}") from exc
    if not isinstance(reply, dict):
        raise EnrollmentError(f"unexpected {what} reply")
    return reply
