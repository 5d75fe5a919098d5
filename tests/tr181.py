"""The official TR-181 model as data, and a checker of the agent's JSON against it (issue 19).

The loader reads the Broadband Forum's XML (root ``tr-181-2-19-1-usp.xml``) the way its report tool
does: imports name components and data types in other files (``tr-181-2-ip.xml`` is the newest
``tr-181-2-<a>-<b>-ip.xml`` present), a component is spliced in where it is referenced (under its
``path``), a model starts from its ``base`` model, and ``base=`` items modify what is already there.
TR-106 data types (``IPv4Address`` on ``IPAddress``, ``Dbm1000``, ``dateTime`` ...) resolve to a
base type with their facets. Files the root imports but the copy lacks (a bibliography, a few
components of other standards) are skipped and listed in ``Model.missing``.

How TR-181 travels in our JSON (what the checker enforces):

- a single-instance object is a JSON object under its name (``{"SD": {...}}``); a table
  ``Name.{i}.`` is a JSON array of objects under ``Name``; command output arguments are the keys of
  the result's data (input arguments, echoed back, are accepted too);
- a parameter with a ``list`` is a JSON array of its item type, never a comma-separated string;
- ``unsignedInt``/``int``/``unsignedLong``/``long`` are JSON integers in range (never floats),
  ``boolean`` a JSON boolean, ``dateTime`` a TR-106 UTC string (``2026-12-02T16:00:00.123456Z``;
  ``0001-01-01T00:00:00Z`` when unknown), never null;
- a reference is a path into its target table, ``Device.IP.Interface.1`` (a trailing dot is
  accepted; the empty string is TR-106's null reference);
- a name the model lacks carries ``X_HOMEDIAG-DEV_``; an extension and everything under a vendor
  object are ours and not checked, except where ``protocol.tr181.NESTED`` says a TR-181 object
  sits inside one.

``python -m tests.tr181 KIND FILE [--status S]`` prints one deviation a line and exits 1 if any.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import datetime as dt
import functools
import json
import os
import re
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from protocol.samples import RESULT_DATA, SAMPLE_DATA
from protocol.tr181 import NESTED, OBJECT_OF, RESULT_OBJECT_OF, UNKNOWN_TIME, VENDOR_PREFIX

ROOT_FILE = "tr-181-2-19-1-usp.xml"
REPO = Path(__file__).resolve().parents[1]
VENDORED = REPO / "tests" / "data" / "tr181" / "tr-181-2-19-1-usp.tar.xz"
#: The lead's copy beside the repository; ``HOMEDIAG_TR181_DIR`` points elsewhere.
SHARED = REPO.parent / "shared" / "tr181" / "xml"

_BASE_TYPES = frozenset(
    {
        "string",
        "unsignedInt",
        "int",
        "unsignedLong",
        "long",
        "boolean",
        "dateTime",
        "base64",
        "hexBinary",
        "decimal",
    }
)
#: TR-106 section 3.2: the integer types' own ranges.
_INT_RANGE = {
    "unsignedInt": (0, 2**32 - 1),
    "int": (-(2**31), 2**31 - 1),
    "unsignedLong": (0, 2**64 - 1),
    "long": (-(2**63), 2**63 - 1),
}
#: TR-106 section 3.2.1: dateTime is ISO 8601 in UTC; microseconds at most.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_HEX = re.compile(r"[0-9A-Fa-f]*")


class ModelError(Exception):
    """The model cannot be loaded or a kind has no object: the instrument, not the data, is wrong.

    ModelError
     └── UnknownKind   a kind or command ``OBJECT_OF``/``RESULT_OBJECT_OF`` does not name
    """


class UnknownKind(ModelError):
    pass


@dataclass
class Syntax:
    """A parameter's type: base type, list-ness and the facets that bound a value."""

    base: str = "string"
    data_type: str | None = None
    is_list: bool = False
    min_items: int | None = None
    max_items: int | None = None
    lengths: list[tuple[int | None, int | None]] = field(default_factory=list)
    ranges: list[tuple[float | None, float | None, float | None]] = field(default_factory=list)
    enums: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    ref_type: str | None = None  # strong, weak (or None: not a reference)
    ref_targets: list[str] = field(default_factory=list)  # targetParent, absolute after load
    ref_target_type: str | None = None  # row, object, parameter, any
    units: str | None = None

    def describe(self) -> str:
        text = self.data_type or self.base
        if self.data_type:
            text += f" ({self.base})"
        if self.lengths:
            text += "".join(f"({lo or ''}:{hi or ''})" for lo, hi in self.lengths)
        if self.ranges:
            text += "[" + ",".join(f"{_num(lo)}:{_num(hi)}" for lo, hi, _ in self.ranges) + "]"
        if self.units:
            text += f" {self.units}"
        if self.enums:
            text += " one of " + "|".join(self.enums)
        if self.ref_type:
            text += f" {self.ref_type} reference to " + (
                " or ".join(self.ref_targets)
                or ("a table row" if self.ref_target_type == "row" else "any path")
            )
        if self.is_list:
            text = f"list of {text}"
        return text


def _num(value: float | None) -> str:
    return "" if value is None else str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class Item:
    """One path of the model: object, parameter, command or event (with its arguments)."""

    path: str
    kind: str  # object, parameter, command, event
    syntax: Syntax | None = None
    inputs: dict[str, Item] = field(default_factory=dict)
    outputs: dict[str, Item] = field(default_factory=dict)

    @property
    def table(self) -> bool:
        return self.kind == "object" and self.path.endswith(".{i}.")


@dataclass
class Model:
    """Every path of the model (``items``) and what the loader had to skip (``missing``)."""

    items: dict[str, Item]
    missing: list[str]
    source: str

    def __getitem__(self, path: str) -> Item:
        return self.items[path]

    def arguments(self, command: str) -> dict[str, Item]:
        """A command's arguments, inputs then outputs (results echo their inputs)."""
        item = self.items[command]
        return {**item.inputs, **item.outputs}


# --- where the XML comes from -------------------------------------------------------------------


def _dir_source(directory: Path) -> dict[str, Callable[[], bytes]]:
    return {p.name: p.read_bytes for p in sorted(directory.glob("*.xml"))}


def _tar_source(archive: Path) -> dict[str, Callable[[], bytes]]:
    files: dict[str, bytes] = {}
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".xml"):
                handle = tar.extractfile(member)
                if handle is not None:
                    files[Path(member.name).name] = handle.read()
    return {name: functools.partial(lambda data: data, data) for name, data in files.items()}


def model_source() -> str:
    """The shared copy (or ``HOMEDIAG_TR181_DIR``) when present, else the vendored archive."""
    env = os.environ.get("HOMEDIAG_TR181_DIR")
    candidate = Path(env) if env else SHARED
    if (candidate / ROOT_FILE).is_file():
        return str(candidate)
    if VENDORED.is_file():
        return str(VENDORED)
    raise ModelError(f"no TR-181 model: neither {candidate} (HOMEDIAG_TR181_DIR) nor {VENDORED}")


# --- the loader ---------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem: ET.Element, *tags: str) -> Iterator[ET.Element]:
    for child in elem:
        if isinstance(child.tag, str) and (not tags or _local(child.tag) in tags):
            yield child


def _int(text: str | None) -> int | None:
    if text is None or text == "unbounded":
        return None
    return int(text)


def _float(text: str | None) -> float | None:
    return None if text is None else float(text)


class _Loader:
    def __init__(self, files: dict[str, Callable[[], bytes]]) -> None:
        self.files = files
        self.docs: dict[str, ET.Element] = {}
        self.missing: list[str] = []
        self.data_types: dict[str, ET.Element] = {}
        self._types_done: dict[str, Syntax] = {}
        # tr-106-types.xml last: the newest definitions win over the older TR-106 files.
        for name in sorted(files, key=lambda n: (n == "tr-106-types.xml", n)):
            for dtype in _children(self.doc(name), "dataType"):
                if dtype.get("name") and (len(dtype) or dtype.get("base")):
                    self.data_types[dtype.attrib["name"]] = dtype

    def resolve_file(self, name: str) -> str | None:
        """``tr-181-2-ip.xml`` -> the newest ``tr-181-2-<a>-<b>-ip.xml`` the copy holds."""
        if name in self.files:
            return name
        m = re.fullmatch(r"(tr-\d+-\d+)-(.+\.xml)", name)
        if not m:
            return None
        pattern = re.compile(re.escape(m.group(1)) + r"-(\d+)-(\d+)-" + re.escape(m.group(2)))
        found = [(tuple(map(int, p.groups())), f) for f in self.files if (p := pattern.fullmatch(f))]
        return max(found)[1] if found else None

    def doc(self, name: str) -> ET.Element:
        if name not in self.docs:
            try:
                self.docs[name] = ET.fromstring(self.files[name]())
            except ET.ParseError as exc:
                raise ModelError(f"{name}: {exc}") from exc
        return self.docs[name]

    def lookup(self, file: str, kind: str, name: str) -> tuple[str, ET.Element] | None:
        """A component or model ``name`` as seen from ``file``: its own, or through an import."""
        root = self.doc(file)
        for elem in _children(root, kind):
            if elem.get("name") == name:
                return file, elem
        for imp in _children(root, "import"):
            for entry in _children(imp, kind):
                if entry.get("name") == name:
                    target = self.resolve_file(imp.attrib["file"])
                    if target is None:
                        self.missing.append(f"{imp.attrib['file']} ({kind} {name})")
                        return None
                    return self.lookup(target, kind, entry.get("ref") or name)
        self.missing.append(f"{file}: {kind} {name}")
        return None

    # syntax

    def syntax(self, elem: ET.Element) -> Syntax:
        syn = Syntax()
        for child in _children(elem):
            tag = _local(child.tag)
            if tag == "list":
                syn.is_list = True
                syn.min_items = _int(child.get("minItems"))
                syn.max_items = _int(child.get("maxItems"))
            elif tag == "dataType" and child.get("ref"):
                syn = self._merge_type(syn, self.data_type(child.attrib["ref"]))
                self._facets(syn, child)
            elif tag in _BASE_TYPES:
                syn.base = tag
                self._facets(syn, child)
        return syn

    @staticmethod
    def _merge_type(syn: Syntax, typed: Syntax) -> Syntax:
        out = copy.deepcopy(typed)
        out.is_list, out.min_items, out.max_items = syn.is_list, syn.min_items, syn.max_items
        return out

    def data_type(self, name: str) -> Syntax:
        if name in self._types_done:
            return copy.deepcopy(self._types_done[name])
        elem = self.data_types.get(name)
        if elem is None:
            self.missing.append(f"dataType {name}")
            syn = Syntax(data_type=name)
        else:
            syn = self.data_type(elem.attrib["base"]) if elem.get("base") else Syntax()
            for child in _children(elem):
                if _local(child.tag) in _BASE_TYPES:
                    syn.base = _local(child.tag)
                    self._facets(syn, child)
                elif _local(child.tag) == "list":
                    syn.is_list = True
                    syn.min_items = _int(child.get("minItems"))
                    syn.max_items = _int(child.get("maxItems"))
            self._facets(syn, elem)
            syn.data_type = name
        self._types_done[name] = syn
        return copy.deepcopy(syn)

    @staticmethod
    def _facets(syn: Syntax, elem: ET.Element) -> None:
        """The facets directly under ``elem``; each kind given replaces the inherited one."""
        sizes = [(_int(c.get("minLength")), _int(c.get("maxLength"))) for c in _children(elem, "size")]
        ranges = [
            (_float(c.get("minInclusive")), _float(c.get("maxInclusive")), _float(c.get("step")))
            for c in _children(elem, "range")
        ]
        enums = [c.attrib["value"] for c in _children(elem, "enumeration")]
        patterns = [c.attrib["value"] for c in _children(elem, "pattern")]
        syn.lengths = sizes or syn.lengths
        syn.ranges = ranges or syn.ranges
        syn.enums = enums or syn.enums
        syn.patterns = patterns or syn.patterns
        for ref in _children(elem, "pathRef", "instanceRef"):
            syn.ref_type = ref.get("refType", "weak")
            syn.ref_targets = (ref.get("targetParent") or "").split()
            syn.ref_target_type = "row" if _local(ref.tag) == "instanceRef" else ref.get("targetType", "any")
        for units in _children(elem, "units"):
            syn.units = units.get("value")

    # items

    def expand(self, elem: ET.Element, scope: dict[str, Item], prefix: str, file: str) -> None:
        for child in _children(elem):
            tag = _local(child.tag)
            name = child.get("name") or child.get("base")
            if tag == "component" and child.get("ref"):
                found = self.lookup(file, "component", child.attrib["ref"])
                if found:
                    self.expand(found[1], scope, prefix + child.get("path", ""), found[0])
                continue
            if tag not in ("object", "parameter", "command", "event") or not name:
                continue
            path = prefix + name
            if child.get("status") == "deleted":
                scope.pop(path, None)
                continue
            item = scope.get(path)
            if item is None:
                item = scope[path] = Item(path=path, kind=tag)
            if tag == "object":
                self.expand(child, scope, path, file)
            elif tag == "parameter":
                for syn_elem in _children(child, "syntax"):
                    new = self.syntax(syn_elem)
                    if item.syntax is not None and child.get("base") and new.base == item.syntax.base:
                        new.enums = list(dict.fromkeys(item.syntax.enums + new.enums))
                    item.syntax = new
            elif tag == "command":
                for args in _children(child, "input"):
                    self.expand(args, item.inputs, "", file)
                for args in _children(child, "output"):
                    self.expand(args, item.outputs, "", file)
            else:
                self.expand(child, item.outputs, "", file)

    def model(self) -> dict[str, Item]:
        found = self.lookup(ROOT_FILE, "model", _root_model_name(self.doc(ROOT_FILE)))
        if not found:
            raise ModelError(f"{ROOT_FILE}: no model")
        return self._model(*found)

    def _model(self, file: str, elem: ET.Element) -> dict[str, Item]:
        scope: dict[str, Item] = {}
        if elem.get("base"):
            base = self.lookup(file, "model", elem.attrib["base"])
            if base:
                scope = self._model(*base)
        self.expand(elem, scope, "", file)
        return scope


def _root_model_name(root: ET.Element) -> str:
    for model in _children(root, "model"):
        return model.attrib["name"]
    raise ModelError(f"{ROOT_FILE}: no model")


def _up(path: str, levels: int) -> str:
    """``path`` without its last ``levels`` objects (a table row ``Host.{i}.`` is one level)."""
    parts = [p for p in path.split(".") if p]
    for _ in range(levels):
        if parts and parts[-1] == "{i}":
            parts.pop()
        if parts:
            parts.pop()
    return ".".join(parts) + "." if parts else ""


def _absolute_target(target: str, obj: str) -> str:
    """TR-106 A.2.3.4 relative paths: each ``#`` goes up one object from the parameter's own."""
    if target.startswith("Device."):
        return target
    hashes = len(target) - len(target.lstrip("#"))
    rest = target[hashes:].lstrip(".")
    base = _up(obj, hashes) if hashes else "Device."
    if not base.startswith("Device."):
        base = "Device."
    return base + rest


def _parent_object(path: str) -> str:
    if path.endswith("."):
        path = path[:-1]
        if path.endswith(".{i}"):
            path = path[: -len(".{i}")]
    return path.rsplit(".", 1)[0] + "." if "." in path else ""


def _absolutise(items: dict[str, Item], owner: str) -> None:
    """Relative reference targets made absolute: from each parameter's object (``owner`` + path)."""
    for item in items.values():
        if item.syntax and item.syntax.ref_targets:
            obj = owner + _parent_object(item.path) if owner else _parent_object(item.path)
            item.syntax.ref_targets = [_absolute_target(t, obj) for t in item.syntax.ref_targets]
        if item.kind in ("command", "event"):
            parent = _parent_object(item.path)
            _absolutise(item.inputs, parent)
            _absolutise(item.outputs, parent)


def load_model(source: str | Path | None = None) -> Model:
    """The model from ``source`` (a directory or a ``.tar.xz``), by default :func:`model_source`."""
    return _load(str(source) if source is not None else model_source())


@functools.cache
def _load(source: str) -> Model:
    path = Path(source)
    files = _tar_source(path) if source.endswith(".tar.xz") else _dir_source(path)
    return _build(source, files)


def _build(source: str, files: dict[str, Callable[[], bytes]]) -> Model:
    if ROOT_FILE not in files:
        raise ModelError(f"{source}: no {ROOT_FILE}")
    loader = _Loader(files)
    items = loader.model()
    _absolutise(items, "")
    return Model(items=items, missing=sorted(set(loader.missing)), source=source)


# --- the checker --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """One way the data departs from the model: where, what is wrong, what the model says."""

    path: str
    problem: str
    model: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" + (f" (model: {self.model})" if self.model else "")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _bare(name: str) -> str:
    return name[len(VENDOR_PREFIX) :] if name.startswith(VENDOR_PREFIX) else name


class Checker:
    """Walks one kind's JSON data from its TR-181 object and collects every :class:`Deviation`."""

    def __init__(self, model: Model) -> None:
        self.model = model
        # Keyed by id(): each scope is kept alive here or in the model, so an id is never reused.
        self._index: dict[int, dict[str, dict[str, Item]]] = {}
        self._arguments: dict[str, dict[str, Item]] = {}

    def _children_of(self, scope: dict[str, Item], obj: str) -> dict[str, Item]:
        """The JSON names directly under object ``obj`` of ``scope``: ``Name``, ``Name.``, ``Name.{i}.``."""
        index = self._index.get(id(scope))
        if index is None:
            index = {}
            for path, item in scope.items():
                if item.kind in ("command", "event"):
                    continue
                parent = _parent_object(path)
                key = path[len(parent) :].removesuffix(".").removesuffix(".{i}")
                index.setdefault(parent, {})[key] = item
            self._index[id(scope)] = index
        return index.get(obj, {})

    def target(self, kind: str, *, command: bool = False) -> str:
        tables = (RESULT_OBJECT_OF, OBJECT_OF) if command else (OBJECT_OF, RESULT_OBJECT_OF)
        for table in tables:
            if kind in table:
                return table[kind]
        if kind in self.model.items:
            return kind
        raise UnknownKind(f"{kind!r}: neither a sample kind, a command, nor a path of the model")

    def check(
        self, kind: str, data: Any, *, status: str | None = None, command: bool = False
    ) -> list[Deviation]:
        """Every deviation of ``data`` (and the envelope ``status``) from ``kind``'s object."""
        where = self.target(kind, command=command)
        out: list[Deviation] = []
        self._check_at(kind, where, data, where, out)
        if status is not None and where.endswith("()"):
            item = self.model.items[where].outputs.get("Status")
            if item and item.syntax and item.syntax.enums and status not in item.syntax.enums:
                out.append(
                    Deviation(
                        f"{where} (envelope status)",
                        f"{status!r} is not a value of Status",
                        item.syntax.describe(),
                    )
                )
        return out

    def _check_at(self, kind: str, where: str, data: Any, shown: str, out: list[Deviation]) -> None:
        """``data`` as object ``where``: a command's arguments, a table row, an object, or a vendor object."""
        if VENDOR_PREFIX in where or where not in self.model.items:
            self._nested(kind, data, shown, out)
            return
        item = self.model.items[where]
        if item.kind == "command":
            if where not in self._arguments:
                self._arguments[where] = self.model.arguments(where)
            self._object(kind, self._arguments[where], "", data, shown + ".", out)
        else:
            self._object(kind, self.model.items, where, data, shown, out)

    def _object(
        self, kind: str, scope: dict[str, Item], obj: str, data: Any, shown: str, out: list[Deviation]
    ) -> None:
        if not isinstance(data, dict):
            out.append(Deviation(shown, f"{_json_type(data)} where the model has an object", "JSON object"))
            return
        children = self._children_of(scope, obj)
        for name, value in data.items():
            path = f"{shown}{name}"
            if name.startswith(VENDOR_PREFIX):
                self._nested(kind, {name: value}, shown, out)
                continue
            item = children.get(name)
            if item is None:
                out.append(
                    Deviation(
                        path,
                        f"not in the model and without the {VENDOR_PREFIX} prefix",
                        f"{obj or shown} has " + ", ".join(sorted(children)[:40]),
                    )
                )
                self._nested(kind, {name: value}, shown, out)
                continue
            if item.kind == "parameter":
                self._value(value, item, path, out)
            elif item.table:
                if not isinstance(value, list):
                    out.append(
                        Deviation(
                            path,
                            f"{_json_type(value)} where the model has a table",
                            f"{item.path}: a JSON array of objects",
                        )
                    )
                    continue
                for n, row in enumerate(value, 1):
                    self._object(kind, scope, item.path, row, f"{path}.{n}.", out)
            else:
                self._object(kind, scope, item.path, value, f"{path}.", out)
        for name, value in data.items():
            entries = children.get(f"{name}NumberOfEntries")
            count = data.get(f"{name}NumberOfEntries")
            if entries and isinstance(value, list) and isinstance(count, int) and count != len(value):
                out.append(
                    Deviation(
                        f"{shown}{name}NumberOfEntries",
                        f"{count} but {name} has {len(value)} rows",
                        "the number of entries in the table",
                    )
                )

    def _nested(self, kind: str, data: Any, shown: str, out: list[Deviation]) -> None:
        """Inside an extension: only the TR-181 objects ``NESTED`` places there are checked."""
        if isinstance(data, list):
            for n, entry in enumerate(data, 1):
                self._nested(kind, entry, f"{shown.removesuffix('.')}.{n}.", out)
        elif isinstance(data, dict):
            for name, value in data.items():
                target = NESTED.get((kind, _bare(name)))
                if target is None:
                    self._nested(kind, value, f"{shown}{name}.", out)
                    continue
                rows = value if isinstance(value, list) else [value]
                for n, row in enumerate(rows, 1):
                    at = f"{shown}{name}.{n}" if isinstance(value, list) else f"{shown}{name}"
                    self._check_at(kind, target, row, f"{at}[{target}]", out)

    def _value(self, value: Any, item: Item, path: str, out: list[Deviation]) -> None:
        syn = item.syntax or Syntax()
        said = syn.describe()
        if syn.is_list:
            if not isinstance(value, list):
                how = _json_type(value)
                if isinstance(value, str) and "," in value:
                    how = "a comma-separated string"
                out.append(Deviation(path, f"{how} where the model has a list: send a JSON array", said))
                return
            if syn.min_items is not None and len(value) < syn.min_items:
                out.append(Deviation(path, f"{len(value)} items, fewer than {syn.min_items}", said))
            if syn.max_items is not None and len(value) > syn.max_items:
                out.append(Deviation(path, f"{len(value)} items, more than {syn.max_items}", said))
            for n, entry in enumerate(value, 1):
                problem = _scalar_problem(entry, syn, self.model)
                if problem:
                    out.append(Deviation(f"{path}[{n}]", problem, said))
            return
        problem = _scalar_problem(value, syn, self.model)
        if problem:
            out.append(Deviation(path, problem, said))


def _scalar_problem(value: Any, syn: Syntax, model: Model) -> str | None:
    """Why one value is not of ``syn``'s type, or None."""
    base = syn.base
    if value is None:
        hint = f": use {UNKNOWN_TIME}" if base == "dateTime" else ": leave it out"
        return f"null where the model has {base}{hint}"
    if base in _INT_RANGE:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{_json_type(value)} {value!r} where the model has {base} (a JSON integer)"
        lo, hi = _INT_RANGE[base]
        if not lo <= value <= hi:
            return f"{value} outside {base}'s range {lo}..{hi}"
        return _range_problem(value, syn)
    if base == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{_json_type(value)} where the model has decimal"
        return _range_problem(value, syn)
    if base == "boolean":
        return (
            None if isinstance(value, bool) else f"{_json_type(value)} {value!r} where the model has boolean"
        )
    if not isinstance(value, str):
        return f"{_json_type(value)} {value!r} where the model has {syn.data_type or base} (a JSON string)"
    if base == "dateTime":
        return _datetime_problem(value)
    if base == "hexBinary" and not _HEX.fullmatch(value):
        return f"{value!r} is not hexBinary"
    if base == "base64":
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            return f"{value!r} is not base64"
    return _string_problem(value, syn, model)


def _range_problem(value: float, syn: Syntax) -> str | None:
    if not syn.ranges:
        return None
    for lo, hi, step in syn.ranges:
        inside = (lo is None or value >= lo) and (hi is None or value <= hi)
        if inside and (step is None or ((value - (lo or 0)) % step) == 0):
            return None
    return f"{value} outside the model's range"


def _datetime_problem(value: str) -> str | None:
    if value == UNKNOWN_TIME:
        return None
    if not _DATETIME.fullmatch(value):
        return f"{value!r} is not a TR-106 UTC dateTime (2026-12-02T16:00:00.123456Z)"
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{value!r} is not a real date and time"
    return None


def _string_problem(value: str, syn: Syntax, model: Model) -> str | None:
    if syn.lengths and not any(
        (lo is None or len(value) >= lo) and (hi is None or len(value) <= hi) for lo, hi in syn.lengths
    ):
        return f"{len(value)} characters, outside the model's length"
    if syn.enums:
        return None if value in syn.enums else f"{value!r} is not a value of the enumeration"
    if syn.ref_type:
        return _reference_problem(value, syn, model)
    if syn.patterns and not any(_pattern_matches(p, value) for p in syn.patterns):
        return f"{value!r} does not match the model's pattern"
    return None


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # an XML Schema construct Python lacks: not checked


def _pattern_matches(pattern: str, value: str) -> bool:
    compiled = _pattern(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def _reference_problem(value: str, syn: Syntax, model: Model) -> str | None:
    if value == "":
        return None  # TR-106's null reference
    if not value.startswith("Device."):
        return f"{value!r} is not a path (a reference is like Device.IP.Interface.1)"
    row = syn.ref_target_type == "row"
    any_row = r"Device\.(?:[\w-]+\.)*"
    heads = [re.escape(t).replace(r"\{i\}", r"[1-9]\d*") for t in syn.ref_targets] or [any_row]
    tail = r"[1-9]\d*\.?" if row else r".*"
    if any(re.fullmatch(head + tail, value) for head in heads):
        return None
    targets = syn.ref_targets or ["a table row" if row else "the model"]
    return f"{value!r} does not point into {' or '.join(targets)}"


# --- the names our Structs declare --------------------------------------------------------------


def usp_deviations(model: Model, where: str, params: Mapping[str, str]) -> list[Deviation]:
    """Deviations of USP parameter values (TR-369 sends every value as text; a list is
    comma-separated) from the model: ``where`` is a command (its arguments) or an object path such
    as ``Device.Hosts.Host.{i}.``; ``params`` are names relative to it, instance numbers included
    (``RouteHops.2.RTTimes``). A name with the vendor prefix is an extension, as in the JSON check."""
    if VENDOR_PREFIX in where:  # a vendor object: everything under it is ours
        return []
    if where.endswith("()"):
        scope = model.arguments(where)
    else:
        scope = {path[len(where) :]: item for path, item in model.items.items() if path.startswith(where)}
    out: list[Deviation] = []
    for name, text in params.items():
        if VENDOR_PREFIX in name:
            continue
        generic = re.sub(r"(^|\.)\d+\.", r"\1{i}.", name)
        item = scope.get(generic)
        if item is None or item.kind != "parameter":
            out.append(Deviation(f"{where}{name}", "not a parameter of the model", "a vendor prefix if ours"))
            continue
        syn = item.syntax or Syntax()
        values = (text.split(",") if text else []) if syn.is_list else [text]
        for value in values:
            problem = _scalar_problem(_from_usp(value, syn.base), syn, model)
            if problem:
                out.append(Deviation(f"{where}{name}", problem, syn.describe()))
    return out


def _from_usp(text: str, base: str) -> Any:
    """A USP value as the JSON value of its type (left as text when it is not one: then flagged)."""
    if base in _INT_RANGE and re.fullmatch(r"-?\d+", text):
        return int(text)
    if base == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(text, text)
    if base == "decimal":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def vendor_names() -> dict[str, list[str]]:
    """Every vendor-prefixed wire name of ``SAMPLE_DATA``/``RESULT_DATA`` -> the Structs declaring it."""
    found: dict[str, set[str]] = {}
    seen: set[type] = set()

    def visit(t: msgspec.inspect.Type) -> None:
        if isinstance(t, msgspec.inspect.StructType):
            if t.cls in seen:
                return
            seen.add(t.cls)
            for f in t.fields:
                if f.encode_name.startswith(VENDOR_PREFIX):
                    found.setdefault(f.encode_name, set()).add(t.cls.__name__)
                visit(f.type)
        elif isinstance(t, msgspec.inspect.UnionType):
            for member in t.types:
                visit(member)
        elif isinstance(
            t,
            msgspec.inspect.ListType
            | msgspec.inspect.SetType
            | msgspec.inspect.FrozenSetType
            | msgspec.inspect.VarTupleType,
        ):
            visit(t.item_type)
        elif isinstance(t, msgspec.inspect.DictType):
            visit(t.key_type)
            visit(t.value_type)
        elif isinstance(t, msgspec.inspect.TupleType):
            for member in t.item_types:
                visit(member)

    for struct in [*SAMPLE_DATA.values(), *RESULT_DATA.values()]:
        visit(msgspec.inspect.type_info(struct))
    return {name: sorted(where) for name, where in sorted(found.items())}


def vendor_table() -> str:
    """The Markdown table of :func:`vendor_names` that docs/tr181.md carries."""
    rows = [f"| `{name}` | {', '.join(f'`{w}`' for w in where)} |" for name, where in vendor_names().items()]
    return "\n".join(["| name | declared by |", "| --- | --- |", *rows])


# --- CLI ----------------------------------------------------------------------------------------


def check(kind: str, data: Any, *, status: str | None = None, command: bool = False) -> list[Deviation]:
    """:meth:`Checker.check` against the default model."""
    return Checker(load_model()).check(kind, data, status=status, command=command)


def _unwrap(doc: Any, status: str | None) -> tuple[Any, str | None]:
    """A bare data object, or a sample/result ``{"status": ..., "data": {...}}`` around one."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict) and "status" in doc:
        return doc["data"], status if status is not None else doc.get("status")
    return doc, status


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tr181", description=__doc__.split("\n")[0])
    parser.add_argument(
        "kind", nargs="?", help="sample kind (ping, dns...), command (dns_lookup...) or a TR-181 path"
    )
    parser.add_argument("file", nargs="?", help="JSON file with the data (or {status, data}); - for stdin")
    parser.add_argument("--status", help="the envelope status, checked against the command's Status")
    parser.add_argument("--command", action="store_true", help="a command's result (RESULT_OBJECT_OF first)")
    parser.add_argument("--vendor-names", action="store_true", help="list the Structs' vendor names and exit")
    parser.add_argument("--vendor-table", action="store_true", help="the same as docs/tr181.md's table")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.vendor_names:
        for name, where in vendor_names().items():
            print(f"{name}\t{', '.join(where)}")
        return 0
    if args.vendor_table:
        print(vendor_table())
        return 0
    if args.kind is None or args.file is None:
        parser.error("KIND and FILE are required")
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        data, status = _unwrap(json.loads(text), args.status)
        deviations = check(args.kind, data, status=status, command=args.command)
    except (OSError, json.JSONDecodeError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for deviation in deviations:
        print(deviation)
    return 1 if deviations else 0


if __name__ == "__main__":
    sys.exit(main())
