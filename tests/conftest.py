"""Shared fixtures: real mosquitto, cloud and agent processes; guards against leaks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import CloudProcess, Mosquitto, PostgresServer, SecureBroker

#: The virtual home's fixtures (`home`, `clean_home`): one lab per session, see docs/lab.md.
pytest_plugins = ["lab.pytest_plugin"]


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Iterator[None]:
    """Every process a test starts must be gone when it ends."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    leaked = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    for proc in leaked:
        proc.kill()
    assert not leaked, f"leaked processes: {[p.pid for p in leaked]}"


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while (leaked := [t for t in threading.enumerate() if t not in before and t.is_alive()]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not leaked, f"leaked threads: {[t.name for t in leaked]}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; tests take a fresh database each (``new_database``)."""
    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{exc} (CI=true: PostgreSQL tests must run, not skip)")
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests on both stores the cloud supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def cloud_on_mosquitto(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[CloudProcess]:
    """A running cloud on a real mosquitto (the ``mosquitto`` fixture, which a test may stop)."""
    service = CloudProcess(tmp_path, broker_url=mosquitto.url)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[tuple[CloudProcess, SecureBroker]]:
    """A cloud on mosquitto as `homediag-cloud broker-config` sets it up: mutual TLS, ACLs, CRL."""
    cloud = CloudProcess(tmp_path, broker_url="mqtts://placeholder:1")
    broker = SecureBroker(tmp_path, cloud)
    broker.start()
    try:
        cloud.start()
        yield cloud, broker
    finally:
        cloud.stop()
        broker.stop()


@pytest.fixture(params=["mosquitto", "embedded"])
def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CloudProcess]:
    """A running cloud, once with a real mosquitto and once with its embedded broker."""
    broker: Mosquitto | None = None
    if request.param == "mosquitto":
        broker = Mosquitto(tmp_path)
        broker.start()
    service = CloudProcess(tmp_path, broker_url=broker.url if broker else None)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        if broker is not None:
            broker.stop()
