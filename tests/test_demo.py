"""The README's demo command works: a cloud, an enrolled agent, telemetry in the API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab.pytest_plugin import require_lab
from tests.support import ROOT


@pytest.mark.parametrize(
    "mode",
    [pytest.param([], marks=pytest.mark.lab, id="virtual-home"), pytest.param(["--no-lab"], id="loopback")],
)
def test_demo_runs_and_reports(tmp_path: Path, mode: list[str]) -> None:
    if not mode:
        require_lab()
    # Exactly the README's command (./dev demo), so a broken entry point cannot hide behind the module.
    result = subprocess.run(
        [str(ROOT / "dev"), "demo", "--dir", str(tmp_path / "demo"), "--duration", "0", *mode],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "is online and reporting" in result.stdout
    assert "/api/v1/agents/" in result.stdout
    assert "demo stopped" in result.stdout
    # The console, with a login per kind of user of operator "demo".
    assert "/console/" in result.stdout
    for role in ("csr", "technician", "supervisor", "subscriber"):
        assert f"    {role}" in result.stdout, role
    assert ("virtual home" in result.stdout and "is up" in result.stdout) == (not mode)
    assert "exec --prefix" in result.stdout if not mode else "running on loopback only" in result.stdout
