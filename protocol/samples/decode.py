"""Reading a sample's data with its kind's Struct: strictly at decode, leniently in a fold."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from ..probes import ProbeName
from .base import SampleData
from .connectivity import (
    ConnectivityData,
    DNSData,
    HttpData,
    PingData,
    ThroughputData,
    TraceRouteData,
    WifiData,
)
from .errors import SampleDataError, SampleOutOfBounds
from .inventory import DiscoverResult, DiscoveryData, Printer
from .legacy import upgrade
from .results import (
    AddPrinterResult,
    HTTPCheckDiagnostics,
    IPPingDiagnostics,
    NSLookupDiagnostics,
    PinnedKeys,
    PlanSaved,
    RunProbeResult,
    SupportBundle,
    TraceRouteDiagnostics,
    TransferDiagnostics,
)
from .usage import ConsentData, DeviceUsageData, NetDevData, UsageData, UsageSnapshot

S = TypeVar("S", bound=msgspec.Struct)

#: Every sample kind the shipped agent sends, and the Struct of its data.
SAMPLE_DATA: dict[str, type[SampleData]] = {
    ProbeName.NETDEV: NetDevData,
    ProbeName.USAGE: UsageData,
    ProbeName.DEVICE_USAGE: DeviceUsageData,
    ProbeName.PING: PingData,
    ProbeName.DNS: DNSData,
    ProbeName.HTTP: HttpData,
    ProbeName.DOWNLOAD: ThroughputData,
    ProbeName.UPLOAD: ThroughputData,
    ProbeName.DISCOVERY: DiscoveryData,
    ProbeName.TRACEROUTE: TraceRouteData,
    ProbeName.WIFI: WifiData,
    ProbeName.CONNECTIVITY: ConnectivityData,
    ProbeName.CONSENT: ConsentData,
}

#: Every command's ``CommandResult.data`` when it ran (a refusal is :class:`results.Refusal`).
RESULT_DATA: dict[str, type[msgspec.Struct]] = {
    "run_probe": RunProbeResult,
    "ping": IPPingDiagnostics,
    "traceroute": TraceRouteDiagnostics,
    "dns_lookup": NSLookupDiagnostics,
    "http_check": HTTPCheckDiagnostics,
    "download_test": TransferDiagnostics,
    "upload_test": TransferDiagnostics,
    "discover": DiscoverResult,
    "printer_check": Printer,
    "usage_snapshot": UsageSnapshot,
    "support_bundle": SupportBundle,
    "add_printer": AddPrinterResult,
    "trust_cloud_key": PinnedKeys,
    "retire_cloud_key": PinnedKeys,
    "set_plan": PlanSaved,
}

#: How msgspec words a broken constraint (``Expected `float` <= 100``, ``length <= 1024``).
_BOUND_WORDS = ("<=", ">=", " < ", " > ", "length")


def _error(probe: str, exc: msgspec.ValidationError) -> SampleDataError:
    problem, _, where = str(exc).partition(" - at `")
    field = where.rstrip("`") or "$"
    if any(word in problem for word in _BOUND_WORDS):
        return SampleOutOfBounds(probe, field, problem)
    return SampleDataError(probe, field, problem)


def data_as(kind: type[S], probe: str, data: Mapping[str, Any]) -> S:
    """``data`` as ``kind``, or :class:`SampleDataError` naming the probe and the field."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise _error(probe, exc) from exc


def decode_data(probe: str, data: Mapping[str, Any]) -> SampleData | None:
    """The typed data of a ``probe`` sample; None for a kind this contract does not know."""
    kind = SAMPLE_DATA.get(probe)
    return None if kind is None else data_as(kind, probe, data)


def decode_result(command: str, data: Mapping[str, Any]) -> msgspec.Struct | None:
    """The typed ``CommandResult.data`` of ``command`` (None for an unknown command); an older
    agent's shape is read as today's."""
    kind = RESULT_DATA.get(command)
    if kind is None:
        return None
    typed = _as_today(kind, data)
    return typed if typed is not None else data_as(kind, command, upgrade(kind, data, command))


def _as_today(kind: type[S], data: Mapping[str, Any]) -> S | None:
    """``data`` as ``kind`` when it is plainly today's shape (every top-level name known, and it
    fits), else None. Today's agents take this path: the upgrade of an older shape costs some 20
    times a plain decode, and an older agent always sends a name today's Structs lack (an
    unprefixed extension, the flat Wi-Fi figures, ``message``) or a value that no longer fits."""
    if not _names(kind).issuperset(data):
        return None
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError:
        return None


@cache
def _names(kind: type[msgspec.Struct]) -> frozenset[str]:
    info = typing.cast(mi.StructType, mi.type_info(kind))
    return frozenset(f.encode_name for f in info.fields)


def check_sample_data(probe: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A known kind's data in today's shape: ``data`` itself when it already is, an older agent's
    upgraded (:mod:`.legacy`) otherwise; :class:`SampleDataError` when it does not fit its Struct."""
    kind = SAMPLE_DATA.get(probe)
    if kind is None or _as_today(kind, data) is not None:
        return data
    current = upgrade(kind, data, probe)
    data_as(kind, probe, current)
    return current


def salvage(kind: type[S], value: object, probe: str = "") -> S | None:
    """What of ``value`` fits ``kind``: each field that does not is left out, and a text too long
    for its field is cut to it. For folds over data that no decoder checked (rows stored before
    these types, tests that store directly); None when ``value`` is not an object at all."""
    if not isinstance(value, Mapping):
        return None
    typed = _as_today(kind, value)
    if typed is not None:
        return typed
    value = upgrade(kind, value, probe)
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        pass
    kept: dict[str, Any] = {}
    for name, (hint, limit) in _fields(kind).items():
        if name not in value:
            continue
        item = value[name]
        if isinstance(item, str) and limit is not None:
            item = item[:limit]
        try:
            msgspec.convert(item, hint)
        except msgspec.ValidationError:
            continue
        kept[name] = item
    return msgspec.convert(kept, kind)


@cache
def _fields(kind: type[msgspec.Struct]) -> dict[str, tuple[Any, int | None]]:
    """Each field's type, and the longest text it takes when it is a bounded text, by wire name."""
    hints = typing.get_type_hints(kind, include_extras=True)
    info = typing.cast(mi.StructType, mi.type_info(kind))
    return {f.encode_name: (hints[f.name], _text_limit(f.type)) for f in info.fields}


def _text_limit(kind: mi.Type) -> int | None:
    if isinstance(kind, mi.UnionType):
        limits = [_text_limit(t) for t in kind.types]
        return next((limit for limit in limits if limit is not None), None)
    if isinstance(kind, mi.Metadata):
        return _text_limit(kind.type)
    if isinstance(kind, mi.StrType):
        return kind.max_length
    return None
