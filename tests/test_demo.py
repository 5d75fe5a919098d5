"""The README's demo command works: a cloud, an enrolled agent, telemetry in the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def test_demo_runs_and_reports(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lab.demo", "--dir", str(tmp_path / "demo"), "--duration", "0"],
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
