"""The lab: a home built in network namespaces, with its processes, knobs and guaranteed teardown.

    with Lab() as lab:                                   # builds the default home, tears it down on exit
        lab.exec("pc", ["dig", "+short", "cloud.homediag.test"])
        broker = lab.popen("isp", ["mosquitto", "-c", conf])
        lab.impair("pc", delay_ms=40)

Teardown runs on normal exit, on exceptions, and (through the CLI's signal handlers) on Ctrl-C and
SIGTERM; a run killed with SIGKILL leaves a record whose dead owner lets ``sweep`` remove the rest.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from . import prereqs, services, topology
from .cleanup import remove_lab
from .commands import ip_batch, run
from .const import COMMAND_TIMEOUT_S, LAB_ENV, LAB_HOST_ENV, LAN_NS, PREFIX_RE, STOP_GRACE_S
from .defaults import default_home
from .errors import CommandError, LabConfigError, LabStateError
from .hostfs import Bind, HostFiles, prepare_host_files, wrap
from .impair import Impairment, ImpairmentState, apply_impairment, clear_impairment
from .model import Home
from .processes import ProcessTable
from .state import LabRecord, lab_dir, new_prefix, read_record, write_record
from .traffic import IperfResult, clear_wan_limit, limit_wan, run_iperf

Stream = int | IO[Any] | None


class Lab:
    """A virtual home. Build it with :meth:`up` (or ``with``), remove it with :meth:`down`."""

    def __init__(self, home: Home | None = None, *, prefix: str | None = None) -> None:
        self.home = (home or default_home()).validate()
        if prefix is not None and not PREFIX_RE.match(prefix):
            raise LabConfigError(f"prefix {prefix!r} must be 'hd' and 6 hex digits")
        self.prefix = prefix or new_prefix()
        #: Seconds spent in each build phase, for the benchmarks.
        self.timings: dict[str, float] = {}
        self._procs = ProcessTable()
        self._files: dict[str, HostFiles] = {}
        self._impairments: dict[str, ImpairmentState] = {}
        self._built = False
        self._removed = False
        self._next_port = 0

    # -- life cycle -------------------------------------------------------------------------------

    def up(self) -> Lab:
        if self._built:
            raise LabStateError(f"lab {self.prefix} is already up")
        prereqs.check(self.home)
        self._claim_prefix()
        self._removed = False
        started = time.monotonic()
        try:
            write_record(LabRecord.for_this_process(self.prefix, tuple(self.namespaces), self.describe()))
            self.dir.mkdir(mode=0o700)
            (self.dir / "logs").mkdir()
            for host in self.home.hosts:
                self._files[host.name] = prepare_host_files(self.home, host, self.dir / host.name)
            topology.build(self.home, self.netns)
            self.timings["network_s"] = time.monotonic() - started
            for svc in services.start(self, services.plan(self.home, self._files)):
                self.timings[f"ready_s:{svc.spec.key}"] = svc.ready_s
            self.timings["services_s"] = time.monotonic() - started - self.timings["network_s"]
        except BaseException:
            self.down()
            raise
        self._built = True
        self.timings["up_s"] = time.monotonic() - started
        return self

    def down(self) -> None:
        """Stop every process, delete every namespace and file of this lab. Idempotent."""
        if self._removed:
            return
        started = time.monotonic()
        self._impairments.clear()
        self._procs.stop_all()
        remove_lab(self.prefix, self.namespaces)
        self._built = False
        self._removed = True
        self.timings["down_s"] = time.monotonic() - started

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    @property
    def is_up(self) -> bool:
        return self._built

    def _claim_prefix(self) -> None:
        """Refuse a prefix in use; clear what a dead run may have left under it."""
        try:
            record: LabRecord | None = read_record(self.prefix)
        except LabStateError:
            record = None
        if record is not None and record.owner_alive():
            raise LabStateError(f"lab {self.prefix} is in use by pid {record.owner_pid}")
        remove_lab(self.prefix, list(record.namespaces) if record else None)

    # -- names and addresses ----------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        return lab_dir(self.prefix)

    def netns(self, host: str) -> str:
        """The namespace of a host (or of the switch, ``"lan"``)."""
        if host != LAN_NS:
            self.home.host(host)
        return f"{self.prefix}-{host}"

    @property
    def namespaces(self) -> list[str]:
        return topology.namespaces(self.home, self.netns)

    def address(self, host: str) -> str:
        return self.home.address(host)

    def _address_or_none(self, host: str) -> str | None:
        try:
            return self.home.address(host)
        except LabConfigError:
            return None

    def log_path(self, name: str) -> Path:
        """A fresh log file for one process: a restarted service must not find its predecessor's lines."""
        path = self.dir / "logs" / f"{name}.log"
        serial = 1
        while path.exists():
            serial += 1
            path = self.dir / "logs" / f"{name}.{serial}.log"
        path.touch()
        return path

    def describe(self) -> dict[str, Any]:
        """Everything another process needs to use this lab (written to the state record)."""
        hosts = {}
        for host in self.home.hosts:
            links = self.home.links_of(host.name)
            hosts[host.name] = {
                "netns": self.netns(host.name),
                "address": self._address_or_none(host.name),
                "mac": links[0].mac if links else None,
                "hostname": host.dns_name,
                "services": sorted(host.services),
                "loopback": list(host.loopback),
                "vendor": host.vendor,
                "label": host.label,
            }
        wan = self.home.wan_link
        return {
            "prefix": self.prefix,
            "state_dir": str(self.dir),
            "resolver": self.home.resolver,
            "dns_records": dict(self.home.dns_records),
            "wan": None if wan is None else {"router": wan.host, "ifname": wan.ifname, "peer": wan.peer},
            "hosts": hosts,
        }

    # -- processes --------------------------------------------------------------------------------

    def command(self, host: str, argv: Sequence[str], *, binds: Sequence[Bind] = ()) -> list[str]:
        """The argv that runs ``argv`` inside ``host`` with its private /etc/hosts, resolv.conf and /run.

        For callers that spawn on their own (``asyncio.create_subprocess_exec``, with ``env=lab.env(host)``
        so the process carries the lab's marker); such processes are not tracked, but teardown still
        kills them because they run in the host's namespace.
        """
        files = self._files.get(host)
        if files is None:
            raise LabStateError(f"lab {self.prefix} has no host {host!r} up")
        name = self.home.host(host).dns_name
        return wrap(self.netns(host), name, [*files.binds(), *binds], argv)

    def env(self, host: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, LAB_ENV: self.prefix, LAB_HOST_ENV: host, **(extra or {})}

    def exec(
        self,
        host: str,
        argv: Sequence[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout_s: float = COMMAND_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion inside ``host``; raise CommandError on failure when ``check``."""
        return run(
            self.command(host, argv),
            check=check,
            input_text=input_text,
            timeout_s=timeout_s,
            env=self.env(host, env),
        )

    def popen(
        self,
        host: str,
        argv: Sequence[str],
        *,
        stdin: Stream = subprocess.DEVNULL,
        stdout: Stream = None,
        stderr: Stream = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        binds: Sequence[Bind] = (),
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process inside ``host``; the lab stops it on teardown."""
        try:
            proc = subprocess.Popen(
                self.command(host, argv, binds=binds),
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                env=self.env(host, env),
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise CommandError(list(argv), -1, "", str(exc)) from exc
        return self._procs.add(proc)

    def stop(self, proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, then SIGKILL after ``grace_s``; returns the exit status."""
        return self._procs.stop(proc, grace_s)

    # -- knobs ------------------------------------------------------------------------------------

    def impair(
        self,
        host: str,
        *,
        delay_ms: float = 0,
        jitter_ms: float = 0,
        loss_pct: float = 0,
        ifname: str | None = None,
    ) -> None:
        """Delay, jitter and drop what ``host`` sends on its first link (or on ``ifname``), like netem.

        ``impair("gw", ifname="wan0", ...)`` impairs the WAN: what the home sends to the ISP. One
        impairment per host at a time.
        """
        self.clear_impairment(host)
        impairment = Impairment(delay_ms=delay_ms, jitter_ms=jitter_ms, loss_pct=loss_pct).validated()
        self._impairments[host] = apply_impairment(self, host, impairment, ifname)

    def clear_impairment(self, host: str) -> None:
        state = self._impairments.pop(host, None)
        if state is not None:
            clear_impairment(self, state)

    def limit_wan(self, rate_mbit: float, *, up_mbit: float | None = None) -> None:
        """Cap the WAN link with tbf: ``rate_mbit`` down (ISP to home), ``up_mbit`` up (default: same)."""
        limit_wan(self, rate_mbit, rate_mbit if up_mbit is None else up_mbit)

    def clear_wan_limit(self) -> None:
        clear_wan_limit(self)

    def iperf(
        self, src: str, dst: str, nbytes: int, *, src_address: str | None = None, timeout_s: float = 60.0
    ) -> IperfResult:
        """Move exactly ``nbytes`` of TCP payload from ``src`` to ``dst`` with iperf3 (see lab.traffic).

        ``nbytes`` needs a divisor between 1000 and 128 KiB (any multiple of 1000 has one): iperf3
        sends whole blocks.
        """
        self._next_port += 1
        return run_iperf(
            self,
            src,
            dst,
            nbytes,
            src_address=src_address or self.address(src),
            port_offset=self._next_port,
            timeout_s=timeout_s,
        )

    def reset(self) -> None:
        """Undo every knob: no impairment, no WAN limit, every host plugged in."""
        for name in list(self._impairments):
            self.clear_impairment(name)
        self.clear_wan_limit()
        for host in self.home.hosts:
            self.host_up(host.name)

    def host_down(self, name: str) -> None:
        """Unplug every cable of ``name`` at the far end (the switch port, or the peer's veth)."""
        self._set_links(name, up=False)

    def host_up(self, name: str) -> None:
        self._set_links(name, up=True)

    def _set_links(self, name: str, *, up: bool) -> None:
        self.home.host(name)
        state = "up" if up else "down"
        for link in self.home.links:
            if link.host == name:
                far_ns, far_if = (LAN_NS if link.on_lan else link.peer), link.peer_end
            elif link.peer == name:
                far_ns, far_if = link.host, link.ifname
            else:
                continue
            ip_batch([f"link set {far_if} {state}"], netns=self.netns(far_ns))
