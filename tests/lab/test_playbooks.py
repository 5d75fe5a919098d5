"""The "printer won't print" playbook in the virtual home: the real printer fine, out of paper, hung, gone.

The cloud runs in the ISP namespace and the agent on the PC; the printer is the lab's ippeveprinter.
ippeveprinter does not implement Pause-Printer, so its state reasons are changed the way its own web
forms allow (paper level 0 gives ``media-empty-report``), and "stopped" is the process stopped
(SIGSTOP): on the network, its print service silent.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from lab import CLOUD_ADDRESS, CLOUD_NAME, GATEWAY_ADDRESS, IPP_PORT, IPP_RESOURCE, Lab

from .stack import LabStack, lab_stack

pytestmark = pytest.mark.lab


def _printer_pid(home: Lab) -> int:
    spool = str(Path(home.describe()["state_dir"]) / "printer" / "spool")
    out = subprocess.run(
        ["pgrep", "-f", f"ippeveprinter.*{spool}"], capture_output=True, text=True, check=True
    )
    (pid,) = out.stdout.split()
    return int(pid)


def _media_form(home: Lab) -> dict[str, str]:
    """ippeveprinter's media form as it stands: every tray's size, type and level (a submitted form
    replaces all trays, so a change must send back the ones it does not mean to touch)."""
    html = home.exec("pc", ["curl", "-sf", f"http://{home.address('printer')}:{IPP_PORT}/media"]).stdout
    form = {}
    for name, options in re.findall(r'<select name="(\w+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<', options) or re.search(
            r'<option(?: value="([^"]*)")?>([^<]*)<', options
        )
        assert chosen is not None, name
        form[name] = chosen.group(1) if chosen.group(1) is not None else chosen.group(2)
    return form


def _submit_media(home: Lab, form: dict[str, str]) -> None:
    url = f"http://{home.address('printer')}:{IPP_PORT}/media?{urllib.parse.urlencode(form)}"
    home.exec("pc", ["curl", "-sf", "-o", "/dev/null", url])


def _run(stack: LabStack, agent_id: str, uri: str) -> dict[str, Any]:
    code, finding = stack.post(f"/api/v1/agents/{agent_id}/playbooks/printer-wont-print", {"uri": uri})
    assert code == 200, finding
    return dict(finding)


def test_printer_playbook_names_the_cause(home: Lab, tmp_path: Path) -> None:
    uri = f"ipp://{home.address('printer')}:{IPP_PORT}{IPP_RESOURCE}"
    with lab_stack(home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", {"netdev": {"interval_s": 5}})
        stack.wait("the agent online", lambda: stack.get(f"/api/v1/agents/{agent_id}")["online"])

        fine = _run(stack, agent_id, uri)
        assert fine["verdict"] == "ok", fine
        assert fine["summary"].startswith("The printer is fine")
        assert [s["command"] for s in fine["steps"]] == ["printer_check", "ping", "run_probe"]

        loaded = _media_form(home)
        _submit_media(home, {**loaded, "level1": "0"})
        try:
            empty = _run(stack, agent_id, uri)
        finally:
            _submit_media(home, loaded)
        assert _run(stack, agent_id, uri)["verdict"] == "ok", "paper back: fine again"
        assert empty["verdict"] == "problem" and "out of paper" in empty["summary"], empty
        assert any("media-empty" in e for e in empty["evidence"])

        pid = _printer_pid(home)
        os.kill(pid, signal.SIGSTOP)
        try:
            hung = _run(stack, agent_id, uri)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert hung["verdict"] == "problem" and "print service is not answering" in hung["summary"], hung

        home.host_down("printer")
        try:
            gone = _run(stack, agent_id, uri)
        finally:
            home.host_up("printer")
        assert gone["verdict"] == "problem" and "not reachable" in gone["summary"], gone

        audit = stack.get(f"/api/v1/audit?agent_id={agent_id}")
        steps = [a for a in audit if a["actor"] == "operator (playbook)"]
        assert len(steps) == 5 * 3, "every step of every run is audited, once"


def test_slow_internet_playbook_places_the_trouble(home: Lab, tmp_path: Path) -> None:
    body = {"gateway": GATEWAY_ADDRESS, "internet": CLOUD_ADDRESS, "name": CLOUD_NAME}
    with lab_stack(home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", {"netdev": {"interval_s": 5}})
        stack.wait("the agent online", lambda: stack.get(f"/api/v1/agents/{agent_id}")["online"])
        path = f"/api/v1/agents/{agent_id}/playbooks/internet-is-slow"

        code, healthy = stack.post(path, body)
        assert code == 200 and healthy["verdict"] == "ok", healthy

        home.impair("gw", ifname="wan0", delay_ms=150)
        try:
            code, slow = stack.post(path, body)
        finally:
            home.clear_impairment("gw")
        assert slow["verdict"] == "problem" and "beyond the gateway" in slow["summary"], slow
