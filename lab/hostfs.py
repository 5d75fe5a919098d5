"""What a process inside a lab host sees of the file system: its own hosts, resolv.conf, /run and name.

Decision (issue 3): no file is written under the machine's /etc or /run, so ``/etc/netns/<name>/``
(which ``ip netns exec`` would bind for us) is out. Instead every process the lab starts runs as

    ip netns exec NS unshare --mount --uts --propagation slave -- sh -c WRAPPER ...

and the wrapper bind-mounts files kept under the lab's state directory over ``/etc/hosts``,
``/etc/resolv.conf`` and ``/run``, sets the host name, then execs the command. The mounts live in that
process's private mount namespace and vanish with it. ``slave`` (not ``private``) propagation lets the
host's own unmounts, such as ``ip netns delete`` of another lab, still reach these copies, so a
long-lived lab process never pins someone else's namespace. A private ``/run`` per host gives each
avahi-daemon its own D-Bus socket and pid file: ``avahi-browse`` started later in the same host finds it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LabConfigError
from .model import Home, Host, Service

#: Runs inside the new mount and UTS namespaces: name the host, bind the files, exec the command.
WRAPPER = (
    'printf "%s" "$1" > /proc/sys/kernel/hostname || exit 125; n=$2; shift 2; '
    'while [ "$n" -gt 0 ]; do mount -n --bind "$1" "$2" || exit 125; shift 2; n=$((n - 1)); done; '
    'exec "$@"'
)

Bind = tuple[str, str]


@dataclass(frozen=True)
class HostFiles:
    """The private files of one host under ``<state dir>/<prefix>/<host>/``."""

    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def empty(self) -> Path:
        return self.root / "empty"

    def binds(self) -> list[Bind]:
        binds = []
        for name in ("hosts", "resolv.conf"):
            target = os.path.realpath(f"/etc/{name}")
            if not target.startswith("/run/"):
                binds.append((str(self.etc / name), target))
        # /run last: a /etc file that is a symlink into /run was written into the private /run instead.
        binds.append((str(self.run), "/run"))
        return binds


def prepare_host_files(home: Home, host: Host, root: Path) -> HostFiles:
    files = HostFiles(root)
    for path in (files.etc, files.run / "dbus", files.run / "avahi-daemon", files.empty):
        path.mkdir(parents=True, exist_ok=True)
    if Service.IPP_PRINTER in host.services:
        files.spool.mkdir(exist_ok=True)
    hosts = _hosts_file(home, host)
    resolv = f"nameserver {home.resolver}\noptions timeout:1 attempts:2\n"
    for name, text in (("hosts", hosts), ("resolv.conf", resolv)):
        (files.etc / name).write_text(text)
        target = os.path.realpath(f"/etc/{name}")
        if target.startswith("/run/"):
            inside = files.run / os.path.relpath(target, "/run")
            inside.parent.mkdir(parents=True, exist_ok=True)
            inside.write_text(text)
    return files


def wrap(netns: str, hostname: str, binds: Sequence[Bind], argv: Sequence[str]) -> list[str]:
    flat = [part for bind in binds for part in bind]
    return [
        "ip", "netns", "exec", netns,
        "unshare", "--mount", "--uts", "--propagation", "slave", "--",
        "sh", "-c", WRAPPER, "sh", hostname, str(len(binds)), *flat, *argv,
    ]  # fmt: skip


def _hosts_file(home: Home, host: Host) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    try:
        own = home.address(host.name)
    except LabConfigError:
        own = None  # a host without address still gets localhost
    if own is not None:
        lines.append(f"{own}\t{host.dns_name}.local {host.dns_name}")
    if Service.IPP_PRINTER in host.services:
        # ippeveprinter listens on every address its -n name resolves to and fails without an IPv6 one.
        lines.append(f"::\t{host.dns_name}.local")
    return "\n".join(lines) + "\n"
