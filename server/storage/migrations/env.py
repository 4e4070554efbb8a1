"""Alembic environment: migrations run from `hangdoi init` / `hangdoi migrate`, not from an ini file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from server.storage import tables  # noqa: F401  (registers the tables on the metadata)
from server.storage.database import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: object) -> None:
    # Batch mode lets later migrations alter columns on SQLite, which has no ALTER COLUMN.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("hangdoi migrations run online only")
run_migrations_online()
