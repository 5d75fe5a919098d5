"""Building and removing a home leaves nothing behind, even when its owner is SIGKILLed mid-build.

"Nothing" is checked from outside the lab: `ip netns list`, `ip link` in the root namespace,
/proc/self/mountinfo, the process table and the state directory.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import Lab, default_home
from lab.pytest_plugin import KNOB_TOOLS, require_lab
from lab.state import state_dir

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@dataclass(frozen=True)
class Snapshot:
    root_links: frozenset[str]
    mounts: frozenset[str]


def _root_links() -> frozenset[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return frozenset(line.split(":")[1].strip() for line in out.splitlines())


def _mount_points() -> frozenset[str]:
    with open("/proc/self/mountinfo") as info:
        return frozenset(line.split()[4] for line in info)


def snapshot() -> Snapshot:
    return Snapshot(_root_links(), _mount_points())


def _live_marked_processes(prefix: str) -> list[str]:
    """Live (not zombie) processes that belong to the lab: by environment marker or by argument."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if state in ("Z", "X"):
            continue
        if f"HOMEDIAG_LAB={prefix}".encode() in environ or f"/{prefix}/" in cmdline:
            found.append(f"{entry.name} {cmdline.strip()}")
    return found


def leftovers(prefix: str, before: Snapshot) -> list[str]:
    problems = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    problems += [
        f"namespace {line.split()[0]}" for line in netns.splitlines() if line.startswith(f"{prefix}-")
    ]
    problems += [f"root link {name}" for name in _root_links() - before.root_links]
    # `ip netns add` bind-mounts /run/netns onto itself the first time it is used on a machine: not ours.
    problems += [f"mount {m}" for m in _mount_points() - before.mounts if m != "/run/netns"]
    problems += [
        f"mount {line.strip()}"
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if prefix in line
    ]
    problems += [f"process {p}" for p in _live_marked_processes(prefix)]
    problems += [f"file {p}" for p in state_dir().glob(f"{prefix}*")]
    return problems


@pytest.fixture
def lab_ready() -> None:
    require_lab(default_home(), KNOB_TOOLS)


@pytest.mark.usefixtures("lab_ready")
def test_build_and_teardown_twice_leave_nothing() -> None:
    for _ in range(2):
        before = snapshot()
        with Lab() as lab:
            lab.impair("pc", delay_ms=5)  # a knob's process and rule must go too
            while_up = leftovers(lab.prefix, before)
            assert any(p.startswith("namespace") for p in while_up)
            assert any(p.startswith("process") for p in while_up)  # the checker sees what it must
        assert leftovers(lab.prefix, before) == []


def _start_up(prefix: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        argv = [sys.executable, "-m", "lab", "up", "--prefix", prefix]
        return subprocess.Popen(argv, stdout=out, stderr=out, env=ENV, cwd=ROOT)


def _wait_for(path: Path, text: str | None, proc: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        if path.exists() and (text is None or text in path.read_text()):
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} never showed {text!r}")


def _cli(*args: str) -> str:
    argv = [sys.executable, "-m", "lab", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=ROOT, check=True).stdout


@pytest.mark.usefixtures("lab_ready")
@pytest.mark.parametrize(
    ("sig", "moment"),
    [(signal.SIGINT, "mid-build"), (signal.SIGTERM, "ready")],
    ids=["sigint-mid-build", "sigterm-ready"],
)
def test_ctrl_c_or_sigterm_tear_the_lab_down(tmp_path: Path, sig: signal.Signals, moment: str) -> None:
    before = snapshot()
    prefix = f"hd{secrets.token_hex(3)}"
    log = tmp_path / "up.log"
    up = _start_up(prefix, log)
    try:
        if moment == "ready":
            _wait_for(log, f"lab {prefix} up in", up)
        else:
            _wait_for(state_dir() / prefix / "logs" / "tv.tv.log", None, up)
        up.send_signal(sig)
        assert up.wait(timeout=15) == 0, log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
    assert f"{sig.name}: tearing lab {prefix} down" in log.read_text()
    assert leftovers(prefix, before) == []


@pytest.mark.usefixtures("lab_ready")
def test_sigkill_mid_build_then_sweep_leaves_nothing(tmp_path: Path) -> None:
    before = snapshot()
    prefix = f"hd{secrets.token_hex(3)}"
    up = _start_up(prefix, tmp_path / "up.log")
    try:
        # Midway: the namespaces exist and the devices are starting, but the home is not ready yet.
        _wait_for(state_dir() / prefix / "logs" / "tv.tv.log", None, up)
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
    finally:
        if up.poll() is None:
            up.kill()
    assert any(p.startswith("namespace") for p in leftovers(prefix, before))
    (record,) = [r for r in json.loads(_cli("status", "--json")) if r["prefix"] == prefix]
    assert record["owner_alive"] is False
    assert f"swept {prefix}" in _cli("sweep")
    assert leftovers(prefix, before) == []
