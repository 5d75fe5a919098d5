"""The console in a real browser against the whole product in the virtual home (issue 9).

A CSR logs in, finds the subscriber, opens the home, sees the devices the API lists (printers first),
runs a ping to the lab's printer and watches the result arrive; a supervisor reads the audit log;
the subscriber logs in, sees their usage and grants remote-assistance consent. Debian's chromium
runs inside the ISP namespace beside the cloud; each page is saved as a screenshot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lab import CLOUD_ADDRESS, Lab
from tests.browser import browser_page, require_browser, screenshot

from .stack import API_PORT, LabStack, lab_stack

pytestmark = pytest.mark.lab

PASSWORD = "console-test-password"
REFERENCE = "SUB-1001"


def _ok(stack: LabStack, path: str, body: dict[str, Any], method: str = "POST") -> Any:
    code, reply = stack.post(path, body, method)
    assert code in (200, 201), (path, code, reply)
    return reply


def _world(stack: LabStack, agent_id: str) -> None:
    """An operator with a premium household that owns the pc's agent, and its logins."""
    _ok(stack, "/api/v1/tenants", {"id": "acme", "name": "Acme Broadband"})
    plan = _ok(
        stack,
        "/api/v1/plans",
        {
            "name": "Home 200",
            "cap_bytes": 200 * 10**9,
            "cycle_start_day": 1,
            "timezone": "UTC",
            "tier": "premium",
            "tenant": "acme",
        },
    )
    household = _ok(
        stack,
        "/api/v1/subscribers",
        {
            "reference": REFERENCE,
            "name": "Sam Rivers",
            "email": "sam@example.test",
            "tier": "premium",
            "plan_id": plan["id"],
            "tenant": "acme",
        },
    )
    _ok(stack, f"/api/v1/agents/{agent_id}/subscriber", {"subscriber_id": household["id"]}, "PUT")
    for username, role in (("carol", "csr"), ("sue", "supervisor")):
        login = {"username": username, "role": role, "password": PASSWORD, "tenant": "acme"}
        _ok(stack, "/api/v1/users", login)
    _ok(
        stack,
        "/api/v1/users",
        {
            "username": "sam",
            "role": "subscriber",
            "password": PASSWORD,
            "tenant": "acme",
            "subscriber_id": household["id"],
        },
    )


def _login(page: Any, username: str) -> None:
    page.get_by_label("Operator", exact=True).fill("acme")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _logout(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", level=1, name="Log in to homediag").wait_for()


def _column(page: Any, table: str, index: int) -> list[str]:
    cells: list[str] = page.locator(f'table[aria-label="{table}"] tbody tr').evaluate_all(
        f"rows => rows.map(r => r.children[{index}].innerText.trim())"
    )
    return cells


def test_csr_and_subscriber_in_the_browser(home: Lab, tmp_path: Path) -> None:
    require_browser()
    printer = home.address("printer")
    probes: dict[str, dict[str, Any]] = {
        "netdev": {"interval_s": 5},
        "usage": {"interval_s": 5},
        "discovery": {"interval_s": 5, "timeout_s": 2},
        "connectivity": {"interval_s": 5, "targets": [CLOUD_ADDRESS], "count": 5, "echo_interval_s": 0.1},
    }
    with lab_stack(home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", probes)
        stack.wait("the agent online", lambda: stack.get(f"/api/v1/agents/{agent_id}")["online"])
        _world(stack, agent_id)
        devices = stack.wait(
            "the printer in the inventory",
            lambda: (
                (d := stack.get(f"/api/v1/agents/{agent_id}/devices"))
                and any(x["kind"] == "printer" for x in d["devices"])
                and d
            ),
            timeout_s=90,
        )
        stack.wait(
            "connectivity history",
            lambda: len(stack.get(f"/api/v1/agents/{agent_id}/connectivity")["samples"]) >= 2,
        )
        console = f"http://{CLOUD_ADDRESS}:{API_PORT}/console/"
        with browser_page(tmp_path, netns=home.netns("isp")) as (page, errors):
            page.goto(console)
            page.get_by_role("heading", level=1, name="Log in to homediag").wait_for()
            screenshot(page, "01-login")

            # A wrong password is refused in words, and nothing else happens.
            page.get_by_label("Operator", exact=True).fill("acme")
            page.get_by_label("Username", exact=True).fill("carol")
            page.get_by_label("Password", exact=True).fill("not the password")
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("alert").filter(has_text="Wrong operator").wait_for()

            _login(page, "carol")
            page.get_by_role("heading", level=1, name="Subscribers").wait_for()
            page.get_by_label("Find a subscriber", exact=True).fill("1001")
            page.get_by_role("button", name="Search").click()
            page.get_by_text("1 subscriber").wait_for()
            screenshot(page, "02-search")
            page.get_by_role("link", name=re.compile(r"^home ")).click()

            page.locator('table[aria-label="devices"]').wait_for()
            api_macs = sorted(d["PhysAddress"] for d in devices["devices"])
            # The page asked the API again; the inventory may have grown meanwhile, never shrunk.
            shown = _column(page, "devices", 3)
            assert set(api_macs) <= {m.split(" ")[0] for m in shown}, (api_macs, shown)
            listed = stack.get(f"/api/v1/agents/{agent_id}/devices")["devices"]
            again = sorted(d["PhysAddress"] for d in listed)
            assert sorted(m.split(" ")[0] for m in shown) == again
            assert _column(page, "devices", 1)[0] == "printer", "printers first"
            assert page.locator('[data-kpi="agent-state"]').inner_text().startswith("online")
            assert page.get_by_role("img", name="median latency, last 24 hours").count() == 1

            page.get_by_label("Diagnostic", exact=True).select_option("ping")
            page.get_by_label("Target", exact=True).fill(printer)
            page.get_by_role("button", name="Run").click()
            state = page.locator("[data-diagnostic-state]")
            state.filter(has_text="Finished: complete").wait_for(timeout=60_000)
            result = dict(
                zip(
                    _column(page, "diagnostic result", 0),
                    _column(page, "diagnostic result", 1),
                    strict=True,
                )
            )
            assert result["SuccessCount"] == "5" and result["IPAddressUsed"] == printer, result
            # The run lists itself under recent diagnostics, by whom and how it ended.
            recent = page.locator('table[aria-label="recent diagnostics"] tbody tr').first
            recent.filter(has_text="Complete").wait_for()
            assert "ping" in recent.inner_text() and "carol" in recent.inner_text()
            screenshot(page, "03-home")

            # The printer playbook on the printer the page found, read into one verdict in words.
            page.get_by_role("button", name="Why won't it print?").click()
            state.filter(has_text="Playbook finished").wait_for(timeout=120_000)
            assert state.inner_text() == "Playbook finished: ok.", state.inner_text()
            assert "The printer is fine" in page.locator("[data-playbook-summary]").inner_text()

            page.get_by_role("link", name="Daily list").click()
            page.get_by_role("heading", level=1, name="Daily list").wait_for()
            screenshot(page, "04-daily-list")
            assert page.get_by_role("link", name="Audit log").is_hidden(), "a csr has no audit log"
            _logout(page)

            _login(page, "sue")
            page.get_by_role("heading", level=1, name="Subscribers").wait_for()
            page.get_by_role("link", name="Audit log").click()
            page.get_by_role("heading", level=1, name="Audit log").wait_for()
            actions = _column(page, "audit log", 2)
            assert any("ping" in a or "command" in a for a in actions), actions
            screenshot(page, "05-audit")
            page.get_by_role("link", name="Team").click()
            page.get_by_role("heading", level=1, name="Team").wait_for()
            names, commands = _column(page, "team figures", 0), _column(page, "team figures", 3)
            people = dict(zip(names, commands, strict=True))
            assert int(people["carol"]) >= 4, people  # the ping and the playbook's three steps
            screenshot(page, "06-team")
            _logout(page)

            _login(page, "sam")
            page.get_by_role("heading", level=1, name="My home").wait_for()
            meter = page.get_by_role("meter", name="usage this cycle")
            assert meter.count() == 1
            usage = stack.get(f"/api/v1/agents/{agent_id}/usage")
            assert int(meter.get_attribute("aria-valuenow") or -1) <= usage["total_bytes"]
            page.get_by_label("For", exact=True).select_option("60")
            page.get_by_role("button", name="Allow remote assistance").click()
            page.locator("[data-consent-state]").filter(has_text="allowed until").wait_for()
            consent = stack.get(f"/api/v1/agents/{agent_id}/consent")
            assert consent["active"] is True, consent
            page.get_by_role("button", name="Get a pairing code").click()
            code = page.locator("[data-pairing-code] strong").inner_text()
            assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
            screenshot(page, "07-self-care")
            assert not errors, errors
