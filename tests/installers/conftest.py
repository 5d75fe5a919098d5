"""Fixtures of the installer tests: an offline wheelhouse and a throw-away system root."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.installers.sandbox import SystemRoot
from tests.installers.wheelhouse import make_wheelhouse

#: What the Linux installer test runs; ./dev installs every one of them on Debian (DEBS).
LINUX_TOOLS = ("useradd", "userdel", "groupdel", "setpriv", "unshare", "systemd-analyze", "nologin")


def require(ok: bool, reason: str) -> None:
    """Skip when something the test needs is missing, except on CI, where it must run."""
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the installer tests must run, not skip)")
    pytest.skip(reason)


def linux_ready() -> None:
    require(os.geteuid() == 0, "the Linux installer test creates users and mounts: it needs root")
    missing = [tool for tool in LINUX_TOOLS if shutil.which(tool) is None]
    require(not missing, f"missing tools: {', '.join(missing)} (./dev test installs them as root)")
    venv_ok = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"],
        capture_output=True,
        check=False,
    )
    require(venv_ok.returncode == 0, "/usr/bin/python3 (>= 3.11, with python3-venv) is needed")


@pytest.fixture(scope="session")
def wheelhouse() -> Iterator[tuple[Path, dict[str, Path]]]:
    """(directory, name -> wheel) built once per session without any index."""
    linux_ready()
    directory = Path(tempfile.mkdtemp(prefix="homediag-wheels-"))
    try:
        wheels = make_wheelhouse(directory)
        yield directory, wheels
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def system_root() -> Iterator[SystemRoot]:
    linux_ready()
    root = SystemRoot()
    try:
        yield root
    finally:
        root.cleanup()
