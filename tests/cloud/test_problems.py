"""Every error answer is an RFC 9457 problem document (issue 18, item 4).

``type`` and ``title`` are stable per kind of problem, ``detail`` is a sentence for people, the
content type is ``application/problem+json``, the headers that tell a client what to do next
(WWW-Authenticate, Retry-After, Connection) are kept, a 422 names each field in words without
echoing what was sent, and an unexpected exception is a 500 without traceback text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import APIRouter, FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import update

from cloud import accounts
from cloud.api import errors as problems
from cloud.api.models import Input
from cloud.errors import (
    AccountError,
    AgentOffline,
    AgentUnknown,
    BrokerError,
    CommandInvalid,
    CommandRefused,
    ConsentRequired,
    EnrollmentRefused,
    HashingBusy,
    LoginLocked,
    LoginRefused,
    NotFound,
    NotInService,
    RateLimited,
    StorageError,
    TokenInvalid,
)
from cloud.printer_setup import SetupError
from cloud.storage import Agent
from protocol import MalformedMessage
from tests.cloud.accounts_world import OPERATOR, PASSWORD, World, make_world

PROBLEM_JSON = "application/problem+json"
#: What a person must never read: pydantic's and Python's developer text.
DEVELOPER_TEXT = (
    "Traceback",
    "Expected `",
    "Input should",
    "String should",
    "Value error",
    "pattern",
    "regex",
    "^",
    "{'",
    "ctx",
    "input",
)
#: 10 KiB that looks like a regex and a script: none of it may come back.
HOSTILE = ("^(?:[a-z]+)*$<script>EchoMe</script>" * 300)[: 10 * 1024]
#: How the API answers each domain error: (status, type slug, extra header). A table of its own, so
#: a change to cloud/api/errors.py's shows here.
EXPECTED: list[tuple[Exception, int, str, str | None]] = [
    (NotFound("no such agent"), 404, "not-found", None),
    (AgentUnknown("no such agent"), 404, "not-found", None),
    (CommandInvalid("ping: count must be a whole number from 1 to 100"), 422, "invalid-command", None),
    (AgentOffline("the agent is offline"), 409, "agent-offline", None),
    (
        NotInService("'add_printer' is not part of the subscriber's standard service"),
        403,
        "not-in-service",
        None,
    ),
    (ConsentRequired("needs a remote-assistance session"), 403, "consent-required", None),
    (EnrollmentRefused("invalid, used or expired pairing code"), 403, "enrollment-refused", None),
    (
        RateLimited("too many failed pairing attempts; try again later", 60),
        429,
        "rate-limited",
        "retry-after",
    ),
    (AccountError("a password needs at least 12 characters"), 422, "unprocessable", None),
    (LoginRefused("wrong tenant, username or password"), 400, "bad-request", None),
    (LoginLocked("too many failures; try again later", 30), 429, "login-locked", "retry-after"),
    (TokenInvalid("refresh token reused"), 401, "token-invalid", "www-authenticate"),
    (HashingBusy("try again in a few seconds", 5), 503, "busy", "retry-after"),
    (SetupError("That is not a printer URI."), 422, "unprocessable", None),
    (MalformedMessage("unknown time zone"), 422, "unprocessable", None),
    (StorageError("cannot use database 'postgresql://u:secret@db/x'"), 503, "unavailable", None),
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)


def _problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """The answer as a problem: its status, media type, members, and a stable title for its type."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"], body
    if slug is not None:
        kind = problems.KINDS[slug]
        assert (body["type"], body["title"]) == (f"/problems/{slug}", kind.title)
    return body


def _plain(response: Any) -> None:
    """What people read (``title``, ``detail``, each field and sentence) has no developer text, and
    nothing of the answer repeats the hostile value."""
    problem = response.json()
    texts = [problem["title"], problem["detail"]]
    texts += [e[key] for e in problem.get("errors", []) for key in ("field", "sentence")]
    for text in texts:
        for token in DEVELOPER_TEXT:
            assert token not in text, (token, text)
    for token in ("EchoMe", "script", "(?:"):
        assert token not in response.text, (token, response.text[:300])


# --- the table: each domain error class ------------------------------------------------------


def _raiser(errors: list[Exception]) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    for n, error in enumerate(errors):
        app.add_api_route(f"/boom/{n}", _raising(error))
    return app


def _raising(error: Exception) -> Callable[[], None]:
    def boom() -> None:
        raise error

    return boom


@pytest.mark.parametrize(
    ("n", "case"), list(enumerate(EXPECTED)), ids=[type(c[0]).__name__ for c in EXPECTED]
)
def test_each_domain_error_maps_to_its_status_type_and_title(n: int, case: tuple[Any, ...]) -> None:
    error, status, slug, header = case
    client = TestClient(_raiser([e for e, *_ in EXPECTED]))
    response = client.get(f"/boom/{n}")
    body = _problem(response, status, slug)
    if isinstance(error, StorageError):  # its message is for the log: a URL, maybe a password
        assert "secret" not in response.text and body["detail"] == problems.KINDS[slug].detail
    else:
        assert body["detail"] == str(error), "the domain's sentence is the detail, unchanged"
    if header == "retry-after":
        assert response.headers["retry-after"] == str(error.retry_after_s)
    elif header == "www-authenticate":
        assert response.headers["www-authenticate"] == "Bearer"


def test_every_command_refusal_has_a_kind_of_its_own() -> None:
    """The subtree that replaced ``CommandRejected(reason, http_status)``: no HTTP inside, and each
    kind of refusal answered distinctly."""
    refusals = CommandRefused.__subclasses__()
    assert {cls.__name__ for cls in refusals} >= {
        "CommandInvalid",
        "AgentUnknown",
        "AgentOffline",
        "NotInService",
        "ConsentRequired",
    }
    for cls in refusals:
        assert cls in problems.DOMAIN, cls
        assert not hasattr(cls("x"), "http_status")


def test_an_unlisted_cloud_error_is_a_plain_500() -> None:
    client = TestClient(
        _raiser([BrokerError("amqtt on 127.0.0.1:1883: address in use")]), raise_server_exceptions=False
    )
    body = _problem(client.get("/boom/0"), 500, "internal")
    assert "amqtt" not in body["detail"] and "1883" not in body["detail"]


# --- through the API's own routes ------------------------------------------------------------


def test_a_404_is_a_problem(world: World) -> None:
    beta = world.ids["beta"]
    response = world.client.get(f"/api/v1/agents/{beta.agent}", headers=world.headers("alpha", "csr"))
    assert _problem(response, 404, "not-found")["detail"] == (
        "No home with that id is visible to this login; check the id and try again."
    )
    unknown = _problem(world.client.get("/api/v1/no-such-thing"), 404, "not-found")
    assert unknown["detail"] != "Not Found", "Starlette's default phrase is said in words"


def test_a_401_keeps_www_authenticate(world: World) -> None:
    response = world.client.get("/api/v1/agents", headers={"Authorization": "Bearer not-a-token"})
    _problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert _problem(world.client.get("/api/v1/agents"), 401, "unauthorized")["detail"]


def test_a_403_names_the_role(world: World) -> None:
    response = world.client.get("/api/v1/audit", headers=world.headers("alpha", "csr"))
    assert "supervisor" in _problem(response, 403, "forbidden")["detail"]


def test_command_refusals_keep_their_status_and_sentence(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    with world.sessions.begin() as session:
        session.execute(update(Agent).where(Agent.id == alpha.other_agent).values(online=False))
    ping = {"name": "ping", "params": {"host": "192.0.2.1"}}
    offline = world.client.post(f"/api/v1/agents/{alpha.other_agent}/commands", json=ping, headers=csr)
    assert "offline" in _problem(offline, 409, "agent-offline")["detail"]
    bad = {"name": "ping", "params": {"host": HOSTILE}}
    refused = world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=bad, headers=csr)
    body = _problem(refused, 422, "invalid-command")
    assert "host must be" in body["detail"]
    _plain(refused)
    assert world.ingest.published == []


def test_a_409_is_a_problem(world: World) -> None:
    alpha = world.ids["alpha"]
    admin = world.headers("alpha", "admin")
    response = world.client.delete(f"/api/v1/users/{alpha.users['admin']}", headers=admin)
    assert "cannot delete your own login" in _problem(response, 409, "conflict")["detail"]


def test_a_413_is_a_problem_and_closes_the_connection(world: World) -> None:
    limit = world.app.state.settings.max_body_bytes
    response = world.client.post(
        "/api/v1/enrollments", content=b"{" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    body = _problem(response, 413, "too-large")
    assert "larger than" in body["detail"] and "send less" in body["detail"]
    assert response.headers["connection"] == "close"


def test_a_503_keeps_retry_after(world: World) -> None:
    accounts.PASSWORD_HASHES.configure(1, 0.01)
    try:
        with accounts.PASSWORD_HASHES.turn():
            response = world.client.post(
                "/api/v1/auth/token", data={"tenant": "alpha", "username": "csr-alpha", "password": PASSWORD}
            )
    finally:
        accounts.PASSWORD_HASHES.configure(
            world.app.state.settings.password_hash_concurrency, world.app.state.settings.password_hash_wait_s
        )
    _problem(response, 503, "busy")
    assert int(response.headers["retry-after"]) > 0


def test_a_login_lockout_is_a_429_with_retry_after(world: World) -> None:
    wrong = {"tenant": "alpha", "username": "csr-alpha", "password": "not the password"}
    answers = [world.client.post("/api/v1/auth/token", data=wrong) for _ in range(12)]
    assert answers[0].status_code == 400
    assert (
        _problem(answers[0], 400, "bad-request")["detail"]
        == "invalid_grant: wrong tenant, username or password"
    )
    locked = answers[-1]
    _problem(locked, 429, "login-locked")
    assert int(locked.headers["retry-after"]) > 0


# --- 422: fields named in words, nothing echoed ----------------------------------------------


def _hostile_bodies(world: World) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, words the first sentence must contain)."""
    agent = world.ids["alpha"].agent
    return [
        ("POST", "/api/v1/tenants", {"id": HOSTILE[:60], "name": "x"}, "The id "),
        ("POST", "/api/v1/tenants", {"id": HOSTILE, "name": "x"}, "The id "),
        ("POST", "/api/v1/enrollments", {"code": HOSTILE, "public_key": HOSTILE, "csr": 5}, "The code "),
        (
            "POST",
            f"/api/v1/agents/{agent}/playbooks/internet-is-slow",
            {"gateway": HOSTILE[:200], "internet": "192.0.2.1", "name": "example.com"},
            "The gateway must be a host name or an IP address",
        ),
        (
            "POST",
            f"/api/v1/agents/{agent}/playbooks/printer-wont-print",
            {"uri": "http://" + HOSTILE},
            "The uri must be a printer address",
        ),
        ("POST", f"/api/v1/agents/{agent}/commands", {"name": HOSTILE, "params": {}}, "The name must be"),
        (
            "POST",
            f"/api/v1/agents/{agent}/commands",
            {"name": "ping", "params": HOSTILE},
            "The params must be",
        ),
        ("POST", f"/api/v1/agents/{agent}/commands", {"name": "ping", "ttl_s": HOSTILE}, "The ttl_s must be"),
        ("POST", "/api/v1/users", {"username": HOSTILE, "role": HOSTILE}, "The username "),
    ]


def test_a_422_names_the_field_and_never_echoes_the_value(world: World) -> None:
    failures = []
    for method, path, body, words in _hostile_bodies(world):
        response = world.client.request(method, path, json=body, headers=OPERATOR)
        problem = _problem(response, 422, "invalid-fields")
        try:
            _plain(response)
            assert HOSTILE[:40] not in response.text
            assert len(response.content) < 8192
            assert problem["detail"].startswith(words), problem["detail"]
            for error in problem["errors"]:
                assert set(error) == {"loc", "field", "sentence", "type"}
                assert error["field"] in error["sentence"] or error["sentence"].startswith("The request"), (
                    error
                )
                assert error["sentence"][:1].isupper() and error["sentence"].endswith("."), error
        except AssertionError as exc:
            failures.append(f"{path} {list(body)}: {exc}")
    assert not failures, "\n".join(failures)


def test_a_form_field_and_a_query_are_named_too(world: World) -> None:
    form = world.client.post("/api/v1/auth/token", data={"username": HOSTILE})
    body = _problem(form, 422, "invalid-fields")
    assert body["detail"].startswith("The username can have at most 128 characters")
    assert HOSTILE[:40] not in form.text
    agent = world.ids["alpha"].agent
    query = world.client.get(f"/api/v1/agents/{agent}/telemetry?since={HOSTILE[:500]}", headers=OPERATOR)
    body = _problem(query, 422, "invalid-fields")
    assert body["errors"][0]["loc"] == ["query", "since"]
    assert body["detail"].startswith("The since must be a date and time")
    _plain(query)
    broken = world.client.post(
        "/api/v1/tenants",
        content=b'{"id": "' + HOSTILE.encode(),
        headers={**OPERATOR, "Content-Type": "application/json"},
    )
    assert "not valid JSON" in _problem(broken, 422, "invalid-fields")["detail"]
    _plain(broken)


class _Everything(Input):
    """One field of each kind a route declares, to see every common refusal in words."""

    short: str = Field(min_length=3, max_length=5)
    named: str = Field(pattern=r"^[a-z]+$")
    whole: int = Field(ge=1, le=10)
    above: float = Field(gt=0, lt=1)
    choice: str = Field(default="a", pattern=r"^(a|b)$")
    kind: Any = Field(default=None)
    flag: bool = False
    tags: list[str] = Field(default=[], max_length=2)
    nested: dict[str, int] = Field(default={})
    own: str = Field(
        default="", max_length=2, json_schema_extra={"x-sentence": "the own must be two letters"}
    )


class _Strict(BaseModel, extra="forbid"):
    mode: Literal["fast", "slow"] = "fast"


def _sentences_app() -> FastAPI:
    router = APIRouter()

    @router.post("/everything")
    def everything(body: _Everything) -> None:
        pass

    @router.post("/strict")
    def strict(body: _Strict) -> None:
        pass

    @router.get("/query")
    def query(limit: int = Query(ge=1, le=100), name: str = Query(title="device name", max_length=8)) -> None:
        pass

    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/everything", {"named": "a", "whole": 1, "above": 0.5}, "The short is missing"),
        (
            "/everything",
            {"short": "a", "named": "a", "whole": 1, "above": 0.5},
            "The short needs at least 3 characters",
        ),
        (
            "/everything",
            {"short": HOSTILE, "named": "a", "whole": 1, "above": 0.5},
            "The short can have at most 5",
        ),
        (
            "/everything",
            {"short": "abc", "named": HOSTILE, "whole": 1, "above": 0.5},
            "The named has characters",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": HOSTILE, "above": 0.5},
            "The whole must be a whole number",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 11, "above": 0.5},
            "The whole must be at most 10",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 0, "above": 0.5},
            "The whole must be at least 1",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 1},
            "The above must be less than 1",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0},
            "The above must be more than 0",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": HOSTILE},
            "The above must be a number",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0.5, "flag": HOSTILE},
            "The flag must be true or false",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0.5, "tags": ["a", "b", "c"]},
            "The tags can hold at most 2 items",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0.5, "tags": HOSTILE},
            "The tags must be a list",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0.5, "tags": ["a", 5]},
            "The tags (item 2) must be text",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0.5, "nested": HOSTILE},
            "The nested must be an object",
        ),
        (
            "/everything",
            {"short": "abc", "named": "a", "whole": 1, "above": 0.5, "own": HOSTILE},
            "The own must be two letters",
        ),
        (
            "/everything",
            {"short": "abc\x00", "named": "a", "whole": 1, "above": 0.5},
            "Check the short: remove the NUL",
        ),
        ("/everything", HOSTILE, "The request body must be an object"),
        ("/strict", {"mode": HOSTILE}, "The mode must be 'fast' or 'slow'"),
        ("/strict", {"mode": "fast", HOSTILE[:30]: 1}, "The request has a field this endpoint does not take"),
    ],
)
def test_common_pydantic_refusals_read_as_sentences(path: str, body: Any, words: str) -> None:
    response = TestClient(_sentences_app()).post(path, json=body)
    problem = _problem(response, 422, "invalid-fields")
    assert problem["detail"].startswith(words), problem["detail"]
    assert problem["errors"][0]["sentence"] in problem["detail"]
    if "extra_forbidden" in response.text:  # the unknown key is its ``loc``, cut to 64 characters
        assert problem["errors"][0]["loc"] == ["body", HOSTILE[:30]]
    else:
        _plain(response)


def test_query_parameters_use_their_title_as_their_name() -> None:
    client = TestClient(_sentences_app())
    problem = _problem(client.get("/query", params={"limit": 0, "name": HOSTILE}), 422, "invalid-fields")
    assert [e["sentence"] for e in problem["errors"]] == [
        "The limit must be at least 1.",
        "The device name can have at most 8 characters; shorten it and send it again.",
    ]
    assert problem["detail"].endswith("1 more value needs correcting too; see errors.")


class _Many(BaseModel):
    items: list[int] = Field(max_length=1000)


def test_a_422_holds_at_most_twenty_errors() -> None:
    app = FastAPI()
    problems.install(app)

    @app.post("/many")
    def many(body: _Many) -> None:
        pass

    response = TestClient(app).post("/many", json={"items": [HOSTILE[:20]] * 500})
    problem = _problem(response, 422, "invalid-fields")
    assert len(problem["errors"]) == problems.MAX_ERRORS
    assert "499 more values" in problem["detail"]
    assert len(response.content) < 8192


# --- the last resort, the pages and the document ----------------------------------------------


def test_an_unexpected_exception_is_a_500_without_its_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("the secret is hunter2 at /srv/homediag/db.sqlite")

    world.app.add_api_route("/api/v1/broken", broken)
    client = TestClient(world.app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="cloud.api.errors"):
        response = client.get("/api/v1/broken")
    body = _problem(response, 500, "internal")
    for token in ("hunter2", "RuntimeError", "Traceback", "db.sqlite", 'File "'):
        assert token not in response.text
    incident = re.fullmatch(r"urn:uuid:([0-9a-f-]{36})", body["instance"])
    assert incident is not None
    logged = [r for r in caplog.records if incident.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the log has what the answer leaves out"


def test_every_type_is_a_page(world: World) -> None:
    index = world.client.get("/problems")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    for kind in problems.KINDS.values():
        page = world.client.get(kind.type)
        assert page.status_code == 200, kind
        assert kind.title.replace("'", "&#x27;") in page.text
        assert kind.type in index.text
    _problem(world.client.get("/problems/nonsense"), 404, "not-found")


def test_the_openapi_document_describes_error_answers_as_problems(world: World) -> None:
    spec = world.app.openapi()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"ProblemPublic", "ValidationProblemPublic", "FieldProblemPublic"} <= set(schemas)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "default" in responses, (method, path)
            for code, answer in responses.items():
                if code == "default" or code[0] in "45":
                    assert list(answer["content"]) == [PROBLEM_JSON], (method, path, code)
    assert spec["paths"]["/api/v1/tenants"]["post"]["responses"]["422"]["content"][PROBLEM_JSON][
        "schema"
    ] == {"$ref": "#/components/schemas/ValidationProblemPublic"}
