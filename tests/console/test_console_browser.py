"""The console in Debian's chromium against a real cloud process on loopback (issue 9).

The database holds two operators (tests/cloud/accounts_world.py) and, in ``alpha``'s home, a device
that names itself with markup. What is checked: keyboard-only login, role-based pages, a renewed
session when the access token is refused, logout revoking the refresh token, a home of the other
operator answered like one that does not exist, hostile names shown as text and never run, and a
CSR's verdict on the daily list stored through the API.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from cloud import accounts
from cloud.storage import InventoryDevice, make_engine, make_sessionmaker
from tests.browser import browser_page, require_browser, screenshot
from tests.cloud.accounts_world import PASSWORD, TenantIds, _populate
from tests.support import CloudProcess

HOSTILE = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CloudProcess, dict[str, TenantIds]]]:
    require_browser()
    workdir = tmp_path_factory.mktemp("console")
    proc = CloudProcess(workdir)
    proc.state_dir.mkdir(parents=True)
    proc.cli("migrate")
    real = accounts._HASHER
    # Test-sized Argon2 costs; the server verifies with the parameters stored in each hash.
    accounts._HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    engine = make_engine(proc.db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            ids = {tenant: _populate(session, tenant) for tenant in ("alpha", "beta")}
            session.add(
                InventoryDevice(
                    agent_id=ids["alpha"].agent,
                    key="aa:bb:cc:00:00:66",
                    mac="aa:bb:cc:00:00:66",
                    hostname=HOSTILE,
                    kind="media",
                    services=[{"Type": "_airplay._tcp", "InstanceName": "</td><script>x</script>"}],
                )
            )
    finally:
        accounts._HASHER = real
        engine.dispose()
    proc.start()
    try:
        yield proc, ids
    finally:
        proc.stop()


def _login(page: Any, tenant: str, username: str) -> None:
    page.get_by_label("Operator", exact=True).fill(tenant)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _refresh_cookie(page: Any) -> str:
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "homediag_refresh"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/v1/auth"
    return str(cookie["value"])


def _spoil_access_token(page: Any) -> None:
    page.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('homediag.session'));"
        " s.access = 'not-a-token'; sessionStorage.setItem('homediag.session', JSON.stringify(s)); }"
    )


def _token_grant(cloud: CloudProcess, fields: dict[str, str]) -> int:
    request = urllib.request.Request(
        cloud.api_url + "/api/v1/auth/token", data=urllib.parse.urlencode(fields).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)


def test_keyboard_login_roles_and_session(
    cloud: tuple[CloudProcess, dict[str, TenantIds]], tmp_path: Path
) -> None:
    proc, ids = cloud
    alpha, beta = ids["alpha"], ids["beta"]
    with browser_page(tmp_path) as (page, errors):
        page.goto(proc.api_url + "/")  # the root sends people to the console
        page.get_by_role("heading", level=1, name="Log in to homediag").wait_for()
        # Keyboard only: the first field has focus; Tab moves on; Enter submits.
        page.keyboard.type("alpha")
        page.keyboard.press("Tab")
        page.keyboard.type(alpha.username("csr"))
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.get_by_role("heading", level=1, name="Subscribers").wait_for()
        assert page.get_by_role("link", name="Audit log").is_hidden()
        page.goto(proc.api_url + "/console/#/audit")  # a csr has no audit log: back to search
        page.wait_for_url("**/#/search")

        # The other operator's home, by id: answered like a home that does not exist.
        page.goto(proc.api_url + f"/console/#/home/{beta.agent}")
        page.get_by_role("heading", level=1, name="Could not load this page").wait_for()
        assert "No home with that id is visible to this login" in page.get_by_role("alert").inner_text()
        screenshot(page, "09-home-not-visible")

        # Own home: the hostile device name is text on the page, and nothing of it ran.
        page.goto(proc.api_url + f"/console/#/home/{alpha.agent}")
        devices = page.locator('table[aria-label="devices"]')
        devices.wait_for()
        assert HOSTILE in devices.inner_text()
        assert page.evaluate("window.__pwned") is None
        assert page.locator("table[aria-label=devices] img, table[aria-label=devices] script").count() == 0
        screenshot(page, "10-home-hostile-names")

        # A diagnostic the cloud refuses: the CSR reads why in words, not a status code or a rule.
        page.get_by_label("Target", exact=True).fill("printer.local; rm -rf / ^(a+)+$")
        page.get_by_role("button", name="Run").click()
        refusal = page.locator("p.error[role=alert]")
        refusal.wait_for()
        said = refusal.inner_text()
        assert said.startswith("Not sent: For ping, the host must be a host name or IP address"), said
        assert "422" not in said and "rm -rf" not in said and "^(a+)" not in said
        screenshot(page, "11-diagnostic-refused")

        # The refresh token is an HttpOnly cookie: nothing the page's scripts can read holds it.
        refresh = _refresh_cookie(page)
        readable = page.evaluate("document.cookie + JSON.stringify({...sessionStorage, ...localStorage})")
        assert refresh not in readable

        # A refused access token is renewed with the refresh token, once, without a new login.
        _spoil_access_token(page)
        page.reload()
        devices.wait_for()
        assert _refresh_cookie(page) != refresh, "the refresh rotated the cookie"

        # A second tab of the same browser continues the login (no copy of a token to spend twice),
        # and both tabs renew their access tokens one after the other.
        other = page.context.new_page()
        other.goto(proc.api_url + f"/console/#/home/{alpha.agent}")
        other.locator('table[aria-label="devices"]').wait_for()
        for tab in (page, other):
            _spoil_access_token(tab)
            tab.reload()
            tab.locator('table[aria-label="devices"]').wait_for()
        other.close()
        refresh = _refresh_cookie(page)

        # The daily list: a verdict goes through the API and is there on the next load.
        page.get_by_role("link", name="Daily list").click()
        page.get_by_role("heading", level=1, name="Daily list").wait_for()
        page.get_by_role("button", name="Confirm").click()
        page.get_by_text("confirmed", exact=True).wait_for()
        page.reload()
        page.get_by_text("confirmed", exact=True).wait_for()

        # Logging out revokes the refresh token on the server, not only in the tab.
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("heading", level=1, name="Log in to homediag").wait_for()
        assert _token_grant(proc, {"grant_type": "refresh_token", "refresh_token": refresh}) == 400
        assert not [c for c in page.context.cookies() if c["name"] == "homediag_refresh"], "cookie cleared"

        # A subscriber lands on their own page and cannot open the staff pages.
        _login(page, "alpha", alpha.username("subscriber"))
        page.get_by_role("heading", level=1, name="My home").wait_for()
        page.goto(proc.api_url + "/console/#/search")
        page.wait_for_url("**/#/self")
        assert page.get_by_role("link", name="Subscribers").is_hidden()

        # Consent from the self-care page: granted, then ended, each visible at once.
        # The seeded home already has a session granted on the device (accounts_world); a grant
        # here replaces it, so wait for the page to say where the new one came from.
        state = page.locator("[data-consent-state]")
        state.filter(has_text="given on the device").wait_for()
        page.get_by_label("For", exact=True).select_option("60")
        page.get_by_role("button", name="Allow remote assistance").click()
        state.filter(has_text="given here").wait_for()
        assert "allowed until" in state.inner_text()
        page.get_by_role("button", name="End remote assistance now").click()
        state.filter(has_text="not allowed").wait_for()

        # Another tab logs the browser out and in as someone else: the cookie is theirs now. This
        # tab's next renewal notices and asks for a login instead of going on as the subscriber
        # with the CSR's token under the subscriber's name.
        other = page.context.new_page()
        other.goto(proc.api_url + "/console/#/self")
        other.get_by_role("heading", level=1, name="My home").wait_for()
        other.get_by_role("button", name="Log out").click()
        _login(other, "alpha", alpha.username("csr"))
        other.get_by_role("heading", level=1, name="Subscribers").wait_for()
        _spoil_access_token(page)
        page.reload()
        page.get_by_role("heading", level=1, name="Log in to homediag").wait_for()
        assert page.evaluate("sessionStorage.getItem('homediag.session')") is None
        other.close()
        assert not errors, errors


def test_console_is_served_with_a_strict_policy(cloud: tuple[CloudProcess, dict[str, TenantIds]]) -> None:
    proc, _ids = cloud
    with urllib.request.urlopen(proc.api_url + "/console/", timeout=10) as reply:
        policy = reply.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert reply.headers["Cache-Control"] == "no-store"
    with urllib.request.urlopen(proc.api_url + "/console/js/app.js", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/javascript")
    for path in ("/console/js/missing.js", "/console/..%2f..%2fpyproject.toml", "/console/router.py"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(proc.api_url + path, timeout=10)
        assert refused.value.code == 404, path
    openapi = json.loads(urllib.request.urlopen(proc.api_url + "/openapi.json", timeout=10).read())
    assert not any(p.startswith("/console") for p in openapi["paths"]), "pages are not API"
