"""A CSR's diagnostics through the API, answered by an agent in the virtual home (issue 8).

Each result is checked against the lab's own ground truth (addresses, DNS records, the printer's
make and model), and the live event stream must show the command running before its result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab import CLOUD_ADDRESS, CLOUD_NAME, IPP_PORT, IPP_RESOURCE, Lab

from .stack import LabStack, lab_stack

pytestmark = pytest.mark.lab


def _run(stack: LabStack, agent_id: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    code, sent = stack.post(f"/api/v1/agents/{agent_id}/commands", {"name": name, "params": params})
    assert code == 202, sent
    events = stack.events(f"/api/v1/commands/{sent['command_id']}/events")
    states = [d["state"] for _e, d in events]
    assert "running" in states and states[-1] == "complete", states
    assert states.index("running") < states.index("complete"), "progress before the result"
    final: dict[str, Any] = stack.get(f"/api/v1/commands/{sent['command_id']}")
    return final


def test_ping_dns_and_printer_check_from_the_home(home: Lab, tmp_path: Path) -> None:
    printer = home.address("printer")
    with lab_stack(home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", {"netdev": {"interval_s": 5}})
        stack.wait("the agent online", lambda: stack.get(f"/api/v1/agents/{agent_id}")["online"])

        ping = _run(stack, agent_id, "ping", {"host": printer, "count": 5})["result"]
        assert ping["Status"] == "Complete" and ping["IPAddressUsed"] == printer
        assert ping["SuccessCount"] == 5 and ping["FailureCount"] == 0
        assert 0 < ping["MinimumResponseTime"] <= ping["AverageResponseTime"] <= ping["MaximumResponseTime"]

        dns = _run(stack, agent_id, "dns_lookup", {"name": CLOUD_NAME})["result"]
        assert dns["Status"] == "Complete", dns
        assert any(CLOUD_ADDRESS in r.get("IPAddresses", []) for r in dns["Result"]), dns

        uri = f"ipp://{printer}:{IPP_PORT}{IPP_RESOURCE}"
        check = _run(stack, agent_id, "printer_check", {"uri": uri})["result"]
        assert check["status"] == "Complete" and check["state"] in {"idle", "processing"}, check
        spec = home.home.host("printer")  # what the lab started ippeveprinter with
        assert check["make_and_model"] == f"{spec.make} {spec.model}", check
        assert "application/pdf" in check["document_formats"]

        audit = stack.get(f"/api/v1/audit?agent_id={agent_id}")
        ids = [a["details"]["command_id"] for a in audit if a["details"].get("command_id")]
        assert len(ids) == 3 == len(set(ids)), "each command audited exactly once"
