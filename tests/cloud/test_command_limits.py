"""Issue 17, finding 3: a command's parameters are the catalogue's typed, bounded ones (unknown keys
refused, the refusal a sentence that never repeats the input), an audit row is bounded whatever its
caller passes, and the audit and command lists page. Finding 8's per-login and per-process stream
bounds as a unit (the streams themselves: tests/integration/test_stream_limits.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from sqlalchemy import select

from cloud import audit
from cloud.api.routes.commands import StreamSlots
from cloud.const import AUDIT_DETAILS_MAX_BYTES, AUDIT_PAGE_MAX
from cloud.storage import AuditEntry
from protocol import MalformedMessage
from protocol.catalogue import CATALOGUE, decode_params
from tests.cloud.accounts_world import World, make_world

#: Large, but inside the API's request-body limit: what reaches the catalogue and the audit.
BIG = "A" * 600_000
SECRET_KEY = "zz_not_a_parameter_zz"
BAD_BODIES: dict[str, dict[str, Any]] = {
    "unknown key": {"name": "ping", "params": {"host": "192.0.2.1", SECRET_KEY: 1}},
    "oversized host": {"name": "ping", "params": {"host": BIG}},
    "oversized url": {"name": "http_check", "params": {"url": "https://" + BIG}},
    "huge unknown value": {
        "name": "run_probe",
        "params": {"probe": "netdev", "then": [BIG[:300_000], {"x": BIG[:300_000]}]},
    },
    "count out of range": {"name": "ping", "params": {"host": "192.0.2.1", "count": 10**30}},
    "wrong type": {"name": "traceroute", "params": {"host": "192.0.2.1", "max_hops": "30"}},
    "missing": {"name": "dns_lookup", "params": {}},
    "bad pattern": {"name": "run_probe", "params": {"probe": "net dev; rm -rf /"}},
    "params to a command without any": {"name": "usage_snapshot", "params": {"x": 1}},
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    # SQLite only: what is bounded here is the API and the audit, not the store.
    yield from make_world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)


def _plain(detail: object) -> str:
    """The detail is one sentence for a person: no echo, no regex, no type names or JSON paths."""
    assert isinstance(detail, str), detail
    assert len(detail) < 400, detail
    for token in ("AAAA", SECRET_KEY, "`", "^", "$.", "Expected", "str", "Object", "regex"):
        assert token not in detail, (token, detail)
    return detail


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_parameters_get_a_plain_422_without_the_input(world: World, case: str) -> None:
    alpha = world.ids["alpha"]
    reply = world.client.post(
        f"/api/v1/agents/{alpha.agent}/commands", json=BAD_BODIES[case], headers=world.headers("alpha", "csr")
    )
    assert reply.status_code == 422, reply.text[:300]
    assert len(reply.content) < 1000
    detail = _plain(reply.json()["detail"])
    assert "again" in detail, "says what to do next"
    assert world.ingest.published == [], "nothing refused reaches an agent"


def test_refusals_name_the_parameter_and_its_bounds() -> None:
    with pytest.raises(MalformedMessage, match=r"count must be a whole number from 1 to 100"):
        decode_params("ping", {"host": "192.0.2.1", "count": 101})
    with pytest.raises(MalformedMessage, match=r"takes only these parameters: host, count, timeout_s"):
        decode_params("ping", {"host": "192.0.2.1", "shell": "id"})
    with pytest.raises(MalformedMessage, match=r"needs host"):
        decode_params("ping", {})
    # What fits is decoded as before, defaults filled in.
    ping = decode_params("ping", {"host": "192.0.2.1"})
    assert msgspec.to_builtins(ping) == {"host": "192.0.2.1", "count": 4, "timeout_s": 1.0}


def _bounded(kind: mi.Type) -> bool:
    if isinstance(kind, mi.Metadata):
        return _bounded(kind.type)
    if isinstance(kind, mi.UnionType):
        return all(_bounded(t) for t in kind.types)
    if isinstance(kind, mi.StrType):
        return kind.max_length is not None
    if isinstance(kind, mi.IntType | mi.FloatType):
        return (kind.ge, kind.gt) != (None, None) and (kind.le, kind.lt) != (None, None)
    if isinstance(kind, mi.ListType | mi.DictType):
        return kind.max_length is not None and _bounded(
            kind.item_type if isinstance(kind, mi.ListType) else kind.value_type
        )
    return isinstance(kind, mi.NoneType | mi.BoolType)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_parameter_of_every_command_is_bounded(name: str) -> None:
    """The class: the next parameter someone adds without bounds fails here (both sides decode
    with these schemas, so the agent refuses what the cloud would)."""
    info = mi.type_info(CATALOGUE[name].params)
    assert isinstance(info, mi.StructType)
    assert info.forbid_unknown_fields
    for field in info.fields:
        assert _bounded(field.type), f"{name}.{field.name} has no bound on one side"


def _audit_sizes(world: World) -> list[int]:
    with world.sessions() as session:
        return [len(msgspec.json.encode(e.details)) for e in session.scalars(select(AuditEntry))]


def test_refused_commands_are_audited_within_the_bound(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    for body in BAD_BODIES.values():
        assert (
            world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=body, headers=csr).status_code
            == 422
        )
    assert max(_audit_sizes(world)) <= AUDIT_DETAILS_MAX_BYTES
    # Each refusal is still there, with what fits: which command, and that its details were cut.
    log = world.client.get(
        f"/api/v1/audit?agent_id={alpha.agent}", headers=world.headers("alpha", "supervisor")
    )
    refused = [e for e in log.json() if e["outcome"].startswith("refused")]
    assert len(refused) == len(BAD_BODIES)
    cut = [e for e in refused if audit.TRUNCATED_KEY in e["details"]]
    assert {e["details"]["name"] for e in cut} == {"ping", "http_check", "run_probe"}
    assert all(e["details"][audit.TRUNCATED_KEY] > AUDIT_DETAILS_MAX_BYTES for e in cut)
    assert len(world.client.get("/api/v1/me/audit", headers=csr).content) < 10 * AUDIT_DETAILS_MAX_BYTES


@pytest.mark.parametrize(
    "details",
    [
        {"note": "x" * 10**6},
        {"params": {f"k{i}": "v" * 50 for i in range(10**4)}},
        {"k" * 10**5: 1, "other": "kept"},
        {"list": list(range(10**5))},
        {"nested": [[[[["y" * 10**5]]]]] * 50},
        {"text": '\u00e9\x01\\"' * 10**4},
    ],
)
def test_any_caller_s_audit_row_is_bounded(world: World, details: dict[str, Any]) -> None:
    with world.sessions.begin() as session:
        audit.record(session, actor="platform", action="test", agent_id=None, details=details, outcome="ok")
    with world.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "test")).one()
    assert len(msgspec.json.encode(entry.details)) <= AUDIT_DETAILS_MAX_BYTES
    assert entry.details[audit.TRUNCATED_KEY] == len(msgspec.json.encode(details))


def test_small_details_are_kept_as_they_are() -> None:
    details = {"name": "ping", "params": {"host": "192.0.2.1"}, "ttl_s": 120, "wait": False}
    assert audit.bounded(details) is details


def _page(world: World, path: str, headers: dict[str, str], **query: int) -> list[Any]:
    reply = world.client.get(path, params=query, headers=headers)
    assert reply.status_code == 200, reply.text
    rows: list[Any] = reply.json()
    return rows


def test_audit_logs_and_command_lists_page(world: World) -> None:
    alpha = world.ids["alpha"]
    csr = world.headers("alpha", "csr")
    for i in range(7):
        body = {"name": "ping", "params": {"host": f"192.0.2.{i + 1}"}}
        assert (
            world.client.post(f"/api/v1/agents/{alpha.agent}/commands", json=body, headers=csr).status_code
            == 202
        )
    supervisor = world.headers("alpha", "supervisor")
    for path, headers in (
        ("/api/v1/me/audit", csr),
        ("/api/v1/audit", supervisor),
        (f"/api/v1/agents/{alpha.agent}/commands", csr),
    ):
        everything = _page(world, path, headers, limit=50)
        assert len(everything) >= 8, path
        pages = [_page(world, path, headers, limit=3, offset=o) for o in range(0, len(everything), 3)]
        assert [row for page in pages for row in page] == everything, f"{path}: pages are the whole, in order"
        assert _page(world, path, headers, limit=3, offset=10**6) == []
        for bad in ({"limit": 0}, {"limit": AUDIT_PAGE_MAX + 1}, {"offset": -1}, {"offset": 2**63}):
            reply = world.client.get(path, params=bad, headers=headers)
            assert reply.status_code == 422, (path, bad, reply.text[:200])


def test_stream_slots_are_bounded_per_login_and_in_all() -> None:
    slots = StreamSlots(per_login=2, total=3)
    assert slots.take("carol") is None
    assert slots.take("carol") is None
    refusal = slots.take("carol")
    assert refusal is not None and "try again" in refusal
    assert slots.take("dave") is None
    assert slots.take("erin") is not None, "the process is full"
    slots.give("carol")
    assert slots.take("erin") is None, "a slot given back is free again"
    assert slots.held() == 3 and slots.held("carol") == 1
