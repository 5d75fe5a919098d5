"""Schemathesis against the OpenAPI document: no server error, no answer over its declared size, and
every documented answer matches its schema, for every role of two tenants and the platform operator.

Issue 17 (finding 9): an outside schemathesis run found five 500s this test missed. It sent four
random examples per operation as two roles, with random ids, so a query parameter was rarely read
(a random ``agent_id`` is a 404 before ``since`` is parsed) and no boundary was ever tried. Now:

- the coverage phase: schemathesis's boundary and wrong-type values of every parameter and body
  field, each case once;
- hostile values of every query and path parameter, one at a time: integers past 64 bits, times
  without a zone or in year 1 or 9999, NUL, URIs ``urlsplit`` refuses (what found the five);
- the fuzzing phase: more random examples per operation, positive and negative;
- every case twice: as generated, and again with its path ids swapped for the seeded world's
  (``accounts_world``), so it reaches the handler with real objects (a stateful run's effect);
- each case as a login drawn from every role of two tenants, and the platform operator.

No agent can act on a fuzzed command: the world has no agent process and no broker (a
``FakeIngest`` records what would be published), and playbooks, which wait a minute for each
step's result, only get generated ids (404), never a seeded online home.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from cloud.ingest import IngestStats
from tests.cloud.accounts_world import DEVICE_KEY, OPERATOR, STAFF, TENANTS, FakeIngest, World, make_world

#: Paths not fuzzed: the speed test streams gigabytes by design, and the login endpoint would lock
#: the test client's address out (its own tests are in test_accounts.py).
SKIPPED = ("/api/v1/speedtest/", "/api/v1/auth/token")
#: Paths whose ids are never seeded: each playbook step waits up to a minute for a result.
NOT_SEEDED = ("/playbooks/",)
#: The largest answer any operation may give in this world (a page of the seeded rows is a few KiB;
#: /me/audit was once 60 MiB).
MAX_RESPONSE_BYTES = 256 * 1024
EXAMPLES_PER_OPERATION = 12
#: Who sends the hostile values (indices into ``_logins``): the operator and alpha's admin and
#: subscriber between them pass every route's role check, so the values reach the handlers.
HOSTILE_LOGINS = (0, 4, 5)


class CountingIngest(FakeIngest):
    """The fake with the counters ``/ingest/stats`` reads; it still only records what it would send."""

    def __init__(self) -> None:
        super().__init__()
        self.connected = threading.Event()
        self.stats = IngestStats()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    for world in make_world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path):
        world.ingest = world.app.state.ingest = CountingIngest()
        yield world


@dataclass
class Run:
    world: World
    logins: list[tuple[str, dict[str, str]]]
    failures: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seeded: int = 0
    #: The operations that failed (their path templates), to see the spread at a glance.
    broken: set[str] = field(default_factory=set)

    def fail(self, case: Any, message: str) -> None:
        self.broken.add(f"{case.method.upper()} {case.path}")
        self.failures.append(message)

    def seed(self, case: Any, tenant: str) -> Any | None:
        """The case with its path ids swapped for the seeded objects of ``tenant``, or None."""
        if not case.path_parameters or any(p in case.path for p in NOT_SEEDED):
            return None
        ids = self.world.ids[tenant]
        # What a case may delete, revoke or disable is a spare, so the rest of the run keeps its world.
        spare = case.method.upper() == "DELETE" or case.path.endswith(("/revoke", "/subscriber"))
        values = {
            "agent_id": ids.spare_agent if spare else ids.agent,
            "subscriber_id": ids.spare_subscriber if spare else ids.subscriber,
            "plan_id": ids.spare_plan if spare else ids.plan,
            "user_id": ids.spare_user,
            "command_id": ids.command,
            "entry_id": ids.entry,
            "key": DEVICE_KEY,
        }
        seeded = case.derive()
        seeded.path_parameters = {
            name: values.get(name, value) for name, value in case.path_parameters.items()
        }
        return seeded

    def send(self, case: Any, login: int) -> None:
        name, headers = self.logins[login % len(self.logins)]
        where = f"{case.method.upper()} {case.formatted_path} as {name}"
        # Sent through the world's own client (Schemathesis's would keep an event loop thread).
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        kwargs.pop("cookies", None)  # the API uses none; httpx deprecates them per request
        if isinstance(kwargs.get("data"), str | bytes):  # a raw body (coverage sends some)
            kwargs["content"] = kwargs.pop("data")
        try:
            response = self.world.client.request(**kwargs)
        except Exception as exc:  # the app raised: a server error
            self.fail(case, f"{where}: {exc!r}")
            return
        self.statuses[response.status_code] += 1
        if len(response.content) > MAX_RESPONSE_BYTES:
            self.fail(case, f"{where}: {len(response.content)} bytes, over {MAX_RESPONSE_BYTES}")
        # Every answer, 422s included: all error answers are problems the document describes
        # (cloud/api/errors.py), a route's own 422 as much as a validation failure.
        checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except AssertionError as exc:
            self.fail(case, f"{where} query={case.query!r} body={case.body!r:.200}: {exc}")

    def both(self, case: Any, login: int, tenant: str) -> None:
        self.send(case, login)
        seeded = self.seed(case, tenant)
        if seeded is not None:
            self.seeded += 1
            self.send(seeded, login)


def _logins(world: World) -> list[tuple[str, dict[str, str]]]:
    roles = (*STAFF, "subscriber")
    named = [(f"{r}-{t}", world.headers(t, r)) for t in TENANTS for r in roles]
    logins = [("operator", OPERATOR), *named]
    assert [logins[i][0] for i in HOSTILE_LOGINS] == ["operator", "admin-alpha", "subscriber-alpha"]
    return logins


def test_api_holds_for_every_role_at_its_boundaries(world: World) -> None:
    assert isinstance(world.ingest, FakeIngest)  # nothing would carry a command to an agent
    schema = schemathesis.openapi.from_dict(world.app.openapi())
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    operations = [op for op in operations if not op.path.startswith(SKIPPED)]
    assert len(operations) > 40
    run = Run(world, _logins(world))
    started = time.monotonic()
    turn = itertools.count()
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    spec = world.app.openapi()
    for operation in operations:
        config = schema.config.generation_for(operation=operation, phase="coverage")
        base = None
        for case in schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config):
            n = next(turn)
            run.both(case, n, TENANTS[n % len(TENANTS)])
            if (
                base is None
                and case.meta is not None
                and case.meta.generation.mode is GenerationMode.POSITIVE
            ):
                base = case
        if base is not None:
            parameters = spec["paths"][operation.path][operation.method.lower()].get("parameters", [])
            for login in HOSTILE_LOGINS:
                _hostile(run, base, parameters, login)
    coverage_s = time.monotonic() - started
    for operation in operations:
        for mode in modes:
            _fuzz(run, operation, mode)
    elapsed = time.monotonic() - started
    assert not run.failures, "\n".join(
        [f"{len(run.failures)} failures in", *sorted(run.broken), "first:", *run.failures[:15]]
    )
    # The calls reached the handlers: answers, refusals by role, objects not found, and bad input.
    assert run.statuses[200] > 300, run.statuses
    assert run.statuses[403] > 0
    assert run.statuses[404] > 0
    assert run.statuses[422] > 0
    assert run.seeded > 1000
    print(f"fuzzed {sum(run.statuses.values())} requests in {elapsed:.0f} s ({coverage_s:.0f} s coverage)")


def _hostile_values(schema: dict[str, Any]) -> list[Any]:
    """What no store or parser should meet unguarded: past 64-bit integers, times without a zone
    or outside ``datetime``'s range, NUL (PostgreSQL refuses it in text), URIs ``urlsplit`` refuses."""
    typed = [s for s in [schema, *schema.get("anyOf", [])] if s.get("type") not in (None, "null")]
    kind: dict[str, Any] = typed[0] if typed else {}
    if kind.get("type") == "integer":
        return [2**63, -(2**63) - 1, 2**64]
    if kind.get("type") == "number":
        return ["nan", "inf", "-inf", "1e309"]
    if kind.get("format") == "date-time":
        return ["2024-05-01T12:00:00", "0001-01-01T00:00:01Z", "9999-12-31T23:59:59Z"]
    if kind.get("format") == "date":
        return ["0001-01-01", "9999-12-31"]
    if kind.get("type") == "string":
        return ["a\x00b", "ipps://]", "ipp://printer:99999/ipp/print", "x" * 4096]
    return []


def _hostile(run: Run, base: Any, parameters: list[dict[str, Any]], login: int) -> None:
    """Each query and path parameter in turn at a hostile value, the rest as a valid case has them;
    query parameters also against the seeded objects, so the handler reads them."""
    # Alone with the required ones: ``until`` in year 1 overflowed only without a ``since``.
    needed = {p["name"] for p in parameters if p["in"] == "query" and p.get("required")}
    required = {k: v for k, v in base.query.items() if k in needed}
    for parameter in parameters:
        where, name = parameter["in"], parameter["name"]
        if where not in ("query", "path"):
            continue
        for value in _hostile_values(parameter.get("schema", {})):
            case = base.derive()
            if where == "path":
                # Encoded here: the client would refuse a NUL in a URL before the server saw it.
                case.path_parameters = {**base.path_parameters, name: quote(str(value), safe="")}
                run.send(case, login)
            else:
                case.query = {**required, name: value}
                run.both(case, login, "alpha")


def _fuzz(run: Run, operation: Any, mode: GenerationMode) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION // 2,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        login=st.integers(min_value=0, max_value=len(run.logins) - 1),
        tenant=st.sampled_from(TENANTS),
    )
    def fuzz(case: Any, login: int, tenant: str) -> None:
        run.both(case, login, tenant)

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing to make wrong (a GET without parameters has no negative case).
        assert mode is GenerationMode.NEGATIVE, operation
