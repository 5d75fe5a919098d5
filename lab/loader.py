"""Read a :class:`~lab.model.Home` from a TOML or JSON file (same shape as the dataclasses).

    resolver = "10.213.254.53"
    dns_records = { "cloud.homediag.test" = "10.213.254.10" }
    [[hosts]]
    name = "pc"
    services = ["avahi"]
    default_route = "10.213.0.1"
    [[links]]
    host = "pc"
    address = "10.213.0.10/24"

Unknown keys are errors rather than ignored, so a misspelt field cannot silently build another home.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

from .errors import LabConfigError
from .model import Home, Host, Link, Service


def load_home(path: str | Path) -> Home:
    path = Path(path)
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise LabConfigError(f"cannot read home description {path}: {exc}") from exc
    return home_from_dict(data)


def home_from_dict(data: dict[str, Any]) -> Home:
    _check_keys(data, Home, "home")
    try:
        hosts = tuple(_host(h) for h in data.get("hosts", ()))
        links = tuple(_link(lk) for lk in data.get("links", ()))
        home = Home(
            hosts=hosts,
            links=links,
            resolver=str(data["resolver"]),
            dns_records={str(k): str(v) for k, v in dict(data.get("dns_records", {})).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LabConfigError(f"bad home description: {exc!r}") from exc
    return home.validate()


def _host(raw: dict[str, Any]) -> Host:
    _check_keys(raw, Host, "host")
    values = dict(raw)
    values["services"] = frozenset(Service(s) for s in raw.get("services", ()))
    values["loopback"] = tuple(raw.get("loopback", ()))
    return Host(**values)


def _link(raw: dict[str, Any]) -> Link:
    _check_keys(raw, Link, "link")
    return Link(**raw)


def _check_keys(raw: object, cls: type[Any], what: str) -> None:
    if not isinstance(raw, dict):
        raise LabConfigError(f"{what}: expected a table, got {type(raw).__name__}")
    unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise LabConfigError(f"{what}: unknown keys {sorted(unknown)}")
