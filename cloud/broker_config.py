"""`homediag-cloud broker-config`: mosquitto for production, with mutual TLS and per-agent ACLs.

Writes into one directory: ``mosquitto.conf``, ``acl``, the CA certificate, the broker's key and
certificate, and the cloud's own client identity. Agents authenticate with the client certificate
the CA issued at enrollment; ``use_identity_as_username`` makes its CN (the agent id) the MQTT user
name, which the ACL patterns confine to that agent's own subtree. The ingestion still verifies every
signature, so a broker misconfigured anyway cannot be used to forge telemetry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from protocol.const import TOPIC_ROOT

from .pki import CertificateAuthority

CLOUD_IDENTITY = "homediag-cloud"


def acl_text(cloud_identity: str = CLOUD_IDENTITY) -> str:
    root = TOPIC_ROOT
    return f"""# homediag ACL (written by `homediag-cloud broker-config`).
# Agents: the user name is the certificate's CN, the agent id; each agent is confined to its own
# subtree and may only write uplink channels and read downlink ones.
pattern write {root}/%u/hello
pattern write {root}/%u/telemetry
pattern write {root}/%u/result
pattern write {root}/%u/status
pattern read {root}/%u/ack
pattern read {root}/%u/cmd

# The cloud: reads every agent's uplink, writes acks and commands.
user {cloud_identity}
topic read {root}/+/hello
topic read {root}/+/telemetry
topic read {root}/+/result
topic read {root}/+/status
topic write {root}/+/ack
topic write {root}/+/cmd
"""


@dataclass(frozen=True)
class BrokerFiles:
    directory: Path
    conf: Path
    ca: Path
    cloud_cert: Path
    cloud_key: Path
    crl: Path


def write_broker_config(
    ca: CertificateAuthority,
    directory: Path,
    *,
    crl_path: Path,
    host: str = "0.0.0.0",  # noqa: S104 - a broker listens for agents on the network
    port: int = 8883,
    server_names: list[str] | None = None,
    extra_conf: str = "",
) -> BrokerFiles:
    directory.mkdir(parents=True, exist_ok=True)
    names = server_names or ["localhost", "127.0.0.1"]
    broker_key, broker_cert = ca.issue_key_and_certificate("homediag-broker", server_names=names)
    cloud_key, cloud_cert = ca.issue_key_and_certificate(CLOUD_IDENTITY)
    files = BrokerFiles(
        directory=directory,
        conf=directory / "mosquitto.conf",
        ca=directory / "ca.pem",
        cloud_cert=directory / "cloud-client.pem",
        cloud_key=directory / "cloud-client.key",
        crl=crl_path,
    )
    files.ca.write_bytes(ca.pem)
    (directory / "broker.pem").write_bytes(broker_cert.pem)
    for path, data in ((directory / "broker.key", broker_key), (files.cloud_key, cloud_key)):
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    files.cloud_cert.write_bytes(cloud_cert.pem)
    (directory / "acl").write_text(acl_text())
    files.conf.write_text(
        f"""# mosquitto configuration for homediag (written by `homediag-cloud broker-config`).
per_listener_settings false
allow_anonymous false
acl_file {directory / "acl"}
# Deliberate limits: the default of 1000 queued messages dropped QoS 1 messages under load.
max_queued_messages 100000
max_inflight_messages 1000
message_size_limit 262144

listener {port} {host}
cafile {files.ca}
certfile {directory / "broker.pem"}
keyfile {directory / "broker.key"}
crlfile {crl_path}
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
{extra_conf}"""
    )
    return files
