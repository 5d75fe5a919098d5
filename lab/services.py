"""The daemons that make hosts into devices, and starting them in dependency order.

Each service is a real program (dnsmasq, dbus-daemon, avahi-daemon, ippeveprinter) or the lab's own
TV responder, run in its host's namespace with stdout and stderr in a log file under the lab's state
directory. A service is ready when its log shows a line proving it serves: start-up is a sequence of
such facts, never of fixed sleeps, and services that do not depend on each other start together.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .const import IPP_PORT, POLL_INTERVAL_S, READY_TIMEOUT_S
from .errors import ServiceError
from .hostfs import Bind, HostFiles
from .model import Home, Host, Service

if TYPE_CHECKING:
    from .lab import Lab

#: The repository root, so ``python -m lab.devices.tv`` works without the project being installed.
SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)

_AVAHI_CONF = """\
[server]
host-name={hostname}
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces={ifname}
enable-dbus=yes
# The default burst (1000 per second) is easy to hit when tests browse in a loop.
ratelimit-interval-usec=1000000
ratelimit-burst=10000

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no
publish-addresses=yes
publish-aaaa-on-ipv4=no

[reflector]
enable-reflector=no
"""


@dataclass(frozen=True)
class ServiceSpec:
    host: str
    name: str
    argv: tuple[str, ...]
    #: A regular expression that appears in the service's log once it serves.
    ready: str
    after: tuple[str, ...] = ()
    binds: tuple[Bind, ...] = ()
    files: tuple[tuple[Path, str], ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.host}/{self.name}"


@dataclass
class RunningService:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    log: Path
    #: Seconds from the start of :func:`start` until the service was seen ready.
    ready_s: float = 0.0


def plan(home: Home, files: Mapping[str, HostFiles]) -> list[ServiceSpec]:
    specs: list[ServiceSpec] = []
    for host in home.hosts:
        f = files[host.name]
        if Service.DNS in host.services:
            specs.append(_dnsmasq(home, host))
        if Service.AVAHI in host.services:
            specs += _avahi(home, host, f)
        if Service.IPP_PRINTER in host.services:
            specs.append(_printer(host, f))
        if Service.MEDIA_RENDERER in host.services:
            specs.append(_tv(home, host))
    return specs


def start(
    lab: Lab, specs: Sequence[ServiceSpec], *, timeout_s: float = READY_TIMEOUT_S
) -> list[RunningService]:
    """Start every service once those it comes after are ready; return when all are ready."""
    running: dict[str, RunningService] = {}
    ready: set[str] = set()
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        for spec in specs:
            if spec.key not in running and all(dep in ready for dep in spec.after):
                running[spec.key] = _launch(lab, spec)
        for key, svc in running.items():
            if key in ready:
                continue
            log = _read(svc.log)
            if re.search(svc.spec.ready, log, re.MULTILINE):
                ready.add(key)
                svc.ready_s = time.monotonic() - started
            elif svc.process.poll() is not None:
                raise ServiceError(f"{key} exited with {svc.process.returncode}: {_tail(log)}")
        if len(ready) == len(specs):
            return list(running.values())
        if time.monotonic() > deadline:
            late = [f"{k}: {_tail(_read(s.log))}" for k, s in running.items() if k not in ready]
            late += [s.key + ": never started" for s in specs if s.key not in running]
            raise ServiceError(f"not ready after {timeout_s} s: {'; '.join(late)}")
        time.sleep(POLL_INTERVAL_S)


def _launch(lab: Lab, spec: ServiceSpec) -> RunningService:
    for path, text in spec.files:
        path.write_text(text)
    log = lab.log_path(f"{spec.host}.{spec.name}")
    with log.open("ab") as out:
        proc = lab.popen(
            spec.host, spec.argv, stdout=out, stderr=subprocess.STDOUT, binds=spec.binds, env=spec.env
        )
    return RunningService(spec, proc, log)


def _dnsmasq(home: Home, host: Host) -> ServiceSpec:
    argv = [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        # Authoritative for the records below and nothing else: no upstream, no /etc/hosts.
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        f"--listen-address={home.resolver}",
        "--pid-file=",
        "--user=root",
        "--log-facility=-",
        "--log-queries",
        *(f"--host-record={name},{ip}" for name, ip in sorted(home.dns_records.items())),
    ]
    return ServiceSpec(host.name, "dnsmasq", tuple(argv), ready=r"started, version")


def _avahi(home: Home, host: Host, files: HostFiles) -> list[ServiceSpec]:
    lan_links = [lk for lk in home.links_of(host.name) if lk.on_lan] or list(home.links_of(host.name))
    conf = files.etc / "avahi-daemon.conf"
    text = _AVAHI_CONF.format(hostname=host.dns_name, ifname=lan_links[0].ifname)
    dbus = ServiceSpec(
        host.name,
        "dbus",
        ("dbus-daemon", "--system", "--nofork", "--nopidfile", "--print-address"),
        ready=r"unix:path=",
    )
    avahi = ServiceSpec(
        host.name,
        "avahi",
        ("avahi-daemon", "-f", str(conf), "--no-chroot", "--no-drop-root", "--no-rlimits"),
        ready=r"Server startup complete",
        after=(dbus.key,),
        # Static services of the machine (/etc/avahi/services) are not this device's: hide them.
        binds=((str(files.empty), "/etc/avahi/services"),) if Path("/etc/avahi/services").is_dir() else (),
        files=((conf, text),),
    )
    return [dbus, avahi]


def _printer(host: Host, files: HostFiles) -> ServiceSpec:
    argv = (
        "ippeveprinter",
        "-v",
        "-p",
        str(IPP_PORT),
        "-n",
        f"{host.dns_name}.local",
        "-d",
        str(files.spool),
        "-k",
        "-M",
        host.make or "Test",
        "-m",
        host.model or "Printer",
        "-f",
        "application/pdf,image/pwg-raster,image/urf",
        "-r",
        "_print",
        host.label or host.name,
    )
    return ServiceSpec(host.name, "printer", argv, ready=r"^printer-uuid=", after=(f"{host.name}/avahi",))


def _tv(home: Home, host: Host) -> ServiceSpec:
    mac = home.mac(host.name) or "00:00:00:00:00:00"
    argv = (
        sys.executable,
        "-m",
        "lab.devices.tv",
        "--address",
        home.address(host.name),
        "--hostname",
        host.dns_name,
        "--name",
        host.label or host.name,
        "--manufacturer",
        host.make or "Generic",
        "--model",
        host.model or "TV",
        "--mac",
        mac,
    )
    return ServiceSpec(host.name, "tv", argv, ready=r"^ready", env={"PYTHONPATH": SOURCE_ROOT})


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"
