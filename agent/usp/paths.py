"""USP path names (TR-369 section "Path Names"): parsed into segments, never matched as text.

    Device.Hosts.Host.                       an object (a partial path: everything under it)
    Device.Hosts.Host.2.Active               a parameter of one instance
    Device.Hosts.Host.*.HostName             a wildcard over the instances
    Device.Hosts.Host.[Active==true].        a search expression (``==`` and ``!=``, joined by ``&&``)
    Device.IP.Diagnostics.IPPing()           a command;  Device.Boot!  an event

A path that does not parse is :class:`PathError` 7008 (invalid path syntax).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from .const import ERR_INVALID_PATH_SYNTAX
from .errors import PathError

MAX_PATH_LENGTH: Final = 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TERM = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(==|!=)\s*(?:"([^"]*)"|([^"&\s]*))\s*$')

Kind = Literal["object", "param", "command", "event"]


@dataclass(frozen=True)
class Search:
    """``[Param==value&&Other!=value]``: every term must hold."""

    terms: tuple[tuple[str, str, str], ...]

    def matches(self, params: dict[str, str]) -> bool:
        for name, op, value in self.terms:
            found = params.get(name)
            if found is None or (found == value) != (op == "=="):
                return False
        return True


#: A segment: a name, an instance number, ``*``, or a search expression.
Segment = str | int | Search


@dataclass(frozen=True)
class Path:
    text: str
    kind: Kind
    #: The object part: every segment after ``Device``.
    segments: tuple[Segment, ...]
    #: The parameter, command (without ``()``) or event (without ``!``) name; "" for an object.
    leaf: str = ""

    @property
    def wildcarded(self) -> bool:
        return any(s == "*" or isinstance(s, Search) for s in self.segments)


def parse(text: str) -> Path:
    if not text or len(text) > MAX_PATH_LENGTH:
        raise PathError("a path must be 1 to 1024 characters", ERR_INVALID_PATH_SYNTAX)
    parts = _split(text)
    if parts[0] != "Device":
        raise PathError(f"{text[:80]!r} is not under Device.", ERR_INVALID_PATH_SYNTAX)
    kind: Kind = "object"
    leaf = ""
    if parts[-1] == "":
        parts = parts[:-1]
    else:
        leaf = parts.pop()
        if leaf.endswith("()"):
            kind, leaf = "command", leaf[:-2]
        elif leaf.endswith("!"):
            kind, leaf = "event", leaf[:-1]
        else:
            kind = "param"
        if not _NAME.match(leaf):
            raise PathError(f"{leaf[:64]!r} is not a name", ERR_INVALID_PATH_SYNTAX)
    return Path(text, kind, tuple(_segment(p, text) for p in parts[1:]), leaf)


def _split(text: str) -> list[str]:
    """Split at dots outside ``[...]`` (a search value may hold dots)."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == '"' and depth:
            quoted = not quoted
        elif char == "[" and not quoted:
            depth += 1
        elif char == "]" and not quoted:
            depth -= 1
        if char == "." and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        if depth < 0 or depth > 1:
            raise PathError("unbalanced search expression", ERR_INVALID_PATH_SYNTAX)
    if depth or quoted:
        raise PathError("unterminated search expression", ERR_INVALID_PATH_SYNTAX)
    parts.append("".join(current))
    return parts


def _segment(part: str, text: str) -> Segment:
    if part.isdigit() and part[0] != "0":
        return int(part)
    if part == "*":
        return part
    if part.startswith("[") and part.endswith("]"):
        terms = []
        for term in part[1:-1].split("&&"):
            match = _TERM.match(term)
            if match is None:
                raise PathError(
                    f"cannot read the search expression in {text[:80]!r}", ERR_INVALID_PATH_SYNTAX
                )
            terms.append((match[1], match[2], match[3] if match[3] is not None else match[4]))
        return Search(tuple(terms))
    if not _NAME.match(part):
        raise PathError(f"{part[:64]!r} in {text[:80]!r} is not a name", ERR_INVALID_PATH_SYNTAX)
    return part


def schema_path(path: str) -> str:
    """``Device.Hosts.Host.3.Active`` -> ``Device.Hosts.Host.{i}.Active`` (numbers become ``{i}``)."""
    return ".".join("{i}" if p.isdigit() else p for p in path.split("."))
