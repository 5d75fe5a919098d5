"""The probe contract and registry (after Telegraf's ``plugins/inputs/registry.go``).

A probe validates its options in ``__init__`` (raising :class:`ProbeConfigError`) and returns a
:class:`ProbeResult` from ``async run()`` (or None: nothing to report this run). A failing *target* is data:
the result's status says ``Error_...`` (TR-181 diagnostics style). A probe that
cannot work on this host at all (no CAP_NET_RAW, wrong platform, missing optional
dependency) says so once through :meth:`Probe.unavailable_reason` and is disabled.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..errors import ProbeConfigError
from ..result import COMPLETE, ProbeResult

__all__ = [
    "COMPLETE",
    "Probe",
    "ProbeConfigError",
    "ProbeFactory",
    "ProbeResult",
    "Requirements",
    "create",
    "register",
    "registered",
]


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

    def __init__(self, options: Mapping[str, Any]) -> None:
        options = dict(options)
        self.state_dir: Path | None = None
        self.enabled = bool(options.pop("enabled", True))
        interval = options.pop("interval_s", self.default_interval_s)
        if (
            not isinstance(interval, int | float)
            or isinstance(interval, bool)
            or not 0.05 <= interval <= 86400
        ):
            raise ProbeConfigError(f"{self.name}: interval_s must be between 0.05 and 86400 seconds")
        self.interval_s = float(interval)
        self.configure(options)

    def attach(self, state_dir: Path) -> None:
        """Called once by the runner: where a probe that keeps state between runs may keep it."""
        self.state_dir = state_dir

    def configure(self, options: dict[str, Any]) -> None:
        """Validate probe-specific options; the default accepts none."""
        if options:
            raise ProbeConfigError(f"{self.name}: unknown options {sorted(options)}")

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
