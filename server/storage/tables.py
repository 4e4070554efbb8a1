"""The tables. Column names of the queue tables match the engine's dataclasses (server.engine.model)
so rows convert to engine objects and back with `server.storage.convert`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.storage.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Centre(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    opens_at: time | None = None
    closes_at: time | None = None
    working_days: str = Field(default="01234", max_length=7)
    max_priority_in_row: int = 2
    rating_levels: int = 4
    notice_text: str = Field(default="", max_length=1000)
    # How the waiting-room screens announce a call; the same for every screen of the centre.
    voice_enabled: bool = True
    voice_repeat: int = 2
    voice_digit_by_digit: bool = False
    voice_odd_word: str = Field(default="linh", max_length=8)
    # The sequence number of the centre's last event; every event takes the next one, in the
    # transaction that writes it, so numbers never repeat and never skip.
    event_seq: int = 0
    # The local day the centre's numbering is on. The first command of a new day (or the server's
    # check at midnight) moves it on and closes the tickets left open from the day before.
    service_day: date | None = None
    # The time of the centre's last event: a command dated well before it means the server's clock
    # was put back, which the server reports (services/context.py).
    last_event_at: datetime | None = _ts()
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ProcedureField(SQLModel, table=True):
    __tablename__ = "procedure_field"
    __table_args__ = (UniqueConstraint("centre_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    number_start: int = 1
    number_end: int = 999
    prefix: str = Field(default="", max_length=4)
    daily_cap: int | None = None
    opens_at: time | None = None
    closes_at: time | None = None
    display_order: int = 0
    active: bool = True
    default_service_seconds: int = 300
    service_ewma_seconds: float | None = None


class FieldDay(SQLModel, table=True):
    __tablename__ = "field_day"

    field_id: int = Field(foreign_key="procedure_field.id", primary_key=True)
    service_day: date = Field(primary_key=True)
    issued_count: int = 0


class Counter(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("centre_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    number: int
    name: str = Field(default="", max_length=200)
    state: str = Field(default="closed", max_length=16)
    current_ticket_id: int | None = None
    priority_streak: int = 0
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    active: bool = True


class CounterField(SQLModel, table=True):
    """The fields a counter serves; `position` 0 is the field it calls first."""

    __tablename__ = "counter_field"

    counter_id: int = Field(foreign_key="counter.id", primary_key=True)
    field_id: int = Field(foreign_key="procedure_field.id", primary_key=True)
    position: int = 0


class Officer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # None for a province administrator who manages every centre on the server.
    centre_id: int | None = Field(default=None, foreign_key="centre.id", index=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=200)
    role: str = Field(default="officer", max_length=16)
    password_hash: str = Field(max_length=200)
    phone: str = Field(default="", max_length=32)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AuthSession(SQLModel, table=True):
    """An officer's sign-in: the bearer token (stored hashed), its expiry, and the counter it is at."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = _ts()


class Device(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    last_seen_at: datetime | None = _ts()
    printer_state: str = Field(default="", max_length=32)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PriorityGroup(SQLModel, table=True):
    __tablename__ = "priority_group"
    __table_args__ = (UniqueConstraint("centre_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    display_order: int = 0
    active: bool = True


class Ticket(SQLModel, table=True):
    __table_args__ = (
        # The database's own guarantee that a number is never issued twice in a field's day.
        UniqueConstraint("issue_field_id", "service_day", "number"),
        Index("ix_ticket_centre_day_state", "centre_id", "service_day", "state"),
        Index("ix_ticket_field_state", "field_id", "state"),
        # A kiosk's tickets of the last minutes, for its rate limit.
        Index("ix_ticket_device_issued", "issued_by_device_id", "issued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id")
    field_id: int = Field(foreign_key="procedure_field.id")
    # The field that issued the number; `field_id` changes on transfer, this never does.
    issue_field_id: int = Field(foreign_key="procedure_field.id")
    service_day: date
    number: int
    label: str = Field(max_length=16)
    code: str = Field(max_length=32, unique=True)
    priority_group_id: int | None = Field(default=None, foreign_key="priority_group.id")
    state: str = Field(max_length=16)
    issued_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    queued_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    target_counter_id: int | None = Field(default=None, foreign_key="counter.id")
    recall_count: int = 0
    requeued: bool = False
    transfer_count: int = 0
    called_at: datetime | None = _ts()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    issued_by_device_id: int | None = Field(default=None, foreign_key="device.id")


class Event(SQLModel, table=True):
    """The append-only log of every transition of tickets and counters. Reports and audits are
    computed from it; live clients receive the same rows, in `seq` order."""

    __table_args__ = (
        UniqueConstraint("centre_id", "seq"),
        # The reports find a date range's tickets by their issue events.
        Index("ix_event_centre_kind_at", "centre_id", "kind", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id")
    seq: int
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    field_id: int | None = Field(default=None, foreign_key="procedure_field.id")
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    device_id: int | None = Field(default=None, foreign_key="device.id")
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Rating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    field_id: int = Field(foreign_key="procedure_field.id")
    counter_id: int = Field(foreign_key="counter.id")
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    level: int
    scale: int
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a device's or officer's command, returned again to a retry with the same key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=32)
    key: str = Field(max_length=100)
    request: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)


class LoginFailure(SQLModel, table=True):
    """A sign-in that failed (or is being checked), kept a short while: repeated failures for one
    username or from one address make the next attempts wait."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
