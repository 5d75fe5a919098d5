"""What agents released before the exact TR-181 types send, read as today's shape.

The fleet updates over weeks, so the cloud keeps accepting the shapes older agents send. The rules
are generic, read from each kind's Struct, so a field renamed or retyped later needs no new code:

- a name the Struct now sends as a vendor extension (``LossPercent`` is ``X_HOMEDIAG-DEV_LossPercent``)
  is taken under its old, unprefixed name;
- a float where TR-181 has ``unsignedInt`` milliseconds is rounded (an answer is at least 1 ms);
- a comma-separated text where the model has a list (``RTTimes``, ``IPAddresses``) is split;
- a list where the model has one value (``Hosts.Host.{i}.IPAddress``) gives its first item;
- ``null`` where TR-106 has the unknown time becomes ``0001-01-01T00:00:00Z``, and a ``null`` that
  the field no longer takes (a Wi-Fi ``SNR`` it could not work out) is left out, as today's agent does.

A structural change (the discovery sample's host list becoming ``Hosts.Host`` with a separate
``DNS.SD.Service`` table) has its own function, registered in :data:`RESHAPE`. The result is only
a candidate: it is still checked against the Struct, and what does not fit is refused as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from ..tr181 import UNKNOWN_TIME, VENDOR_PREFIX

__all__ = ["RESHAPE", "upgrade"]

_DROP: Any = object()
_INTERFACE_PATH = re.compile(r"^(Device\.IP\.Interface\.\d+)?$")


def _transfer(received: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Download/Upload before TR-143's exact outputs: ``Interface`` was the OS name (not a path:
    left out), the interface totals a difference that could go below zero (a counter reset:
    unknown, so left out), and each connection's payload was ``TestBytes``."""
    moved = "TestBytesReceived" if received else "TestBytesSent"

    def reshape(data: dict[str, Any]) -> dict[str, Any]:
        if isinstance(data.get("Interface"), str) and not _INTERFACE_PATH.match(data["Interface"]):
            del data["Interface"]
        for total in ("TotalBytesReceived", "TotalBytesSent"):
            if isinstance(data.get(total), int) and data[total] < 0:
                del data[total]
        connections = data.get("PerConnectionResult")
        if isinstance(connections, list):
            data["PerConnectionResult"] = [
                {(moved if k == "TestBytes" else k): v for k, v in c.items()} if isinstance(c, dict) else c
                for c in connections
            ]
        return data

    return reshape


_WIFI_STATS = ("SignalStrength", "Noise", "SNR", "LastDataDownlinkRate", "LastDataUplinkRate")


def _wifi(data: dict[str, Any]) -> dict[str, Any]:
    """Wi-Fi before ``WiFi.EndPoint.{i}.Stats.``: the figures sat at the top, by OS interface."""
    if isinstance(data.get("Interface"), str) and not _INTERFACE_PATH.match(data["Interface"]):
        del data["Interface"]
    if "Stats" not in data and any(name in data for name in _WIFI_STATS):
        data["Stats"] = {name: data.pop(name) for name in _WIFI_STATS if name in data}
    stats = data.get("Stats")
    if isinstance(stats, dict):
        for rate in ("LastDataDownlinkRate", "LastDataUplinkRate"):  # the model's range, as today
            if isinstance(stats.get(rate), int | float) and stats[rate] > 0:
                stats[rate] = min(max(round(stats[rate]), 1000), 600_000)
    return data


#: Kind name -> a function turning that kind's old structure into today's (before the generic rules).
RESHAPE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "download": _transfer(received=True),
    "download_test": _transfer(received=True),
    "upload": _transfer(received=False),
    "upload_test": _transfer(received=False),
    "wifi": _wifi,
}


def upgrade(kind: type[msgspec.Struct], data: Mapping[str, Any], name: str = "") -> dict[str, Any]:
    """``data`` (as an older agent sent it) in the shape ``kind`` reads today."""
    value = dict(data)
    reshape = RESHAPE.get(name)
    if reshape is not None:
        value = reshape(value)
    return _struct(kind, value)


def _struct(kind: type[msgspec.Struct], data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for old, new, field_type in _renamed_and_typed(kind):
        if old is not None and new not in out and old in out:
            out[new] = out.pop(old)
        if new in out:
            value = _value(field_type, out[new])
            if value is _DROP:
                del out[new]
            else:
                out[new] = value
    return out


@cache
def _renamed_and_typed(kind: type[msgspec.Struct]) -> tuple[tuple[str | None, str, mi.Type], ...]:
    """(old wire name or None, wire name, type) of each field of ``kind``."""
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    fields = []
    for f in info.fields:
        old = f.name if f.encode_name != f.name and f.encode_name.startswith(VENDOR_PREFIX) else None
        fields.append((old, f.encode_name, f.type))
    return tuple(fields)


def _value(kind: mi.Type, value: Any) -> Any:
    """``value`` moved towards ``kind`` where an old agent's type is known to differ."""
    options = _options(kind)
    if value is None:
        if any(isinstance(t, mi.NoneType) for t in options):
            return value
        return UNKNOWN_TIME if _is_time(kind) else _DROP
    for option in options:
        if isinstance(option, mi.StructType) and isinstance(value, Mapping):
            return _struct(option.cls, dict(value))
        if isinstance(option, mi.ListType):
            item = option.item_type
            if isinstance(value, list):
                return [v for v in (_value(item, v) for v in value) if v is not _DROP]
            items = _options(item)
            if isinstance(value, str) and items and isinstance(items[0], mi.IntType):
                return _ints(value)
            if isinstance(value, str) and items and isinstance(items[0], mi.StrType):
                return [part.strip() for part in value.split(",") if part.strip()]
    kinds = {type(t) for t in options}
    if isinstance(value, float) and mi.IntType in kinds and mi.FloatType not in kinds:
        # As today's agent rounds: 0 means "no answer", so an answer under half a unit is 1.
        return max(1, round(value)) if value > 0 else round(value)
    if isinstance(value, list) and mi.StrType in kinds and mi.ListType not in kinds:
        return value[0] if value else ""
    return value


def _ints(text: str) -> list[int] | str:
    try:
        return [round(float(part)) for part in text.split(",") if part.strip()]
    except ValueError:
        return text


def _options(kind: mi.Type) -> list[mi.Type]:
    """The concrete types ``kind`` admits (unions and constraints unwrapped; inspect drops UNSET)."""
    if isinstance(kind, mi.Metadata):
        return _options(kind.type)
    if isinstance(kind, mi.UnionType):
        return [t for member in kind.types for t in _options(member)]
    return [kind]


def _is_time(kind: mi.Type) -> bool:
    """A TR-106 ``dateTime`` field: its constraint says so in the type's description."""
    if isinstance(kind, mi.Metadata):
        return "dateTime" in str(kind.extra_json_schema or {}) or _is_time(kind.type)
    if isinstance(kind, mi.UnionType):
        return any(_is_time(t) for t in kind.types)
    return False
