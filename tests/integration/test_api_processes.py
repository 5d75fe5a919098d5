"""The API as several stateless processes (issue 11): two `serve` processes on one PostgreSQL and one
mosquitto (ingest on a shared subscription), used alternately as a load balancer would. A login made
on one works on the other, a refresh token spent on one is spent for both, and a command sent through
one is followed live and answered through the other."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support import AgentProcess, CloudProcess, Mosquitto, PostgresServer, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
PASSWORD = "two processes, one truth"


def _call(
    url: str, *, token: str = "", body: Any = None, form: dict[str, str] | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=15) as reply:
            return int(reply.status), json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), json.loads(exc.read() or b"null")


def test_two_api_processes_share_nothing_but_the_database(
    postgres: PostgresServer, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db_url = postgres.new_database()
    first = CloudProcess(tmp_path / "a", broker_url=mosquitto.url, db_url=db_url)
    second = CloudProcess(tmp_path / "b", broker_url=mosquitto.url, db_url=db_url)
    # One deployment: the same state (signing keys, token key, CA) on both, as from a shared volume.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    second.state_dir = first.state_dir
    for cloud in (first, second):
        cloud.env["HOMEDIAG_INGEST_SHARE_GROUP"] = "ingest"
    first.start()
    second.start()
    agent = AgentProcess(tmp_path, probes={"netdev": {"interval_s": 1.0}})
    try:
        assert first.post("/api/v1/tenants", {"id": "acme"})[0] == 201
        household = first.post("/api/v1/subscribers", {"reference": "S-1", "tenant": "acme"})[1]
        login = {"username": "carol", "role": "csr", "password": PASSWORD, "tenant": "acme"}
        assert second.post("/api/v1/users", login)[0] == 201
        code = first.post("/api/v1/pairing-codes", {"subscriber_id": household["id"]})[1]["code"]
        agent.cli("enroll", "--cloud", second.api_url, "--code", code)
        agent.start()

        # Log in on one process; the access token works on the other.
        status, tokens = _call(
            first.api_url + "/api/v1/auth/token",
            form={"username": "carol", "password": PASSWORD, "tenant": "acme"},
        )
        assert status == 200, tokens
        assert _call(second.api_url + "/api/v1/me", token=tokens["access_token"])[1]["username"] == "carol"
        # A refresh spent on the second is spent for the first too (rotation lives in the database).
        status, renewed = _call(
            second.api_url + "/api/v1/auth/token",
            form={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert status == 200, renewed
        replay = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        assert _call(first.api_url + "/api/v1/auth/token", form=replay)[0] == 400
        token = renewed["access_token"]

        home = f"/api/v1/agents/{agent.agent_id}"
        wait_for(lambda: _call(first.api_url + home, token=token)[1]["online"], 30, "the agent online")
        status, sent = _call(
            second.api_url + home + "/commands",
            token=token,
            body={"name": "ping", "params": {"host": "127.0.0.1", "count": 3}},
        )
        assert status == 202, sent
        events: list[str] = []
        request = urllib.request.Request(
            first.api_url + f"/api/v1/commands/{sent['command_id']}/events",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as stream:
            events = [line.decode().strip() for line in stream if line.startswith(b"event: ")]
        assert events[-1] == "event: result", events
        status, done = _call(first.api_url + f"/api/v1/commands/{sent['command_id']}", token=token)
        assert done["state"] == "complete" and done["result"]["SuccessCount"] == 3, done
        listed = _call(second.api_url + home + "/commands", token=token)[1]
        assert [c["command_id"] for c in listed] == [sent["command_id"]]
    finally:
        agent.stop()
        second.stop()
        first.stop()
