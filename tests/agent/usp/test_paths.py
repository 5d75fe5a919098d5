"""Path names parse into segments; anything else is 7008, a typed error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.usp.errors import PathError
from agent.usp.paths import Search, parse, schema_path


def test_kinds_of_path() -> None:
    assert parse("Device.Hosts.Host.").kind == "object"
    param = parse("Device.Hosts.Host.2.Active")
    assert (param.kind, param.segments, param.leaf) == ("param", ("Hosts", "Host", 2), "Active")
    command = parse("Device.IP.Diagnostics.IPPing()")
    assert (command.kind, command.leaf) == ("command", "IPPing")
    assert parse("Device.Boot!").kind == "event"


def test_wildcards_and_search_expressions() -> None:
    path = parse('Device.Hosts.Host.[HostName=="a.b"&&Active!=false].IPAddress')
    search = path.segments[2]
    assert isinstance(search, Search) and path.wildcarded
    assert search.matches({"HostName": "a.b", "Active": "true"})
    assert not search.matches({"HostName": "a.b", "Active": "false"})
    assert parse("Device.Hosts.Host.*.Active").wildcarded


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hosts.",
        "Device.Hosts.Host.[Active=true].",
        "Device..Host",
        "Device.Host.01.",
        "Device.[",
        "Device.a b",
    ],
)
def test_bad_syntax_is_7008(text: str) -> None:
    with pytest.raises(PathError) as caught:
        parse(text)
    assert caught.value.code == 7008


def test_schema_path() -> None:
    assert schema_path("Device.Hosts.Host.3.Active") == "Device.Hosts.Host.{i}.Active"


@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_path_error(text: str) -> None:
    with contextlib.suppress(PathError):
        parse(text)
