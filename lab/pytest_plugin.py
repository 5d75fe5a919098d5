"""pytest plumbing for the virtual home: one home per session, and skip-or-fail when it cannot be built.

Lab tests are *skipped* with the reason on a machine without root or the Debian packages, and *fail*
when ``CI=true``, so that CI can never pass by skipping. Load it from the top-level ``tests/conftest.py``
with ``pytest_plugins = ["lab.pytest_plugin"]``; it defines fixtures only, no hooks, and a conftest
may also import them (``from lab.pytest_plugin import home as home``): both share one Lab.

    home          session-scoped Lab, built once (about 4 s) and removed at the end of the session
    clean_home    the same Lab, with every knob (impairment, WAN limit, unplugged host) undone after the test
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import pytest

from . import prereqs
from .cleanup import sweep
from .defaults import default_home
from .lab import Lab
from .model import Home

#: Tools the fixtures' lab needs besides the home's own daemons: its knobs.
KNOB_TOOLS = prereqs.KNOB_TOOLS


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_lab(home: Home | None = None, tools: Iterable[str] = ()) -> None:
    """Skip the calling test (fail it on CI) unless the lab, and ``tools``, can run here."""
    reasons = prereqs.missing(home, tools)
    if not reasons:
        return
    message = "virtual home unavailable: " + "; ".join(reasons)
    if on_ci():
        pytest.fail(f"{message} (CI=true: lab tests must run, not skip)", pytrace=False)
    pytest.skip(message)


class _SharedHome:
    """One Lab per session even when the fixture is both a plugin's and imported into a conftest."""

    lab: Lab | None = None
    users = 0

    @classmethod
    def acquire(cls) -> Lab:
        if cls.lab is None:
            sweep()  # leftovers of killed runs only: labs whose owner is still alive are left alone
            lab = Lab()
            lab.up()
            cls.lab = lab
        cls.users += 1
        return cls.lab

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.lab is not None:
            lab, cls.lab = cls.lab, None
            lab.down()


@pytest.fixture(scope="session")
def home() -> Iterator[Lab]:
    """The default home, built once per session; tests must leave it as they found it."""
    require_lab(default_home(), KNOB_TOOLS)
    lab = _SharedHome.acquire()
    try:
        yield lab
    finally:
        _SharedHome.release()


@pytest.fixture
def clean_home(home: Lab) -> Iterator[Lab]:
    """The session's home for a test that turns knobs; they are all undone afterwards."""
    try:
        yield home
    finally:
        home.reset()
