"""The subscriber reads what operator tools did on the device: ``homediag-agent controllers`` puts the
USP audit into sentences, without loading protobuf."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.usp.audit import Audit


async def _record(state: Path) -> None:
    audit = Audit(state)
    await audit.record("os::00D0F2-1", "get", "ok", paths=["Device.Hosts.Host."])
    await audit.record(
        "os::00D0F2-1", "operate", "started", command="Device.IP.Diagnostics.IPPing()",
        input_args={"Host": "10.213.0.20"},
    )  # fmt: skip
    await audit.record("os::00D0F2-1", "operate", "complete", command="Device.IP.Diagnostics.IPPing()")
    await audit.record(
        "os::00D0F2-1", "operate", "refused", code=7006, command="Device.X_HOMEDIAG-DEV_SupportBundle()",
        reason="this command needs a remote-assistance session the subscriber approved on the device",
    )  # fmt: skip
    await audit.record("os::00D0F2-1", "get", "refused", code=7026, paths=["Device.NoSuch."])


async def test_every_controller_action_is_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _record(tmp_path)
    assert main(["--state-dir", str(tmp_path), "controllers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert lines[0].endswith("os::00D0F2-1 read the list of devices in your home.")
    assert lines[1].endswith("os::00D0F2-1 started a ping test to 10.213.0.20.")
    assert lines[2].endswith("os::00D0F2-1 finished a ping test.")
    assert (
        "support bundle; it was refused: it needs your permission first (homediag-agent consent grant)"
        in lines[3]
    )
    assert "it was refused: it asked for something this agent does not have" in lines[4]
    assert not any("Device." in line or "7006" in line for line in lines), "no paths or codes for people"


async def test_json_and_an_empty_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--state-dir", str(tmp_path), "controllers"]) == 0
    assert "No management tool" in capsys.readouterr().out
    await _record(tmp_path)
    assert main(["--state-dir", str(tmp_path), "controllers", "--json"]) == 0
    assert [e["outcome"] for e in json.loads(capsys.readouterr().out)][:3] == ["ok", "started", "complete"]


def test_reading_the_audit_loads_no_protobuf() -> None:
    code = "import sys, agent.usp.audit; print(any(m.startswith('google.protobuf') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
