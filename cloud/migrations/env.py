"""Alembic environment: runs on the connection the cloud hands over, or on the configured URL."""

from alembic import context
from sqlalchemy import Connection, create_engine

from cloud.storage import Base  # the package, so that every model module is loaded
from cloud.storage.db import include_object

config = context.config


def _upgrade(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _upgrade(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _upgrade(conn)


run()
