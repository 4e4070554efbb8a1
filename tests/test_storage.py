"""Storage: migrations build exactly the tables the code declares; SQLite runs in WAL mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from server.storage import tables
from server.storage.database import make_engine, writer
from server.storage.migrate import upgrade


def test_migrations_match_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    upgrade(url)  # a second run is a no-op, as on every server start
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)
        assert diff == [], f"the tables changed without a migration: {diff}"
        names = set(inspect(connection).get_table_names())
    assert {"centre", "procedure_field", "counter", "officer", "device", "ticket", "event", "rating", "priority_group"} <= names
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_times_are_stored_in_utc_and_come_back_aware(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    local = datetime(2026, 11, 23, 8, 30, tzinfo=timezone(timedelta(hours=7)))
    with Session(writer(engine)) as session:
        centre = tables.Centre(name="Trung tâm", created_at=local)
        session.add(centre)
        session.commit()
        centre_id = centre.id
    with engine.connect() as connection:
        assert connection.execute(text("SELECT created_at FROM centre")).scalar().startswith("2026-11-23 01:30:00")
    with Session(engine) as session:
        stored = session.get(tables.Centre, centre_id)
        assert stored is not None and stored.created_at == local and stored.created_at.tzinfo == UTC
        with pytest.raises(Exception, match="naive datetime"):
            stored.created_at = datetime(2026, 1, 1)
            session.commit()
    engine.dispose()


def test_the_database_refuses_a_duplicate_number(tmp_path: Path) -> None:
    """Even a bug in the service could not issue one number twice in a field's day."""
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'u.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    now = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    with Session(writer(engine)) as session:
        centre = tables.Centre(name="Trung tâm")
        session.add(centre)
        session.flush()
        field = tables.ProcedureField(centre_id=centre.id, code="HT", name="Hộ tịch")  # type: ignore[arg-type]
        session.add(field)
        session.flush()
        for code in ("a", "b"):
            session.add(
                tables.Ticket(
                    centre_id=centre.id,  # type: ignore[arg-type]
                    field_id=field.id,  # type: ignore[arg-type]
                    issue_field_id=field.id,  # type: ignore[arg-type]
                    service_day=now.date(),
                    number=1,
                    label="1",
                    code=code,
                    state="waiting",
                    issued_at=now,
                    queued_at=now,
                )
            )
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()
