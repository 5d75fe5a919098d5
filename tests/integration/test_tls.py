"""The agent's link over TLS (mqtts://) to a real mosquitto, verifying the broker's certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import AgentProcess, CloudProcess, Mosquitto, free_port, wait_for

pytestmark = pytest.mark.broker


def _write_ca_and_server(tmp: Path) -> tuple[Path, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "homediag test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_agent_reports_over_tls(tmp_path: Path) -> None:
    ca, cert, key = _write_ca_and_server(tmp_path)
    broker = Mosquitto(tmp_path)
    tls_port = free_port()
    broker.conf.write_text(
        broker.conf.read_text()
        + f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\ntls_version tlsv1.2\n"
    )
    broker.start()
    cloud = CloudProcess(tmp_path, broker_url=f"mqtts://localhost:{tls_port}")
    cloud.env["HOMEDIAG_BROKER_CA_FILE"] = str(ca)
    cloud.env["HOMEDIAG_PUBLIC_BROKER_URL"] = f"mqtts://localhost:{tls_port}"
    agent = AgentProcess(tmp_path, link={"ca_file": str(ca)})
    untrusting = AgentProcess(tmp_path, name="untrusting")
    try:
        cloud.start()
        agent_id = agent.enroll(cloud)
        untrusting_id = untrusting.enroll(cloud)
        agent.start()
        untrusting.start()
        wait_for(lambda: cloud.get(f"/api/v1/agents/{agent_id}/telemetry/latest")["probes"], 20, "telemetry")
        # The agent without our CA refuses the broker's certificate and reports nothing.
        assert cloud.get(f"/api/v1/agents/{untrusting_id}/telemetry/latest")["probes"] == {}
        error = wait_for(lambda: untrusting.status().get("link", {}).get("last_error"), 20, "a link error")
        assert "certificate verify failed" in error.lower()
    finally:
        agent.stop()
        untrusting.stop()
        cloud.stop()
        broker.stop()
