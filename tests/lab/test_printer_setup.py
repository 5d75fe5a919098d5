"""Premium remote setup (issue 8): a CSR adds the lab's printer to the PC's CUPS, only with consent.

Everything is real: the cloud in the ISP namespace, the agent on the PC, a CUPS scheduler of the
PC's own, and the test page landing in ippeveprinter's spool on the printer host.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from lab import IPP_PORT, IPP_RESOURCE, Lab

from .cups import cupsd
from .helpers import need
from .stack import LabStack, lab_stack

pytestmark = pytest.mark.lab


def _spooled(home: Lab) -> list[Path]:
    spool = Path(home.describe()["state_dir"]) / "printer" / "spool"
    return sorted(p for p in spool.iterdir() if p.is_file())


def _printing_logs(home: Lab, sock: Path) -> str:
    """What CUPS on the PC and ippeveprinter said, for a test page that did not arrive."""
    lab_logs = Path(home.describe()["state_dir"]) / "logs"
    logs = [sock.parent / "log" / "error_log", *sorted(lab_logs.glob("*.printer*.log"))]
    told = [f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists()]
    return "\n".join([*told, f"spool: {', '.join(p.name for p in _spooled(home))}"])


def _consent(stack: LabStack, agent_id: str) -> bool | None:
    """The remote-assistance state the cloud last heard from the agent (without sending anything)."""
    latest = stack.get(f"/api/v1/agents/{agent_id}/telemetry/latest")["probes"].get("consent")
    return None if latest is None else bool(latest["data"]["active"])


def _send(stack: LabStack, agent_id: str, uri: str) -> tuple[int, dict[str, Any]]:
    # The test page may take a while to print on a busy machine: the command lives long enough.
    body = {"name": "add_printer", "params": {"uri": uri, "name": "office_printer"}, "ttl_s": 300}
    return stack.post(f"/api/v1/agents/{agent_id}/commands", body)


def test_add_printer_needs_consent_and_then_prints_a_test_page(home: Lab, tmp_path: Path) -> None:
    need("cupsd", "lpadmin", "lp")
    uri = f"ipp://{home.address('printer')}:{IPP_PORT}{IPP_RESOURCE}"
    with cupsd(home, "pc") as sock, lab_stack(home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", {"netdev": {"interval_s": 5}}, env={"CUPS_SERVER": str(sock)})
        stack.wait("the agent online", lambda: stack.get(f"/api/v1/agents/{agent_id}")["online"])
        setup = stack.get(f"/api/v1/printer-setup?uri={uri}&name=office_printer")
        assert setup["driverless"] and any(uri in step for step in setup["steps"]["linux"])
        assert setup["remote"] == {
            "command": "add_printer",
            "params": {"uri": uri, "name": "office_printer"},
            "needs": setup["remote"]["needs"],
        }
        code, reply = _send(stack, agent_id, uri)
        assert code == 403, reply  # no remote-assistance session: refused before anything is sent
        before = _spooled(home)

        stack.agent_cli("pc", "consent", "grant", "--minutes", "10")
        stack.wait("the cloud to learn of the consent", lambda: _consent(stack, agent_id) is True)
        code, sent = _send(stack, agent_id, uri)
        assert code == 202, sent
        final = stack.wait(
            "the printer to be set up",
            lambda: (c := stack.get(f"/api/v1/commands/{sent['command_id']}"))["state"] == "complete" and c,
            timeout_s=240,
        )
        data = final["result"]
        assert data["Status"] == "Complete", data
        assert data["DeviceURI"] == uri and data["TestPageState"] == "completed"
        # The job has left the PC; the printer writes it to its spool as it processes it.
        try:
            new = stack.wait(
                "the test page in the printer's spool", lambda: [p for p in _spooled(home) if p not in before]
            )
        except AssertionError as missing:
            raise AssertionError(f"{missing}\n{_printing_logs(home, sock)}") from None
        assert len(new) == 1 and new[0].read_bytes().startswith(b"%PDF"), new
        queues = stack.home.exec("pc", ["lpstat", "-v"], env={"CUPS_SERVER": str(sock)}).stdout
        assert f"office_printer: {uri}" in queues

        stack.agent_cli("pc", "consent", "revoke")
        stack.wait("the cloud to learn of the revocation", lambda: _consent(stack, agent_id) is False)
        assert _send(stack, agent_id, uri)[0] == 403
        time.sleep(1)
        assert [p for p in _spooled(home) if p not in before] == new, "nothing printed after revocation"

        audit = stack.get(f"/api/v1/audit?agent_id={agent_id}")
        mine = [a for a in audit if a["details"].get("name") == "add_printer" or a["action"] == "add_printer"]
        assert any(a["outcome"] == "sent" for a in mine)
        assert sum(a["outcome"].startswith("refused") for a in mine) >= 2
        ids = [a["details"]["command_id"] for a in audit if a["details"].get("command_id")]
        assert len(ids) == len(set(ids)), "each command audited exactly once"
