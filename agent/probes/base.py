"""The probe contract and registry (after Telegraf's ``plugins/inputs/registry.go``).

A probe declares its options as a msgspec Struct (its ``Options``, a :class:`ProbeOptions`: unknown
keys refused, bounds in the types, defaults as the config file documents them); ``__init__``
converts the ``[probes.<name>]`` table into it, raising :class:`ProbeConfigError` with a sentence
naming the option, and hands it to ``configure`` for checks across options. ``async run()``
returns a :class:`ProbeResult` (or None: nothing to report this run). A failing *target* is data:
the result's status says ``Error_...`` (TR-181 diagnostics style). A probe that
cannot work on this host at all (no CAP_NET_RAW, wrong platform, missing optional
dependency) says so once through :meth:`Probe.unavailable_reason` and is disabled.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec
from msgspec import Meta

from ..errors import ProbeConfigError
from ..result import COMPLETE, ProbeResult

__all__ = [
    "COMPLETE",
    "Flag",
    "Probe",
    "ProbeConfigError",
    "ProbeFactory",
    "ProbeOptions",
    "ProbeResult",
    "Requirements",
    "convert_options",
    "create",
    "register",
    "registered",
]

#: A switch: TOML's true or false; 0 and 1 (``..._ENABLED=0`` in the environment) as before.
Flag = bool | int


class ProbeOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The options of every probe; a probe's own ``Options`` adds its fields with their bounds.

    ``messages`` says in words what each field must be: the error a person reads when it is not.
    """

    enabled: Flag = True
    #: None: the probe's ``default_interval_s``.
    interval_s: Annotated[float, Meta(ge=0.05, le=86400)] | None = None

    messages: ClassVar[Mapping[str, str]] = {
        "enabled": "enabled must be true or false",
        "interval_s": "interval_s must be between 0.05 and 86400 seconds",
    }
    #: False where a probe read its numbers with ``float()``/``int()``, so ``count = "20"`` still is
    #: a number there (msgspec's lax mode); elsewhere a number must be a TOML number, as before.
    strict: ClassVar[bool] = True


OptionsT = TypeVar("OptionsT", bound=ProbeOptions)
#: Where msgspec's message names the field: ``... - at `$.count` `` or ``... field `host` ``.
_FIELD = re.compile(r"`\$\.([A-Za-z_]\w*)|missing required field `([A-Za-z_]\w*)`")


def _in_words(cls: type[ProbeOptions], exc: msgspec.ValidationError) -> str:
    text = str(exc)
    found = _FIELD.search(text)
    if found is None:  # a check of the Struct's own (__post_init__), already in words
        return text
    field = found[1] or found[2]
    for klass in cls.__mro__:
        message = vars(klass).get("messages", {}).get(field)
        if message:
            return str(message)
    return f"{field} is not valid"


def convert_options(name: str, cls: type[OptionsT], options: Mapping[str, Any]) -> OptionsT:
    """``options`` as a ``cls``, or ProbeConfigError saying which option is wrong and how."""
    unknown = sorted(set(options) - set(cls.__struct_fields__))
    if unknown:
        raise ProbeConfigError(f"{name}: unknown options {unknown}")
    try:
        return msgspec.convert(dict(options), cls, strict=cls.strict)
    except msgspec.ValidationError as exc:
        raise ProbeConfigError(f"{name}: {_in_words(cls, exc)}") from exc


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a probe needs from the host, checked once before it is scheduled."""

    platforms: tuple[str, ...] = ()  # sys.platform prefixes; empty = any
    capabilities: tuple[str, ...] = ()  # e.g. ("CAP_NET_RAW",)
    modules: tuple[str, ...] = ()  # optional dependencies


class Probe(ABC):
    name: ClassVar[str]
    requires: ClassVar[Requirements] = Requirements()
    default_interval_s: ClassVar[float] = 60.0
    #: The options this probe takes (its ``[probes.<name>]`` table).
    Options: ClassVar[type[ProbeOptions]] = ProbeOptions

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.state_dir: Path | None = None
        converted = convert_options(self.name, self.Options, options)
        self.enabled = bool(converted.enabled)
        interval = converted.interval_s
        self.interval_s = self.default_interval_s if interval is None else float(interval)
        self.configure(converted)

    def attach(self, state_dir: Path) -> None:
        """Called once by the runner: where a probe that keeps state between runs may keep it."""
        self.state_dir = state_dir

    def configure(self, options: Any) -> None:  # noqa: B027 - most probes have something to keep
        """Checks across options (ProbeConfigError), and what to keep of them.

        ``options`` is this probe's ``Options``, already converted and bounded field by field.
        """

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this probe cannot run on this host, or None."""
        req = cls.requires
        if req.platforms and not sys.platform.startswith(req.platforms):
            return f"needs platform {' or '.join(req.platforms)}, this is {sys.platform}"
        for module in req.modules:
            try:
                __import__(module)
            except ImportError:
                return f"needs the optional dependency {module!r}"
        return None

    @abstractmethod
    async def run(self) -> ProbeResult | None:
        """One run's result; None when a probe that polls often has nothing to report this time."""

    async def delivered(self, result: ProbeResult) -> None:
        """Called once ``result`` is safely in the outbox (a probe that sends state may forget it)."""
        del result  # most probes keep nothing between runs

    async def run_now(self) -> ProbeResult:
        """A run a CSR asked for: always a result, and no effect on what the schedule reports."""
        result = await self.run()
        return (
            result
            if result is not None
            else ProbeResult(data={"Events": ["nothing new since the last report"]})
        )


_REGISTRY: dict[str, type[Probe]] = {}
P = TypeVar("P", bound=type[Probe])


def register(cls: P) -> P:
    if cls.name in _REGISTRY:
        raise ValueError(f"probe {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> Mapping[str, type[Probe]]:
    return dict(_REGISTRY)


def create(name: str, options: Mapping[str, Any]) -> Probe:
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ProbeConfigError(f"unknown probe {name!r}; shipped: {sorted(_REGISTRY)}") from None
    return cls(options)


ProbeFactory = Callable[[Mapping[str, Any]], Probe]
