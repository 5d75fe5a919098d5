"""protocol/ imports neither side; agent/ and cloud/ never import each other; lab/ imports none of them."""

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
