"""Connecting to the database.

SQLite (the default, one mini-PC per centre) runs in WAL mode so the screens can read while a
command writes, and every write transaction starts with BEGIN IMMEDIATE: it takes the write lock
before reading, so two kiosks or two counters can never read the same "next" state. PostgreSQL
gets the same guarantee from row locks (SELECT … FOR UPDATE) taken by the service layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

WRITE_OPTION = "hangdoi_write"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    if not is_sqlite(url):
        # A province server runs several workers against one PostgreSQL, whose max_connections
        # (100 by default) they share: each worker keeps a small pool, and a request beyond it
        # waits for a connection rather than failing.
        return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's begin hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only a power cut can lose the
        # last commits, and never corrupts the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, for command transactions (BEGIN IMMEDIATE on SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})
