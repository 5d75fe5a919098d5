"""Every query and path parameter is bounded and typed in its route's signature (issue 17, finding 9).

The five server errors schemathesis found, and their neighbours of the same class, answered as 422
with a sentence on both stores: an ``offset`` or row id past 64-bit integers, a time without a time
zone or outside what ``datetime`` can hold, a URI ``urlsplit`` cannot parse, and text PostgreSQL
refuses (NUL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cloud.accounts_world import OPERATOR, World, make_world

HUGE = 2**63


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)


def _paths(world: World) -> list[str]:
    agent = world.ids["alpha"].agent
    base = f"/api/v1/agents/{agent}"
    return [
        # Finding 9 as reported.
        f"/api/v1/agents?offset={HUGE}",
        f"/api/v1/users?offset={HUGE}",
        f"/api/v1/plans?offset={HUGE}",
        f"/api/v1/subscribers?offset={HUGE}",
        f"{base}/telemetry?since=2024-05-01T12:00:00",
        f"{base}/connectivity?until=0001-01-01T00:00:01Z",
        "/api/v1/printer-setup?uri=ipps%3A%2F%2F%5D",
        # The same class elsewhere.
        f"/api/v1/tenants?offset={HUGE}",
        f"/api/v1/plans/{HUGE}",
        f"{base}/connectivity?since=9999-12-31T23:59:59Z",
        f"{base}/connectivity?since=2024-05-01T12:00:00",
        f"{base}/telemetry?since=0001-01-01T00:00:00Z",
        "/api/v1/printer-setup?uri=ipp%3A%2F%2Fprinter%3A99999%2Fipp%2Fprint",
        "/api/v1/printer-setup?uri=ipp%3A%2F%2Fprinter%3Aabc%2Fipp%2Fprint",
        "/api/v1/subscribers?q=a%00b",
        f"{base}/telemetry?probe=net%00dev",
        f"{base}/devices?kind=printer%00",
        f"/api/v1/agents/{agent}%00/usage",
        f"{base}/devices/aa%00bb",
        f"/api/v1/subscribers/{'x' * 65}",
    ]


def test_out_of_range_parameters_are_refused_in_words(world: World) -> None:
    client = TestClient(world.app, raise_server_exceptions=False)  # every case, not the first 500
    failures = []
    for path in _paths(world):
        response = client.get(path, headers=OPERATOR)
        if response.status_code != 422:
            failures.append(f"{path}: {response.status_code} {response.text[:200]}")
            continue
        problem = response.json()
        texts = [problem["detail"], *(e["sentence"] for e in problem.get("errors", []))]
        for text in texts:
            if "Traceback" in text or "pattern" in text or not text[:1].isupper():
                failures.append(f"{path}: not a sentence for a person: {text!r}")
    assert not failures, "\n".join(failures)


def test_bounds_are_in_the_schema(world: World) -> None:
    """Declared, so clients and the fuzz test see them: ``offset`` and times are bounded."""
    spec = world.app.openapi()
    for name in ("agents", "users", "plans", "subscribers", "tenants"):
        path = f"/api/v1/{name}"
        (offset,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "offset"]
        assert offset["schema"]["maximum"] < HUGE, path
    (plan_id,) = spec["paths"]["/api/v1/plans/{plan_id}"]["get"]["parameters"]
    assert plan_id["schema"]["maximum"] < HUGE


def test_within_the_bounds_the_routes_answer(world: World) -> None:
    """The bounds refuse only what no store holds: edge values in range still work."""
    agent = world.ids["alpha"].agent
    base = f"/api/v1/agents/{agent}"
    for path in (
        "/api/v1/agents?offset=1000000000",
        "/api/v1/subscribers?q=caf%C3%A9%20au%20lait",
        f"{base}/telemetry?since=2000-01-01T00:00:00Z",
        f"{base}/telemetry?since=2024-05-01T12:00:00%2B02:00",
        f"{base}/connectivity?until=2000-01-01T00:00:01Z",
        f"{base}/devices/aa:bb:cc:00:00:01",
        "/api/v1/printer-setup?uri=ipps%3A%2F%2F%5Bfe80%3A%3A1%5D%3A631%2Fipp%2Fprint",
    ):
        response = world.client.get(path, headers=OPERATOR)
        assert response.status_code == 200, (path, response.text[:300])
    assert world.client.get(f"{base}/telemetry?since=2000-01-01T00:00:00Z", headers=OPERATOR).json()[
        "samples"
    ]


def test_text_with_nul_is_refused_before_it_reaches_the_store(world: World) -> None:
    """PostgreSQL refuses NUL in text and JSON: each of these was a 500 there (SQLite stored it)."""
    client = TestClient(world.app, raise_server_exceptions=False)
    ids = world.ids["alpha"]
    plan = {"name": "p\x00", "cap_bytes": 1, "cycle_start_day": 1, "timezone": "UTC", "tenant": "alpha"}
    writes = [
        ("POST", "/api/v1/subscribers", {"reference": "S\x00", "tenant": "alpha"}),
        ("PATCH", f"/api/v1/subscribers/{ids.subscriber}", {"name": "Ada\x00"}),
        ("POST", "/api/v1/plans", plan),
        ("PATCH", f"/api/v1/plans/{ids.plan}", {"name": "p\x00"}),
        ("POST", "/api/v1/tenants", {"id": "gamma", "name": "Gamma\x00"}),
        ("POST", "/api/v1/pairing-codes", {"subscriber_id": ids.subscriber, "note": "n\x00"}),
        ("POST", "/api/v1/users", {"username": "ada\x00", "role": "csr", "tenant": "alpha"}),
    ]
    failures = []
    for method, path, body in writes:
        response = client.request(method, path, json=body, headers=OPERATOR)
        if response.status_code != 422 or "NUL" not in response.text:
            failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def test_a_value_of_the_wrong_form_is_told_in_words_not_as_its_pattern(world: World) -> None:
    """Pydantic words a pattern mismatch as ``String should match pattern '^[a-z]...'``: developer
    text that must not reach a person; the answer says which field, in a sentence."""
    client = TestClient(world.app, raise_server_exceptions=False)
    response = client.post("/api/v1/tenants", json={"id": "Not A Tenant!", "name": "x"}, headers=OPERATOR)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert "pattern" not in error["sentence"] and "^" not in error["sentence"]
    assert error["sentence"].startswith("The id ")
    assert error["loc"] == ["body", "id"]
    assert response.json()["detail"] == error["sentence"], "the one refusal is the answer's sentence"
