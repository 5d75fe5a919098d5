"""No ``async def`` route does blocking work on the event loop (issue 17, finding 7).

Holding SQLite's write lock for 6 s froze ``/healthz`` (and the ingest and MQTT keepalives in the
same process) for 6.04 s: five ``async def`` routes wrote to the database on the loop. Here a real
cloud process is asked to write while another connection holds the lock: ``/healthz`` must keep
answering while the write is still waiting, and the write must complete once the lock goes. A
static check walks every router and flags the next ``async def`` route that calls the session
itself.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import json
import pkgutil
import sqlite3
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

import cloud.api.routes
from tests.support import API_TOKEN, AgentProcess, CloudProcess

#: How long the write is kept waiting (a floor, not a budget): long enough that a route that blocks
#: the loop has surely reached the database and frozen it, so the next /healthz would hang.
HOLD_S = 1.5
#: A safety net only: the assertion is on ordering (answered while the write still waited).
PATIENCE_S = 60.0


def _call(cloud: CloudProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    request = urllib.request.Request(cloud.api_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE_S) as reply:
            return int(reply.status), json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), json.loads(exc.read() or b"null")


def _healthz(cloud: CloudProcess) -> int:
    with urllib.request.urlopen(cloud.api_url + "/healthz", timeout=PATIENCE_S) as reply:
        return int(reply.status)


@contextlib.contextmanager
def _write_lock(db_path: Path) -> Iterator[None]:
    """Another writer holds the database (WAL: readers go on, every write waits for it)."""
    holder = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@pytest.fixture
def cloud_process(tmp_path: Path) -> Iterator[CloudProcess]:
    service = CloudProcess(tmp_path)  # SQLite, the embedded broker: the ingest shares the loop
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.mark.slow
def test_healthz_answers_while_each_write_route_waits_for_the_database(
    cloud_process: CloudProcess, tmp_path: Path
) -> None:
    cloud = cloud_process
    agent_id = AgentProcess(tmp_path).enroll(cloud)  # a home row; no agent runs
    assert _call(cloud, "POST", "/api/v1/tenants", {"id": "acme"})[0] == 201
    plan = {"name": "basic", "cap_bytes": 10**12, "cycle_start_day": 1, "timezone": "UTC", "tenant": "acme"}
    status, created = _call(cloud, "POST", "/api/v1/plans", plan)
    assert status == 201, created
    plan_id = created["id"]
    status, household = _call(cloud, "POST", "/api/v1/subscribers", {"reference": "S-0", "tenant": "acme"})
    assert status == 201, household
    usage_plan = {"cap_bytes": 10**11, "cycle_start_day": 5, "timezone": "UTC"}
    writes: list[tuple[str, str, dict[str, Any], int]] = [
        ("POST", "/api/v1/subscribers", {"reference": "S-1", "tenant": "acme"}, 201),
        ("PATCH", f"/api/v1/subscribers/{household['id']}", {"name": "Ada", "plan_id": plan_id}, 200),
        ("PUT", f"/api/v1/agents/{agent_id}/subscriber", {"subscriber_id": household["id"]}, 200),
        ("PUT", f"/api/v1/agents/{agent_id}/plan", usage_plan, 200),
        ("PATCH", f"/api/v1/plans/{plan_id}", {"cap_bytes": 2 * 10**12}, 200),
        # Plain ``def`` routes, for contrast: they always ran in the thread pool.
        ("POST", "/api/v1/plans", {**plan, "name": "plus"}, 201),
    ]
    with ThreadPoolExecutor(max_workers=1) as pool:
        for method, path, body, expected in writes:
            with _write_lock(cloud.db_path):
                pending = pool.submit(_call, cloud, method, path, body)
                answered = _answers_while(lambda: _healthz(cloud) == 200, pending)
                assert answered, f"/healthz stalled until {method} {path} gave up on the locked database"
            status, reply = pending.result(timeout=PATIENCE_S)
            assert status == expected, (method, path, reply)
    # The writes are there, once each.
    with contextlib.closing(cloud.db()) as db:
        assert db.execute("SELECT count(*) FROM subscribers").fetchone() == (2,)
        (cap,) = db.execute("SELECT cap_bytes FROM usage_plans WHERE agent_id = ?", (agent_id,)).fetchone()
    assert cap == 2 * 10**12  # the plan's update reached the home it was attached to


def _answers_while(healthy: Callable[[], bool], pending: Future[Any]) -> int:
    """How many /healthz answers came while ``pending`` still waited (at least ten, over HOLD_S)."""
    answered = 0
    started = time.monotonic()
    while answered < 10 or time.monotonic() - started < HOLD_S:
        assert healthy()
        if pending.done():
            return 0
        answered += 1
    return answered


# -- the static guard ----------------------------------------------------------------------------

#: Calls that run SQL (or take a connection) on the calling thread.
_SESSION_CALLS = frozenset(
    {"execute", "scalar", "scalars", "get", "add", "delete", "flush", "commit", "rollback", "refresh"}
)


def _routes() -> Iterator[tuple[str, APIRoute]]:
    for info in pkgutil.iter_modules(cloud.api.routes.__path__):
        module = importlib.import_module(f"cloud.api.routes.{info.name}")
        router = getattr(module, "router", None)
        for route in getattr(router, "routes", []):
            if isinstance(route, APIRoute):
                yield info.name, route


def _blocking_calls(function: Callable[..., Any]) -> list[str]:
    """Database work written in ``function``'s own body, not in a function it hands to a thread:
    a ``sessions()`` or ``.begin()`` call, or a call on a name ``session``; and a Session parameter."""
    found = [
        f"parameter {name}"
        for name, hint in get_type_hints(function, include_extras=True).items()
        if Session in (hint, *getattr(hint, "__metadata__", ()), getattr(hint, "__origin__", None))
    ]
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    definition = tree.body[0]
    assert isinstance(definition, ast.AsyncFunctionDef)
    todo: list[ast.AST] = list(definition.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # a function of its own: judged where it runs (run_in_threadpool takes it)
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            owner = getattr(callee, "value", None)
            if name in {"sessions", "begin"} or (
                name in _SESSION_CALLS and isinstance(owner, ast.Name) and owner.id == "session"
            ):
                found.append(f"line {node.lineno}: {ast.unparse(node)[:60]}")
        todo.extend(ast.iter_child_nodes(node))
    return found


def test_no_async_route_touches_the_database_on_the_event_loop() -> None:
    checked = 0
    offenders = []
    for module, route in _routes():
        if not inspect.iscoroutinefunction(route.endpoint):
            continue
        checked += 1
        offenders += [f"{module}.{route.endpoint.__name__}: {c}" for c in _blocking_calls(route.endpoint)]
    assert checked >= 8  # the routes that publish to agents, stream, or wait for a command
    assert not offenders, "async routes doing database work on the loop:\n" + "\n".join(offenders)


def test_the_static_guard_sees_a_blocking_route() -> None:
    """The guard itself: the shape of finding 7's routes is flagged, its fix is not."""

    async def blocking(request: Request) -> None:
        with request.app.state.sessions() as session:
            session.commit()

    async def handed_off(request: Request) -> None:
        def work() -> None:
            with request.app.state.sessions() as session:
                session.commit()

        await run_in_threadpool(work)

    assert len(_blocking_calls(blocking)) == 2
    assert _blocking_calls(handed_off) == []
