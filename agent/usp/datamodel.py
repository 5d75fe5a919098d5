"""The data model the agent serves: its objects, parameters and types, read from the typed Structs.

Values and schema have one source. :func:`instances` turns ``msgspec.to_builtins`` of the
Structs the agent already reports to the cloud (``protocol.samples``: the discovery inventory's
``Host`` entries, the diagnostics' outputs) into a tree of objects; :func:`supported` turns the
same Struct *types* into the supported data model (a ``list[Struct]`` is a multi-instance table,
an ``int`` with ``ge=0`` an ``unsignedInt``, a wire name is the Struct field's encode name). When
a Struct's field is renamed or retyped, both follow, and so does the cloud.

Values are strings as USP carries them (TR-106 section 3.2: ``true``/``false``, decimal numbers,
comma-separated lists).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import msgspec.inspect as mi

from .const import ERR_OBJECT_NOT_EXIST
from .errors import PathError
from .paths import Path, Search

#: Parameter types as GetSupportedDM names them (``ParamValueType`` without ``PARAM_``).
STRING, BOOLEAN, UNSIGNED_INT, UNSIGNED_LONG, INT, LONG, DECIMAL, DATE_TIME = (
    "STRING", "BOOLEAN", "UNSIGNED_INT", "UNSIGNED_LONG", "INT", "LONG", "DECIMAL", "DATE_TIME",
)  # fmt: skip


# -- values ---------------------------------------------------------------------------------------


@dataclass
class Node:
    """One object instance: its parameters, single sub-objects and tables of instances."""

    params: dict[str, str] = field(default_factory=dict)
    objects: dict[str, Node] = field(default_factory=dict)
    tables: dict[str, dict[int, Node]] = field(default_factory=dict)


def value_text(value: Any) -> str:
    """A builtin value as TR-106 writes it in a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={value_text(v)}" for k, v in value.items())
    return str(value)


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_object(value: Any, name: str, schema: SchemaObject | None) -> bool:
    if schema is not None:
        return name in schema.objects
    return isinstance(value, dict) and all(isinstance(v, dict | list) for v in value.values()) and bool(value)


def node_of(data: Mapping[str, Any], schema: SchemaObject | None = None) -> Node:
    """The object tree of ``data`` (builtins of a Struct). With ``schema``, only what it declares."""
    node = Node()
    for name, value in data.items():
        sub = schema.objects.get(name) if schema is not None else None
        if schema is not None and sub is None and name not in schema.params:
            continue
        if (sub is not None and sub.multi) or (schema is None and _is_table(value)):
            # A list numbers its rows 1, 2, ...; a dict keeps the instance numbers it was given.
            rows = dict(enumerate(value, 1)) if isinstance(value, list) else dict(value)
            node.tables[name] = {
                int(i): node_of(row, sub) for i, row in rows.items() if isinstance(row, dict)
            }
        elif (sub is not None) or (schema is None and _is_object(value, name, None)):
            node.objects[name] = node_of(value if isinstance(value, dict) else {}, sub)
        else:
            node.params[name] = value_text(value)
    # An empty table is still there (Get of Device.Hosts.Host. on an empty home is not an error).
    for name, sub in schema.objects.items() if schema is not None else ():
        if sub.multi:
            node.tables.setdefault(name, {})
        else:
            node.objects.setdefault(name, Node())
    return node


def flatten(node: Node, prefix: str = "") -> dict[str, str]:
    """Every parameter under ``node`` by relative name (``RouteHops.1.Host``): Operate's outputs."""
    out = {prefix + k: v for k, v in node.params.items()}
    for name, child in node.objects.items():
        out |= flatten(child, f"{prefix}{name}.")
    for name, rows in node.tables.items():
        for i, child in rows.items():
            out |= flatten(child, f"{prefix}{name}.{i}.")
    return out


def walk(node: Node, path: str) -> Iterator[tuple[str, Node]]:
    """``(path, node)`` of ``node`` and every object below it, depth first."""
    yield path, node
    for name, child in node.objects.items():
        yield from walk(child, f"{path}{name}.")
    for name, rows in node.tables.items():
        for i, child in rows.items():
            yield from walk(child, f"{path}{name}.{i}.")


def resolve(root: Node, path: Path) -> list[tuple[str, Node]]:
    """The instantiated objects ``path``'s object part names: ``[(path, node), ...]``.

    A table's name without an instance stands for all its instances (a partial path). An unknown
    name is :class:`PathError` 7026, a missing instance 7016 unless the path has wildcards (then
    it simply matches nothing, TR-369 section "Searching")."""
    current: list[tuple[str, Node]] = [("Device.", root)]
    segments = path.segments
    i = 0
    while i < len(segments):
        name = segments[i]
        if not isinstance(name, str) or name == "*":
            raise PathError(f"{path.text[:120]}: an instance where a name belongs")
        following = segments[i + 1] if i + 1 < len(segments) else None
        instance_step = following is not None and not (isinstance(following, str) and following != "*")
        nxt: list[tuple[str, Node]] = []
        for base, node in current:
            if name in node.objects and not instance_step:
                nxt.append((f"{base}{name}.", node.objects[name]))
            elif name in node.tables:
                rows = node.tables[name]
                if isinstance(following, int):
                    if following in rows:
                        nxt.append((f"{base}{name}.{following}.", rows[following]))
                    elif not path.wildcarded:
                        raise PathError(f"{base}{name}.{following}. does not exist", ERR_OBJECT_NOT_EXIST)
                elif isinstance(following, Search):
                    nxt += [(f"{base}{name}.{n}.", r) for n, r in rows.items() if following.matches(r.params)]
                else:  # ``*``, or the table's name alone (a partial path)
                    nxt += [(f"{base}{name}.{n}.", r) for n, r in rows.items()]
                    if following is not None and following != "*":
                        raise PathError(f"{base}{name}. is a table: name an instance")
            else:
                raise PathError(f"{base}{name}. is not in this agent's data model")
        current = nxt
        i += 2 if instance_step else 1
    return current


# -- schema ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Argument:
    """An Operate input argument: which catalogue parameter it sets, and how it converts."""

    name: str
    param: str
    #: The catalogue's value is the USP value times this (TR-181 milliseconds -> seconds: 0.001).
    scale: float = 1.0


@dataclass(frozen=True)
class Command:
    """A command of the model, run by the agent's catalogue command ``catalogue``."""

    path: str
    catalogue: str
    inputs: tuple[Argument, ...]
    #: The Struct of its output arguments (protocol.samples.decode.RESULT_DATA).
    outputs: type[msgspec.Struct] | None
    is_async: bool = True
    #: TR-181 input arguments accepted and not used (``DSCP``, ``Interface``): refusing them would
    #: break controllers that send the model's defaults.
    ignored: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[1]

    @property
    def object_path(self) -> str:
        return self.path.rsplit(".", 1)[0] + "."


@dataclass
class SchemaObject:
    params: dict[str, str] = field(default_factory=dict)
    objects: dict[str, SchemaObject] = field(default_factory=dict)
    multi: bool = False
    writable: frozenset[str] = frozenset()
    #: ``OBJ_ADD_DELETE`` for the tables a controller may add to (Subscription), else read-only.
    add_delete: bool = False
    unique_keys: tuple[str, ...] = ()


def _unwrap(kind: mi.Type) -> mi.Type:
    while True:
        if isinstance(kind, mi.Metadata):
            kind = kind.type
        elif isinstance(kind, mi.UnionType):
            others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
            if len(others) != 1:
                return mi.StrType()
            kind = others[0]
        else:
            return kind


def _param_type(kind: mi.Type, described: str = "") -> str:
    if "dateTime" in described:
        return DATE_TIME
    if isinstance(kind, mi.Metadata):
        text = str((kind.extra_json_schema or {}).get("description", ""))
        return _param_type(kind.type, text or described)
    if isinstance(kind, mi.UnionType):
        others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        return _param_type(others[0], described) if len(others) == 1 else STRING
    if isinstance(kind, mi.BoolType):
        return BOOLEAN
    if isinstance(kind, mi.IntType):
        low = kind.ge if kind.ge is not None else (kind.gt + 1 if kind.gt is not None else None)
        high = kind.le if kind.le is not None else kind.lt
        if low is not None and low >= 0:
            return UNSIGNED_INT if high is not None and high <= 2**32 - 1 else UNSIGNED_LONG
        small = low is not None and high is not None and low >= -(2**31) and high <= 2**31 - 1
        return INT if small else LONG
    if isinstance(kind, mi.FloatType):
        return DECIMAL
    return STRING


def _row_type(kind: mi.Type) -> mi.StructType | None:
    """The row Struct of a table field: ``list[Struct]`` or ``dict[int, Struct]``."""
    if isinstance(kind, mi.ListType):
        row = _unwrap(kind.item_type)
    elif isinstance(kind, mi.DictType) and isinstance(_unwrap(kind.key_type), mi.IntType):
        row = _unwrap(kind.value_type)
    else:
        return None
    return row if isinstance(row, mi.StructType) else None


def schema_of(struct: type[msgspec.Struct], omit: frozenset[str] = frozenset()) -> SchemaObject:
    """The object a Struct type is: its fields by wire name; ``omit`` names fields left out."""
    info = typing.cast(mi.StructType, mi.type_info(struct))
    obj = SchemaObject()
    for f in info.fields:
        if f.encode_name in omit or f.name in omit:
            continue
        inner = _unwrap(f.type)
        if isinstance(inner, mi.StructType):
            obj.objects[f.encode_name] = schema_of(inner.cls)
        elif _row_type(inner) is not None:
            item = typing.cast(mi.StructType, _row_type(inner))
            table = schema_of(item.cls)
            table.multi = True
            obj.objects[f.encode_name] = table
        else:
            obj.params[f.encode_name] = _param_type(f.type)
    return obj


def argument_names(struct: type[msgspec.Struct] | None) -> list[str]:
    """Output argument names of a command, TR-369 style (``RouteHops.{i}.Host``)."""
    if struct is None:
        return []
    return _names(schema_of(struct), "")


def _names(obj: SchemaObject, prefix: str) -> list[str]:
    names = [prefix + p for p in obj.params]
    for name, sub in obj.objects.items():
        names += _names(sub, f"{prefix}{name}.{{i}}." if sub.multi else f"{prefix}{name}.")
    return names


def supported_objects(root: SchemaObject, path: str = "Device.") -> Iterator[tuple[str, SchemaObject]]:
    """``(schema path, object)`` of every object, ``Device.Hosts.Host.{i}.`` style."""
    yield path, root
    for name, sub in root.objects.items():
        yield from supported_objects(sub, f"{path}{name}.{{i}}." if sub.multi else f"{path}{name}.")
