"""The state directory and the SQLite database are the cloud user's alone, whoever makes them first.

Only ``api-token`` used to create the state directory 0700: made by ``migrate``, ``pairing-code``,
``broker-config`` or ``serve`` (SQLAlchemy's ``mkdir`` and SQLite's ``open`` under umask 022), it came
out 0755 with ``homediag.sqlite`` 0644, every subscriber's data readable by every local user.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

UMASK = 0o022


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _run(argv: list[str], cwd: Path) -> str:
    """Run ``argv`` as an operator would, under the usual umask; returns its standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEDIAG_")}
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=cwd, umask=UMASK, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _cli(state: Path, *args: str) -> None:
    db = f"sqlite:///{state / 'homediag.sqlite'}"
    argv = [sys.executable, "-m", "cloud", "--state-dir", str(state), "--db", db, *args]
    _run(argv, next(p for p in state.parents if p.exists()))


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["pairing-code"], ["broker-config", "--listen", "127.0.0.1", "--out"]],
    ids=lambda c: c[0],
)
def test_a_state_directory_made_by_any_command_is_private(tmp_path: Path, command: list[str]) -> None:
    state = tmp_path / "lib" / "homediag-cloud"  # its parent is missing too
    if command[0] == "broker-config":
        command = [*command, str(tmp_path / "broker")]
    _cli(state, *command)
    assert _mode(state) == 0o700
    assert _mode(state.parent) == 0o700
    assert _mode(state / "homediag.sqlite") == 0o600
    if command[0] == "broker-config":
        assert _mode(state / "pki") == 0o700
        assert _mode(state / "pki" / "ca-key.pem") == 0o600


def test_the_databases_wal_and_shm_files_are_private_too(tmp_path: Path) -> None:
    """What `serve` does: an engine, the migrations, then writes while the -wal and -shm files exist."""
    db = tmp_path / "state" / "homediag.sqlite"
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from sqlalchemy import text
from cloud.storage import make_engine, migrate
engine = make_engine({f"sqlite:///{db}"!r})
migrate(engine)
with engine.begin() as connection:
    connection.execute(text("CREATE TABLE scratch (x)"))
    for suffix in ("", "-wal", "-shm"):
        print(suffix or "db", oct(os.stat({str(db)!r} + suffix).st_mode & 0o777))
engine.dispose()
"""
    modes = dict(line.split() for line in _run([sys.executable, "-c", script], tmp_path).splitlines())
    assert modes == {"db": "0o600", "-wal": "0o600", "-shm": "0o600"}
    assert _mode(db.parent) == 0o700


def test_a_directory_the_operator_made_keeps_its_mode(tmp_path: Path) -> None:
    """Shared with a backup group, say: the cloud does not chmod it, but its database is still 0600."""
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o750)
    _cli(state, "migrate")
    assert _mode(state) == 0o750
    assert _mode(state / "homediag.sqlite") == 0o600
