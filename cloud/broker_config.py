"""`homediag-cloud broker-config`: mosquitto for production, with mutual TLS and per-agent ACLs.

Writes into one directory: ``mosquitto.conf``, ``acl``, the CA certificate, the broker's key and
certificate, and the cloud's own client identities. Agents authenticate with the client certificate
the CA issued at enrollment; ``use_identity_as_username`` makes its CN (the agent id) the MQTT user
name, which the ACL patterns confine to that agent's own subtree, and ``use_username_as_clientid``
makes it the client id too, so a certificate can only ever take over its own session: without it,
agent B connecting with agent A's id disconnects A (issue 17, finding 6). The ingestion still
verifies every signature, so a broker misconfigured anyway cannot be used to forge telemetry.

The client id being the CN holds for the cloud's processes as well: two with one certificate would
disconnect each other, so each ``serve`` or ``ingest`` process gets an identity of its own
(``--cloud-clients``), all with the same rights in the ACL.

Started as root, mosquitto 2.0 reads its configuration and then drops to the ``mosquitto`` user
before it loads the ACL, keys and CRL (and re-reads them as that user on SIGHUP). Written as root,
the directory and what the broker reads are therefore group ``mosquitto``; the cloud's client keys
stay the writer's alone, and the CA key is never in this directory (finding 10).
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from protocol.const import TOPIC_ROOT

from .errors import ConfigError
from .pki import CertificateAuthority

CLOUD_IDENTITY = "homediag-cloud"
#: The user mosquitto drops to when started as root (its ``user`` option's default).
BROKER_USER = "mosquitto"
#: A bound on ``--cloud-clients``: each is a key, a certificate and seven ACL lines.
MAX_CLOUD_CLIENTS = 1000


def cloud_identities(count: int) -> list[str]:
    """``homediag-cloud``, then ``homediag-cloud-2`` ... : one per cloud process on the broker."""
    if not 1 <= count <= MAX_CLOUD_CLIENTS:
        raise ConfigError(
            f"give --cloud-clients a number from 1 to {MAX_CLOUD_CLIENTS}: one for each cloud process"
        )
    return [CLOUD_IDENTITY, *(f"{CLOUD_IDENTITY}-{i}" for i in range(2, count + 1))]


def acl_text(identities: Sequence[str] = (CLOUD_IDENTITY,)) -> str:
    root = TOPIC_ROOT
    cloud = "".join(
        f"""
user {identity}
topic read {root}/+/hello
topic read {root}/+/telemetry
topic read {root}/+/result
topic read {root}/+/status
topic write {root}/+/ack
topic write {root}/+/cmd
"""
        for identity in identities
    )
    return f"""# homediag ACL (written by `homediag-cloud broker-config`).
# Agents: the user name (and client id) is the certificate's CN, the agent id; each agent is
# confined to its own subtree and may only write uplink channels and read downlink ones.
pattern write {root}/%u/hello
pattern write {root}/%u/telemetry
pattern write {root}/%u/result
pattern write {root}/%u/status
pattern read {root}/%u/ack
pattern read {root}/%u/cmd

# The cloud's processes, one identity each: read every agent's uplink, write acks and commands.
{cloud}"""


@dataclass(frozen=True)
class CloudClient:
    """One cloud process's identity on the broker: its certificate's CN and the files to use."""

    identity: str
    cert: Path
    key: Path


@dataclass(frozen=True)
class BrokerFiles:
    directory: Path
    conf: Path
    ca: Path
    cloud_cert: Path
    cloud_key: Path
    crl: Path
    #: Every cloud identity, the first being ``cloud_cert``/``cloud_key``.
    cloud_clients: tuple[CloudClient, ...]
    #: Files mosquitto, once it has dropped root, could not read: what would stop it starting.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Owner:
    """Who the broker runs as: ``gid`` is given group read on what it needs (None: the writer)."""

    uid: int
    gids: frozenset[int]
    gid: int | None
    name: str


def _broker_owner() -> _Owner:
    """Root: mosquitto will drop to ``BROKER_USER``. Anyone else: it runs as the writer."""
    if os.geteuid() != 0:
        return _Owner(os.geteuid(), frozenset(os.getgroups()) | {os.getegid()}, None, "")
    try:
        entry = pwd.getpwnam(BROKER_USER)
    except KeyError:
        raise ConfigError(
            f"there is no user {BROKER_USER!r} here for the broker to run as: install mosquitto on this"
            " host first, or run broker-config as the user who will start the broker"
        ) from None
    gids = frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return _Owner(entry.pw_uid, gids, entry.pw_gid, entry.pw_name)


def _write(path: Path, data: bytes, mode: int, gid: int | None = None) -> None:
    """Write ``path`` afresh with ``mode`` and, if given, group ``gid`` (never wider on the way)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        if gid is not None:
            os.fchown(fh.fileno(), -1, gid)
        os.fchmod(fh.fileno(), mode)
        fh.write(data)


def _allows(st: os.stat_result, owner: _Owner, bit: int) -> bool:
    if owner.uid == 0:
        return True
    if st.st_uid == owner.uid:
        return bool(st.st_mode >> 6 & bit)
    if st.st_gid in owner.gids:
        return bool(st.st_mode >> 3 & bit)
    return bool(st.st_mode & bit)


def _blocked(path: Path, owner: _Owner) -> Path | None:
    """The first directory on the way to ``path``, or the file itself, that ``owner`` cannot pass."""
    path = path.absolute()
    for parent in reversed(path.parents):
        if not _allows(parent.stat(), owner, stat.S_IXOTH):
            return parent
    try:
        st = path.stat()
    except FileNotFoundError:
        return path
    return None if _allows(st, owner, stat.S_IROTH) else path


def write_broker_config(
    ca: CertificateAuthority,
    directory: Path,
    *,
    crl_path: Path,
    host: str = "0.0.0.0",  # noqa: S104 - a broker listens for agents on the network
    port: int = 8883,
    server_names: list[str] | None = None,
    cloud_clients: int = 1,
    extra_conf: str = "",
) -> BrokerFiles:
    """Issue the broker's and the cloud's identities and write the broker's files into ``directory``.

    Raises :class:`ConfigError` when run as root where there is no ``mosquitto`` user to own them;
    what the broker still could not read (a CRL elsewhere) comes back in ``warnings``.
    """
    owner = _broker_owner()
    identities = cloud_identities(cloud_clients)
    directory.mkdir(parents=True, exist_ok=True)
    if owner.gid is not None:
        os.chown(directory, -1, owner.gid)
    directory.chmod(0o750)
    # What only the broker reads: its group may read it when it is not the writer.
    private = 0o640 if owner.gid is not None else 0o600
    names = server_names or ["localhost", "127.0.0.1"]
    broker_key, broker_cert = ca.issue_key_and_certificate("homediag-broker", server_names=names)
    clients: list[CloudClient] = []
    for i, identity in enumerate(identities, start=1):
        stem = "cloud-client" if i == 1 else f"cloud-client-{i}"
        client = CloudClient(identity, directory / f"{stem}.pem", directory / f"{stem}.key")
        key, cert = ca.issue_key_and_certificate(identity)
        _write(client.key, key, 0o600)  # the cloud's, never the broker's
        _write(client.cert, cert.pem, 0o644)
        clients.append(client)
    files = BrokerFiles(
        directory=directory,
        conf=directory / "mosquitto.conf",
        ca=directory / "ca.pem",
        cloud_cert=clients[0].cert,
        cloud_key=clients[0].key,
        crl=crl_path,
        cloud_clients=tuple(clients),
    )
    _write(files.ca, ca.pem, 0o644)
    _write(directory / "broker.pem", broker_cert.pem, 0o644)
    _write(directory / "broker.key", broker_key, private, owner.gid)
    _write(directory / "acl", acl_text(identities).encode(), 0o644)
    conf = f"""# mosquitto configuration for homediag (written by `homediag-cloud broker-config`).
# Started as root, mosquitto runs as the user {BROKER_USER}: this directory is readable by its group.
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
# The certificate's CN is the user name and the client id: no one can take over another's session.
use_identity_as_username true
use_username_as_clientid true
tls_version tlsv1.2
{extra_conf}"""
    _write(files.conf, conf.encode(), 0o644)
    warnings: list[str] = []
    reported: set[Path] = set()
    if owner.gid is not None:
        needed = [files.conf, directory / "acl", files.ca, directory / "broker.pem", directory / "broker.key"]
        for path in [*needed, crl_path]:
            blocked = _blocked(path, owner)
            if blocked is None or blocked in reported:
                continue
            reported.add(blocked)
            what = (
                f"read {path}"
                if blocked == path
                else f"reach {path} (the directory {blocked} is closed to it)"
            )
            step = (
                "set HOMEDIAG_CRL_FILE to a file in the output directory, for broker-config and the cloud"
                if path == crl_path
                else "write the configuration under a directory it can reach, such as /etc/mosquitto"
            )
            warnings.append(
                f"mosquitto started as root runs as the user {owner.name}, which cannot {what}: {step},"
                " or start mosquitto as the user who owns these files"
            )
    return dataclasses.replace(files, warnings=tuple(warnings))
