"""Bringing a database's schema up to date with Alembic."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from server.storage.database import make_engine

SCRIPT_LOCATION = "server.storage:migrations"
# Any fixed number: PostgreSQL advisory locks are named by integers ("hangdoi" in ASCII).
MIGRATION_LOCK_KEY = 0x68616E67646F69


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, engine: Engine | None = None) -> None:
    """Apply every migration not yet applied (safe to run on every start)."""
    own = engine is None
    engine = engine or make_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several server processes starting together must not migrate at the same time; the
            # lock is released when this transaction ends.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    if own:
        engine.dispose()


def revision(url: str, message: str) -> None:
    """For developers: write a new migration from the difference between tables and database."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
