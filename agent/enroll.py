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

import protocol

from .const import AGENT_VERSION, ENROLL_TIMEOUT_S
from .errors import EnrollmentError
from .identity import (
    Enrollment,
    certificate_request,
    ensure_state_dir,
    load_or_create_key,
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
    url = cloud_url.rstrip("/") + "/api/v1/enrollments"
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(request_body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            reply = json.loads(response.read(64 * 1024))
    except urllib.error.HTTPError as exc:
        with exc:
            raise EnrollmentError(f"the cloud refused enrollment ({exc.code}): {_detail(exc)}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EnrollmentError(f"cannot reach the cloud at {url}: {exc}") from exc
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
