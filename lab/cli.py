"""``homediag-lab``: build the virtual home, run commands in it, tear it down, sweep up after crashes.

    homediag-lab up [--prefix hdXXXXXX] [--home home.toml] [--json]   # foreground; Ctrl-C tears down
    homediag-lab exec [--prefix P] HOST -- CMD ...                      # run CMD inside HOST
    homediag-lab status [--json]
    homediag-lab down [PREFIX | --all]                                  # asks the owner, else removes
    homediag-lab sweep                                                  # labs whose owner died

``up`` stays in the foreground and owns the lab; it also writes a state record, so ``status``, ``exec``
and ``down`` work from any other shell.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from .cleanup import remove_lab, sweep
from .const import DOWN_WAIT_S, LAB_ENV, LAB_HOST_ENV, POLL_INTERVAL_S
from .errors import LabError, LabStateError
from .hostfs import HostFiles, wrap
from .lab import Lab
from .loader import load_home
from .state import LabRecord, lab_dir, list_records, read_record, record_path

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_CHILD_SUBREAPER = 36


class _Stop(Exception):
    """A stop signal arrived: unwind, tearing the lab down on the way."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="homediag-lab", description="A virtual home in network namespaces.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build the home and keep it until Ctrl-C or SIGTERM")
    up.add_argument("--prefix", help="namespace prefix (hd + 6 hex digits); random by default")
    up.add_argument("--home", help="TOML or JSON home description; the default home otherwise")
    up.add_argument("--json", action="store_true", help="print the lab's description as JSON when ready")
    ex = sub.add_parser("exec", help="run a command inside a host of a running lab")
    ex.add_argument("--prefix", help="which lab, when several are up")
    ex.add_argument("host")
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    st = sub.add_parser("status", help="list the labs on this machine")
    st.add_argument("--json", action="store_true")
    down = sub.add_parser("down", help="tear a lab down (asks its owner first)")
    down.add_argument("prefix", nargs="?")
    down.add_argument("--all", action="store_true", help="every lab, including ones in use by other runs")
    sub.add_parser("sweep", help="remove labs whose owner process is dead")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "exec":
            return _exec(args)
        if args.command == "status":
            return _status(args)
        if args.command == "down":
            return _down(args)
        return _sweep()
    except LabError as exc:
        print(f"homediag-lab: {exc}", file=sys.stderr)
        return 1


def _up(args: argparse.Namespace) -> int:
    _become_subreaper()
    home = load_home(args.home) if args.home else None
    lab = Lab(home, prefix=args.prefix)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # Teardown must not be interrupted by a second Ctrl-C: ignore the rest from now on.
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise _Stop(signal.Signals(signum).name)

    for sig in _STOP_SIGNALS:
        signal.signal(sig, on_signal)
    _say(f"building lab {lab.prefix} (state in {lab.dir})")
    try:
        lab.up()
        if args.json:
            print(json.dumps(lab.describe(), indent=2), flush=True)
        else:
            print(_summary(lab.describe(), lab.timings["up_s"]), flush=True)
        while True:
            signal.pause()
    except _Stop as stop:
        _say(f"{stop}: tearing lab {lab.prefix} down")
        return 0
    finally:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        lab.down()
        _say(f"lab {lab.prefix} removed in {lab.timings.get('down_s', 0):.2f} s")


def _exec(args: argparse.Namespace) -> int:
    record = _pick(args.prefix)
    hosts: dict[str, Any] = record.description.get("hosts", {})
    if args.host not in hosts:
        raise LabStateError(f"lab {record.prefix} has no host {args.host!r} (have {', '.join(hosts)})")
    argv = list(args.argv[1:] if args.argv[:1] == ["--"] else args.argv) or ["sh"]
    host = hosts[args.host]
    files = HostFiles(lab_dir(record.prefix) / args.host)
    command = wrap(host["netns"], host["hostname"], files.binds(), argv)
    env = {**os.environ, LAB_ENV: record.prefix, LAB_HOST_ENV: args.host}
    return subprocess.run(command, env=env, check=False).returncode


def _status(args: argparse.Namespace) -> int:
    records = list_records()
    if args.json:
        print(json.dumps([_record_json(r) for r in records], indent=2))
        return 0
    if not records:
        print("no lab on this machine")
    for record in records:
        state = "up" if record.owner_alive() else "STALE (owner gone: run `homediag-lab sweep`)"
        age = time.time() - record.created_at
        print(f"{record.prefix}  owner pid {record.owner_pid}  {state}  age {age:.0f} s")
        if record.description:
            print(_summary(record.description, None))
    return 0


def _down(args: argparse.Namespace) -> int:
    records = list_records() if args.all else [_pick(args.prefix)]
    for record in records:
        if record.owner_alive() and record.owner_pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.owner_pid, signal.SIGTERM)
            deadline = time.monotonic() + DOWN_WAIT_S
            while record_path(record.prefix).exists() and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL_S * 5)
        if record_path(record.prefix).exists():
            remove_lab(record.prefix, list(record.namespaces))
        print(f"lab {record.prefix} removed")
    return 0


def _sweep() -> int:
    removals = sweep()
    for removal in removals:
        print(
            f"swept {removal.prefix}: {len(removal.namespaces)} namespaces, "
            f"{removal.killed} stray processes"
            + (f", survivors {removal.survivors}" if removal.survivors else "")
        )
    if not removals:
        print("nothing to sweep")
    return 0


def _pick(prefix: str | None) -> LabRecord:
    if prefix:
        return read_record(prefix)
    records = list_records()
    if not records:
        raise LabStateError("no lab on this machine")
    if len(records) != 1:
        names = ", ".join(r.prefix for r in records) or "none"
        raise LabStateError(f"{len(records)} labs on this machine ({names}): name one with --prefix / PREFIX")
    return records[0]


def _record_json(record: LabRecord) -> dict[str, Any]:
    return {
        "prefix": record.prefix,
        "owner_pid": record.owner_pid,
        "owner_alive": record.owner_alive(),
        "created_at": record.created_at,
        "namespaces": list(record.namespaces),
        "description": record.description,
    }


def _summary(desc: dict[str, Any], up_s: float | None) -> str:
    lines = []
    if up_s is not None:
        lines.append(f"lab {desc['prefix']} up in {up_s:.1f} s")
    lines.append(f"  {'host':8} {'netns':16} {'address':14} {'mac':18} services")
    for name, host in desc["hosts"].items():
        services = ",".join(host["services"]) or "-"
        address = host["address"] or "-"
        lines.append(f"  {name:8} {host['netns']:16} {address:14} {host['mac'] or '-':18} {services}")
    records = ", ".join(f"{n} -> {ip}" for n, ip in desc["dns_records"].items())
    lines.append(f"  resolver {desc['resolver']} (in isp): {records}")
    lines.append(f"  run inside a host: homediag-lab exec --prefix {desc['prefix']} pc -- CMD")
    return "\n".join(lines)


def _say(message: str) -> None:
    print(f"homediag-lab: {message}", file=sys.stderr, flush=True)


def _become_subreaper() -> None:
    """Orphans of the lab's daemons come back to us to be reaped, rather than to a PID 1 that may not."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
