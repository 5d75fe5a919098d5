"""protocol/ imports neither side; agent/ and cloud/ never import each other; lab/ imports none of them.

Inside agent/, the probes (the scheduler's thin wrappers) import the feature packages' engines, never
the reverse: agent/connectivity/, agent/usage/ and agent/discovery/ import nothing of agent/probes/.

Inside cloud/api/, a route module never imports another: what two routers share (models, helpers)
lives beside them in cloud/api/, so a router can be read, moved or removed on its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "protocol": {"agent", "cloud", "lab"},
    "agent": {"cloud", "lab"},
    "cloud": {"agent", "lab"},
    "lab": {"agent", "cloud"},
}


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


#: Feature packages of the agent: engines the probes schedule, which never reach back into the probes.
ENGINES = ("agent.connectivity", "agent.usage", "agent.discovery")
#: Probe modules that are thin schedulers over one of those engines.
THIN_PROBES = {
    "ping": "agent.connectivity",
    "traceroute": "agent.connectivity",
    "dns": "agent.connectivity",
    "http": "agent.connectivity",
    "throughput": "agent.connectivity",
    "wifi": "agent.connectivity",
    "connectivity": "agent.connectivity",
    "usage": "agent.usage",
    "device_usage": "agent.usage",
    "discovery": "agent.discovery",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to their full dotted names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            # ``from . import x`` and ``from .. import probes`` name modules too.
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_never_import_the_probes(engine: str) -> None:
    folder = ROOT / engine.replace(".", "/")
    assert folder.is_dir()
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted(folder.rglob("*.py"))
        for module in sorted(_imported_modules(path))
        if _under(module, "agent.probes")
    ]
    assert offenders == []


@pytest.mark.parametrize(("probe", "engine"), sorted(THIN_PROBES.items()))
def test_probes_import_their_engine(probe: str, engine: str) -> None:
    imported = _imported_modules(ROOT / "agent" / "probes" / f"{probe}.py")
    assert any(_under(module, engine) for module in imported)


#: One router per resource (cloud/api/routes/), each standing alone.
ROUTES = "cloud.api.routes"


def test_routes_never_import_routes() -> None:
    folder = ROOT / ROUTES.replace(".", "/")
    routers = {_module_name(path) for path in folder.glob("*.py") if path.name != "__init__.py"}
    assert routers
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted(folder.glob("*.py"))
        if path.name != "__init__.py"
        for module in sorted(_imported_modules(path))
        if any(_under(module, router) for router in routers - {_module_name(path)})
    ]
    assert offenders == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {bad}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for bad in sorted(_imported_top_levels(path) & FORBIDDEN[package])
    ]
    assert offenders == []


def test_protocol_stays_light() -> None:
    """The agent loads protocol/ on small gateways: no web, database or broker stack behind it."""
    code = (
        "import sys, protocol;"
        "heavy = {'fastapi', 'sqlalchemy', 'pydantic', 'amqtt', 'paho', 'scapy', 'uvicorn'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
