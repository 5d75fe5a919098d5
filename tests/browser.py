"""Debian's chromium driven by Playwright, headless, for the console tests (issue 9).

Playwright's own browser download is never used: it would need the internet. The browser runs with
the flags that keep it off the network (no background requests, no component updates), and with a
fresh profile each time. ``netns`` starts it inside a lab namespace (through a two-line wrapper that
``ip netns exec``\\s the real binary, keeping Playwright's pipe), so it reaches a cloud that lives there.

Screenshots go to ``$HOMEDIAG_SCREENSHOTS`` or ``test-artifacts/console`` in the checkout, kept
after the run so a person can look at the pages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(
    os.environ.get("HOMEDIAG_SCREENSHOTS", Path(__file__).resolve().parents[1] / "test-artifacts" / "console")
)


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the console tests must run, not skip)")
    pytest.skip(reason)


def require_browser() -> None:
    """Skip without the browser, except under CI=true, where the console tests must run."""
    if not Path(CHROMIUM).exists():
        _missing("needs Debian's chromium (./dev test installs it as root)")
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only to know it is there
    except ImportError:
        _missing("needs playwright (./dev test installs it)")


@contextmanager
def browser_page(workdir: Path, *, netns: str | None = None) -> Iterator[tuple[Any, list[str]]]:
    """A new page in a new headless chromium, and the list its script errors are added to;
    ``netns`` runs the browser inside that namespace."""
    require_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional: skip without it

    executable = CHROMIUM
    if netns is not None:
        wrapper = workdir / "chromium-in-netns"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {netns} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        executable = str(wrapper)
    profile = workdir / "chromium-profile"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=FLAGS,
            viewport={"width": 1366, "height": 900},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Script errors and policy violations; an API answering 4xx is the test's own business.
            page.on(
                "console",
                lambda msg: (
                    errors.append(msg.text)
                    if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                    else None
                ),
            )
            yield page, errors
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
