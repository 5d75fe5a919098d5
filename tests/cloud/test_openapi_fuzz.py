"""Schemathesis against the OpenAPI document, with the tokens of two roles in two tenants: no
server error, and every documented answer matches its schema."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok

from tests.cloud.accounts_world import World, make_world

#: Paths not fuzzed: the speed test streams gigabytes by design, and the login endpoint would lock
#: the test client's address out (its own tests are in test_accounts.py).
SKIPPED = ("/api/v1/speedtest/", "/api/v1/auth/token")
EXAMPLES_PER_OPERATION = 4
BUDGET_S = 60.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)


def test_api_matches_its_schema_for_two_roles_in_two_tenants(world: World) -> None:
    schema = schemathesis.openapi.from_dict(world.app.openapi())
    logins = [world.headers(tenant, role) for tenant in ("alpha", "beta") for role in ("csr", "admin")]
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    operations = [op for op in operations if not op.path.startswith(SKIPPED)]
    assert len(operations) > 40
    started = time.monotonic()
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations:
        _fuzz(world, operation, logins, failures, statuses)
    elapsed = time.monotonic() - started
    assert not failures, "\n".join(failures[:10])
    # The calls reached the handlers: answers, refusals by role, and objects not found.
    assert statuses[200] > 50
    assert statuses[403] > 0
    assert statuses[404] > 0
    assert elapsed < BUDGET_S * 2  # generous on a loaded machine; typically well under a minute


def _fuzz(
    world: World,
    operation: Any,
    logins: list[dict[str, str]],
    failures: list[str],
    statuses: Counter[int],
) -> None:
    name = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        for headers in logins:
            # Sent through the world's own client (Schemathesis's would keep an event loop thread).
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
            kwargs.pop("cookies", None)  # the API uses none; httpx deprecates them per request
            try:
                response = world.client.request(**kwargs)
            except Exception as exc:  # the app raised: a server error
                failures.append(f"{name}: {exc!r}")
                return
            statuses[response.status_code] += 1
            checks = [not_a_server_error]
            # Routes raise 422 with a sentence in ``detail`` where FastAPI documents its list of
            # validation errors; those answers are only checked for not being server errors.
            if response.status_code != 422:
                checks += [response_schema_conformance, content_type_conformance]
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except AssertionError as exc:
                failures.append(f"{name}: {exc}")
                return

    run()
