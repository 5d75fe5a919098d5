"""Engines, sessions and migrations.

A SQLite database holds every subscriber's data, and SQLite itself would create it 0644 under the
usual umask: it is created 0600 first, whatever the umask (its missing folders 0700), and SQLite
gives the ``-wal`` and ``-shm`` files the database's mode. One that exists keeps its owner's mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..config import make_private_dir
from ..errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

#: Indexes only PostgreSQL gets (migration 0016: trigram indexes for the subscriber search, which
#: need the pg_trgm extension). The models do not declare them, so comparing models with a
#: migrated database leaves them out.
POSTGRES_ONLY_INDEXES = frozenset(
    {"ix_subscribers_reference_trgm", "ix_subscribers_name_trgm", "ix_subscribers_email_trgm"}
)


def include_object(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Alembic's filter for comparing models with a database (autogenerate, the schema test)."""
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES)


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an empty file is an empty database)."""
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken the owner's write bit away
    finally:
        os.close(fd)


def make_engine(url: str) -> Engine:
    # msgspec encodes JSON columns several times faster than the json module, and passes
    # msgspec.Raw (a report body exactly as the agent signed it) through untouched.
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": msgspec.json.decode}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        try:
            db_path = make_url(url).database
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot use database {url!r}: {exc}") from exc
        if db_path and db_path != ":memory:" and not db_path.startswith("file:"):
            try:
                _create_private_file(Path(db_path))
            except OSError as exc:
                raise StorageError(f"cannot create the database {db_path}: {exc}") from exc
    else:
        # One connection for each of the API's worker threads (anyio's 40) and the ingest's writer,
        # so a burst of page loads queues in the threads, not on the pool's 30-second timeout.
        kwargs |= {"pool_size": 10, "max_overflow": 35, "pool_pre_ping": True}
    try:
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError) as exc:
        raise StorageError(f"cannot use database {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the API read while ingestion writes; NORMAL is crash-safe in WAL mode.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"migration failed: {exc}") from exc
