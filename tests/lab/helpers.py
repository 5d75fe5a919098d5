"""Independent observers for the lab tests: they use standard tools and the standard library only."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable

from lab import Lab
from lab.pytest_plugin import require_lab


def need(*tools: str) -> None:
    """Skip (fail on CI) unless these checking tools are installed."""
    require_lab(None, tools)


def python_in(lab: Lab, host: str, code: str, *, timeout_s: float = 30.0) -> str:
    """Run a standard-library Python snippet inside a host and return its stdout."""
    return lab.exec(host, [sys.executable, "-I", "-c", code], timeout_s=timeout_s).stdout


def ping_rtts_ms(
    lab: Lab, host: str, target: str, *, count: int, interval_s: float, wait_s: int = 2
) -> tuple[list[float], int]:
    """Per-reply round-trip times from the real ``ping``, and how many requests it sent."""
    argv = ["ping", "-n", "-c", str(count), "-i", str(interval_s), "-W", str(wait_s), target]
    out = lab.exec(host, argv, check=False).stdout
    rtts = [float(m) for m in re.findall(r"time=([\d.]+) ms", out)]
    sent = re.search(r"(\d+) packets transmitted", out)
    return rtts, int(sent.group(1)) if sent else 0


def until(predicate: Callable[[], object], timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll a zero-argument callable until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
