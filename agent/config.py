"""Agent configuration: a TOML file, then ``HOMEDIAG_AGENT_*`` environment overrides.

Nested keys use a double underscore: ``HOMEDIAG_AGENT_LINK__KEEPALIVE_S=10`` sets
``[link] keepalive_s``; ``HOMEDIAG_AGENT_PROBES__NETDEV__INTERVAL_S=5`` sets a probe
option. Overrides let tests and installers change one value without a file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .const import CONFIG_ENV, DEFAULT_CONFIG_PATH, DEFAULT_STATE_DIR_ROOT, ENV_PREFIX
from .errors import ConfigError

T = TypeVar("T")


@dataclass
class LinkConfig:
    #: Overrides the broker the cloud named at enrollment (``mqtt://`` or ``mqtts://``).
    broker_url: str = ""
    keepalive_s: int = 30
    #: A report not acknowledged within this time is sent again (the cloud de-duplicates).
    resend_after_s: float = 30.0
    #: Reports sent but not yet acknowledged; bounds memory on both ends (paho's
    #: message ids wrap at 65,535, so this must stay far below that).
    max_inflight: int = 500
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    #: CA bundle for ``mqtts://``; empty means the CA from enrollment, else the system's trust store.
    ca_file: str = ""
    #: How often to check whether the client certificate needs renewing (when a third is left).
    renew_check_s: float = 3600.0


@dataclass
class OutboxConfig:
    #: When either bound is hit the oldest reports are discarded and counted
    #: (the count travels in the next telemetry batch as ``dropped``).
    max_messages: int = 100_000
    max_bytes: int = 64 * 1024 * 1024


@dataclass
class UspConfig:
    """The agent as a USP (TR-369) Agent over MQTT 5 (agent/usp/, docs/usp.md); off by default."""

    enabled: bool = False
    #: The controller's MQTT 5 broker (``mqtt://`` or ``mqtts://``).
    broker_url: str = ""
    #: Empty: ``os::<OUI>-<agent id>`` (agent/usp/service.py says how the OUI is found).
    endpoint_id: str = ""
    #: Six upper-case hex digits; empty: the OUI of this host's first universally administered MAC.
    oui: str = ""
    controller_endpoint_id: str = ""
    #: Where answers go when a request has no Response Topic (usp-js sends none), and Notifies.
    controller_topic: str = ""
    #: The topic this agent subscribes to; empty: ``usp/agent/<endpoint id>``.
    agent_topic: str = ""
    #: ``Viewer`` (read) or ``Diagnostics`` (read and operate); consent still gates what it gates.
    controller_role: str = "Diagnostics"
    keepalive_s: int = 30


def _default_probes() -> dict[str, dict[str, Any]]:
    return {"netdev": {"interval_s": 60}, "usage": {"interval_s": 60}}


@dataclass
class AgentConfig:
    state_dir: Path = field(default_factory=lambda: default_state_dir())  # noqa: PLW0108 - defined below
    log_level: str = "INFO"
    link: LinkConfig = field(default_factory=LinkConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    usp: UspConfig = field(default_factory=UspConfig)
    #: Probe name -> options; every probe takes ``interval_s`` and ``enabled``.
    probes: dict[str, dict[str, Any]] = field(default_factory=_default_probes)


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path(DEFAULT_STATE_DIR_ROOT)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "homediag"


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> AgentConfig:
    """Read the file (if any) and apply environment overrides."""
    env = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    explicit = path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    candidate = explicit or Path(DEFAULT_CONFIG_PATH)
    if candidate.exists():
        try:
            data = tomllib.loads(candidate.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {candidate}: {exc}") from exc
    elif explicit is not None:
        raise ConfigError(f"config file {explicit} does not exist")
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key != CONFIG_ENV:
            _set_path(data, key[len(ENV_PREFIX) :].lower().split("__"), value)
    return _build(data)


def _set_path(data: dict[str, Any], path: list[str], value: str) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot override {'.'.join(path)}: {part} is not a table")
    node[path[-1]] = _parse_scalar(value)


def _parse_scalar(text: str) -> Any:
    """Environment values are TOML scalars when they parse as one, else strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _build(data: dict[str, Any]) -> AgentConfig:
    data = dict(data)
    try:
        link = _section(LinkConfig, data.pop("link", {}))
        outbox = _section(OutboxConfig, data.pop("outbox", {}))
        usp = _section(UspConfig, data.pop("usp", {}))
        probes = data.pop("probes", None)
        if probes is not None and not (
            isinstance(probes, dict) and all(isinstance(v, dict) for v in probes.values())
        ):
            raise ConfigError("[probes] must map probe names to tables of options")
        merged = _default_probes() | (probes or {})
        state_dir = Path(str(data.pop("state_dir"))) if "state_dir" in data else default_state_dir()
        log_level = str(data.pop("log_level", "INFO")).upper()
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    if data:
        raise ConfigError(f"unknown configuration keys: {', '.join(sorted(data))}")
    if outbox.max_messages < 10 or outbox.max_bytes < 64 * 1024:
        raise ConfigError("outbox bounds are too small to be useful")
    if not 0 < link.max_inflight <= 10_000:
        raise ConfigError("link.max_inflight must be between 1 and 10000")
    if usp.enabled and not (usp.broker_url and usp.controller_endpoint_id and usp.controller_topic):
        raise ConfigError("[usp] enabled needs broker_url, controller_endpoint_id and controller_topic")
    return AgentConfig(
        state_dir=state_dir, log_level=log_level, link=link, outbox=outbox, probes=merged, usp=usp
    )


def _section(cls: type[T], values: Any) -> T:
    if not isinstance(values, dict):
        raise ConfigError(f"[{cls.__name__}] must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        kwargs[name] = _coerce(name, value, type(default))
    return cls(**kwargs)


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{name} must be {kind.__name__}, got {value!r}")
