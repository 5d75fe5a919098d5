"""Logins, tokens and lockout (cloud/accounts.py, routes/tokens.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select

import protocol
from cloud import accounts
from cloud.accounts import access_token
from cloud.const import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_SOURCE,
    PASSWORD_HASH_CONCURRENCY,
    PASSWORD_HASH_WAIT_S,
)
from cloud.enrollment import EnrollmentRequest, redeem
from cloud.storage import LoginFailure, PairingCode, RefreshToken, User, utcnow
from tests.cloud.accounts_world import OPERATOR, PASSWORD, World, make_world
from tests.support import API_TOKEN, CloudProcess

TOKEN = "/api/v1/auth/token"
CONSOLE = {"X-Homediag-Client": "console"}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)


def _form(tenant: str, username: str, password: str) -> dict[str, str]:
    return {"tenant": tenant, "username": username, "password": password}


def test_login_gives_tokens_that_name_the_login(world: World) -> None:
    tokens = world.login("alpha", "csr-alpha")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "csr"
    assert me.json()["tenant_id"] == "alpha"
    assert me.json()["user_id"] == world.ids["alpha"].users["csr"]
    # Usernames are case-insensitive as typed.
    assert world.login("ALPHA", "CSR-Alpha")["access_token"]


def test_operator_token_stays_the_platform_operator(world: World) -> None:
    me = world.client.get("/api/v1/me", headers=OPERATOR).json()
    assert me["role"] == "platform"
    assert me["tenant_id"] is None
    agents = world.client.get("/api/v1/agents", headers=OPERATOR).json()
    assert len(agents) == 7  # three homes per tenant and the one enrolled before accounts


@pytest.mark.parametrize(
    ("tenant", "username", "password"),
    [
        ("alpha", "csr-alpha", "wrong password!"),
        ("alpha", "nobody", PASSWORD),
        ("beta", "csr-alpha", PASSWORD),  # the right password, in another tenant
        ("gamma", "csr-alpha", PASSWORD),
    ],
)
def test_wrong_credentials_are_refused_alike(world: World, tenant: str, username: str, password: str) -> None:
    response = world.client.post(TOKEN, data=_form(tenant, username, password))
    assert response.status_code == 400
    assert response.json()["detail"] == "invalid_grant: wrong tenant, username or password"


def test_missing_or_forged_bearer_tokens_are_refused(world: World) -> None:
    assert world.client.get("/api/v1/agents").status_code == 401
    assert world.client.get("/api/v1/agents", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    forged = jwt.encode(
        {
            "sub": world.ids["alpha"].users["admin"],
            "tid": "alpha",
            "aud": "homediag-api",
            "iat": 0,
            "exp": 2**40,
        },
        b"another key" * 4,
        algorithm="HS256",
    )
    response = world.client.get("/api/v1/agents", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    claims = {"sub": world.ids["alpha"].users["admin"], "tid": "alpha", "aud": "homediag-api", "iat": 0}
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
            for part in ({"alg": "none", "typ": "JWT"}, {**claims, "exp": 2**40})
        )
        + "."
    )
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401


def test_account_lockout_holds_even_with_the_right_password(world: World) -> None:
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT):
        assert (
            world.client.post(TOKEN, data=_form("alpha", "csr-alpha", "not the password")).status_code == 400
        )
    locked = world.client.post(TOKEN, data=_form("alpha", "csr-alpha", PASSWORD))
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    # Another account of the same tenant is unaffected.
    assert world.client.post(TOKEN, data=_form("alpha", "technician-alpha", PASSWORD)).status_code == 200


def test_source_lockout_stops_spraying_across_accounts(world: World) -> None:
    for n in range(LOGIN_FAILURES_PER_SOURCE):
        world.client.post(TOKEN, data=_form("alpha", f"guess-{n}", "not the password"))
    response = world.client.post(TOKEN, data=_form("beta", "admin-beta", PASSWORD))
    assert response.status_code == 429


def test_successful_login_clears_the_account_failures(world: World) -> None:
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT - 1):
        world.client.post(TOKEN, data=_form("alpha", "csr-alpha", "not the password"))
    world.login("alpha", "csr-alpha")
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT - 1):
        world.client.post(TOKEN, data=_form("alpha", "csr-alpha", "not the password"))
    assert world.client.post(TOKEN, data=_form("alpha", "csr-alpha", PASSWORD)).status_code == 200


def test_a_login_that_gets_no_turn_to_hash_is_told_to_retry_and_not_counted(world: World) -> None:
    """Argon2 runs a bounded number at once (issue 17); one that waits past its turn is a 503."""
    admin = world.headers("alpha", "admin")
    accounts.PASSWORD_HASHES.configure(1, 0.01)
    try:
        with accounts.PASSWORD_HASHES.turn():  # the only slot, taken
            busy = world.client.post(TOKEN, data=_form("alpha", "csr-alpha", "not the password"))
            created = world.client.post(
                "/api/v1/users", headers=admin, json={"username": "late", "role": "csr", "password": PASSWORD}
            )
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["Retry-After"]) > 0
        assert created.status_code == 503, created.text
        with world.sessions() as session:
            failures = session.scalars(select(LoginFailure).where(LoginFailure.account == "alpha/csr-alpha"))
            assert list(failures) == []  # no password was checked: nothing counts towards the lockout
    finally:
        accounts.PASSWORD_HASHES.configure(PASSWORD_HASH_CONCURRENCY, PASSWORD_HASH_WAIT_S)
    assert world.login("alpha", "csr-alpha")["access_token"]


def test_expired_access_tokens_are_refused(world: World) -> None:
    with world.sessions() as session:
        user = session.get(User, world.ids["alpha"].users["csr"])
        assert user is not None
        key = world.app.state.token_key
        fresh = access_token(user, key, utcnow() - timedelta(minutes=14))
        stale = access_token(user, key, utcnow() - timedelta(minutes=16))
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {stale}"}).status_code == 401


def test_refresh_rotates_and_a_reused_token_revokes_the_login(world: World) -> None:
    first = world.login("alpha", "csr-alpha")
    second = world.client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {second_tokens['access_token']}"})
    assert me.json()["username"] == "csr-alpha"
    # The spent token again: refused, and the token rotated from it dies with it (theft detection).
    again = world.client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 400
    assert "reused" in again.json()["detail"]
    third = world.client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": second_tokens["refresh_token"]}
    )
    assert third.status_code == 400
    with world.sessions() as session:
        rows = session.scalars(select(RefreshToken)).all()
        assert all(first["refresh_token"] not in (r.token_hash, r.family) for r in rows)  # hashed only
        assert all(r.revoked_at is not None for r in rows)


def test_logout_revokes_the_refresh_token(world: World) -> None:
    tokens = world.login("beta", "admin-beta")
    assert (
        world.client.post("/api/v1/auth/revoke", data={"token": tokens["refresh_token"]}).status_code == 200
    )
    refused = world.client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 400


def test_a_browser_keeps_the_refresh_token_in_an_httponly_cookie(world: World) -> None:
    """``session_cookie``: the token never reaches the page; the tabs of one browser share it."""
    client = world.client
    login = client.post(
        TOKEN, data={**_form("alpha", "csr-alpha", PASSWORD), "session_cookie": "true"}, headers=CONSOLE
    )
    assert login.status_code == 200, login.text
    assert "refresh_token" not in login.json()
    set_cookie = login.headers["set-cookie"]
    assert set_cookie.startswith("homediag_refresh=")
    attributes = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/api/v1/auth"} <= attributes
    assert not any(a.startswith(("max-age", "expires")) for a in attributes), "a session cookie"
    assert "secure" not in attributes  # plain HTTP here; Secure behind HTTPS (next test)
    first = client.cookies["homediag_refresh"]

    # A refresh without a token in the form uses the cookie and rotates it.
    renewed = client.post(TOKEN, data={"grant_type": "refresh_token"}, headers=CONSOLE)
    assert renewed.status_code == 200, renewed.text
    assert "refresh_token" not in renewed.json()
    second = client.cookies["homediag_refresh"]
    assert second != first
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"})
    assert me.json()["username"] == "csr-alpha"

    # The spent cookie replayed (a stolen copy): refused, the login ends, and the browser is told
    # to drop the cookie.
    client.cookies.clear()
    client.cookies.set("homediag_refresh", first, path="/api/v1/auth")
    replay = client.post(TOKEN, data={"grant_type": "refresh_token"}, headers=CONSOLE)
    assert replay.status_code == 400 and "reused" in replay.json()["detail"]
    assert "Max-Age=0" in replay.headers["set-cookie"]
    client.cookies.set("homediag_refresh", second, path="/api/v1/auth")
    assert client.post(TOKEN, data={"grant_type": "refresh_token"}, headers=CONSOLE).status_code == 400


def test_cookie_sessions_refuse_requests_another_site_could_forge(world: World) -> None:
    """A form on another site can post here but cannot add a header: without X-Homediag-Client
    nothing sets, spends or clears the cookie (login CSRF, forced refresh, forced logout)."""
    client = world.client
    forged = client.post(TOKEN, data={**_form("alpha", "csr-alpha", PASSWORD), "session_cookie": "true"})
    assert forged.status_code == 400 and "X-Homediag-Client" in forged.json()["detail"]
    assert "set-cookie" not in forged.headers
    client.post(
        TOKEN, data={**_form("alpha", "csr-alpha", PASSWORD), "session_cookie": "true"}, headers=CONSOLE
    )
    cookie = client.cookies["homediag_refresh"]
    assert client.post(TOKEN, data={"grant_type": "refresh_token"}).status_code == 400
    assert client.post("/api/v1/auth/revoke").status_code == 400
    assert client.cookies["homediag_refresh"] == cookie, "neither spent nor cleared"
    # Still the live login: the console's own renewal works.
    assert client.post(TOKEN, data={"grant_type": "refresh_token"}, headers=CONSOLE).status_code == 200
    # API clients, which keep the token in the body, need no header.
    body = world.login("alpha", "csr-alpha")
    assert client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    ).is_success


def test_logout_with_the_cookie_revokes_it_and_clears_it(world: World) -> None:
    client = world.client
    client.post(
        TOKEN, data={**_form("beta", "admin-beta", PASSWORD), "session_cookie": "true"}, headers=CONSOLE
    )
    token = client.cookies["homediag_refresh"]
    out = client.post("/api/v1/auth/revoke", headers=CONSOLE)
    assert out.status_code == 200
    cleared = out.headers["set-cookie"]
    assert cleared.startswith("homediag_refresh=") and "Max-Age=0" in cleared
    refused = client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token})
    assert refused.status_code == 400
    # Behind an HTTPS proxy the cookie is Secure.
    https = client.post(
        TOKEN,
        data={**_form("beta", "admin-beta", PASSWORD), "session_cookie": "true"},
        headers={"X-Forwarded-Proto": "https", **CONSOLE},
    )
    assert "secure" in {p.strip().lower() for p in https.headers["set-cookie"].split(";")}
    # An unknown token is answered like a good one (RFC 7009 §2.2); no token at all is a bad request.
    client.cookies.clear()
    assert client.post("/api/v1/auth/revoke", data={"token": "unknown"}).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=CONSOLE).status_code == 400


def test_disabling_a_login_stops_its_access_token_at_once(world: World) -> None:
    csr = world.headers("alpha", "csr")
    assert world.client.get("/api/v1/me", headers=csr).status_code == 200
    admin = world.headers("alpha", "admin")
    user_id = world.ids["alpha"].users["csr"]
    assert (
        world.client.patch(f"/api/v1/users/{user_id}", json={"disabled": True}, headers=admin).status_code
        == 200
    )
    assert world.client.get("/api/v1/me", headers=csr).status_code == 401
    assert world.client.post(TOKEN, data=_form("alpha", "csr-alpha", PASSWORD)).status_code == 400


def test_lowering_a_role_takes_effect_before_the_token_expires(world: World) -> None:
    supervisor = world.headers("alpha", "supervisor")
    assert world.client.get("/api/v1/audit", headers=supervisor).status_code == 200
    user_id = world.ids["alpha"].users["supervisor"]
    admin = world.headers("alpha", "admin")
    world.client.patch(f"/api/v1/users/{user_id}", json={"role": "csr"}, headers=admin)
    assert world.client.get("/api/v1/audit", headers=supervisor).status_code == 403


def test_admin_creates_a_login_with_a_generated_password(world: World) -> None:
    admin = world.headers("alpha", "admin")
    created = world.client.post(
        "/api/v1/users", json={"username": "Newbie", "role": "technician"}, headers=admin
    )
    assert created.status_code == 201
    body = created.json()
    assert body["tenant_id"] == "alpha"
    assert body["username"] == "newbie"
    assert "password_hash" not in body
    assert world.login("alpha", "newbie", body["generated_password"])["access_token"]
    with world.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == body["id"]))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert body["generated_password"] not in stored


def test_pairing_code_of_a_household_enrolls_into_its_tenant(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    response = world.client.post(
        "/api/v1/pairing-codes", json={"subscriber_id": alpha.other_subscriber}, headers=csr
    )
    assert response.status_code == 201
    with world.sessions.begin() as session:
        pairing = session.scalars(select(PairingCode).where(PairingCode.subscriber_id.is_not(None))).one()
        assert pairing.tenant_id == "alpha"
        assert pairing.subscriber == "alpha-other_subscriber"
        agent = redeem(session, EnrollmentRequest(code=response.json()["code"], public_key=_public_key()))
        assert (agent.tenant_id, agent.subscriber_id) == ("alpha", alpha.other_subscriber)
    # The new home is visible to alpha's staff, on the household's plan, and not to beta's.
    assert world.client.get(f"/api/v1/agents/{agent.id}", headers=csr).status_code == 200
    usage = world.client.get(f"/api/v1/agents/{agent.id}/usage", headers=csr).json()
    assert usage["cap_bytes"] == 10**12
    beta = world.headers("beta", "admin")
    assert world.client.get(f"/api/v1/agents/{agent.id}", headers=beta).status_code == 404
    # A csr cannot issue a code for another tenant's household.
    foreign = world.client.post(
        "/api/v1/pairing-codes", json={"subscriber_id": world.ids["beta"].subscriber}, headers=csr
    )
    assert foreign.status_code == 404


def _public_key() -> str:
    return protocol.public_key_text(protocol.generate_private_key())


def test_cli_adds_a_tenant_and_a_login(tmp_path: Path, world: World) -> None:
    # The world's database is the one the CLI writes to (SQLite and PostgreSQL alike).
    url = world.sessions.kw["bind"].url.render_as_string(hide_password=False)
    base = [sys.executable, "-m", "cloud", "--state-dir", str(tmp_path / "cli"), "--db", url]
    env = {"HOMEDIAG_API_TOKEN": API_TOKEN, "PATH": "/usr/bin:/bin"}
    subprocess.run([*base, "tenant", "add", "gamma"], check=True, capture_output=True, env=env, timeout=60)
    out = subprocess.run(
        [*base, "user", "add", "--tenant", "gamma", "--role", "admin", "--username", "root-gamma"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout
    password = out.split("password: ", 1)[1].strip()
    assert world.login("gamma", "root-gamma", password)["access_token"]
    subprocess.run(
        [*base, "user", "add", "--tenant", "gamma", "--role", "csr", "--username", "c", "--password-stdin"],
        input="stdin password 123\n",
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert world.login("gamma", "c", "stdin password 123")["access_token"]


def test_login_on_a_running_cloud(tmp_path: Path) -> None:
    """The real server: the CLI makes the login, the form login works, the token key persists."""
    cloud = CloudProcess(tmp_path)
    cloud.start()
    try:
        cloud.cli("tenant", "add", "acme")
        out = cloud.cli("user", "add", "--tenant", "acme", "--role", "supervisor", "--username", "sam")
        password = out.split("password: ", 1)[1].strip()
        form = urllib.parse.urlencode({"tenant": "acme", "username": "sam", "password": password}).encode()
        with urllib.request.urlopen(cloud.api_url + "/api/v1/auth/token", data=form, timeout=10) as response:
            tokens = json.loads(response.read())
        request = urllib.request.Request(
            cloud.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            me = json.loads(response.read())
        assert (me["tenant_id"], me["username"], me["role"]) == ("acme", "sam", "supervisor")
        # The operator token still works as before, next to the logins.
        assert cloud.get("/api/v1/me")["role"] == "platform"
        assert (cloud.state_dir / "token-key").stat().st_mode & 0o777 == 0o600
    finally:
        cloud.stop()
