"""Fixtures for the cloud's storage tests: a migrated database (SQLite and PostgreSQL, see
``database_url`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.storage import make_engine, make_sessionmaker, migrate


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()
