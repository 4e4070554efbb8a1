"""The engine's view of the queue: plain dataclasses whose field names match the table columns.

Keeping the names identical lets the storage layer copy rows to and from these objects with one
generic helper instead of a hand-written mapper per table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class CounterState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


# A ticket in one of these states is over: no command changes it any more.
FINAL_STATES = frozenset({TicketState.DONE, TicketState.NO_SHOW, TicketState.CANCELLED, TicketState.EXPIRED})

# States in which a ticket is "at" a counter (the counter's current ticket).
AT_COUNTER_STATES = frozenset({TicketState.CALLED, TicketState.SERVING})


@dataclass
class Centre:
    id: int
    name: str
    timezone: str
    opens_at: time | None
    closes_at: time | None
    # Weekdays the centre works, as digits of date.weekday() (Monday = 0): "012345" is Mon–Sat.
    working_days: str
    max_priority_in_row: int
    active: bool = True


@dataclass
class ProcedureField:
    id: int
    centre_id: int
    code: str
    name: str
    number_start: int
    number_end: int
    prefix: str
    daily_cap: int | None
    opens_at: time | None
    closes_at: time | None
    active: bool
    default_service_seconds: int
    service_ewma_seconds: float | None


@dataclass
class FieldDay:
    """How many tickets a field has issued on one service day (its number counter)."""

    field_id: int
    service_day: date
    issued_count: int


@dataclass
class PriorityGroup:
    id: int
    centre_id: int
    name: str
    active: bool


@dataclass
class Counter:
    id: int
    centre_id: int
    number: int
    name: str
    field_ids: list[int]
    state: CounterState
    current_ticket_id: int | None
    priority_streak: int
    officer_id: int | None
    active: bool = True


@dataclass
class Ticket:
    id: int | None
    centre_id: int
    field_id: int
    service_day: date
    number: int
    label: str
    code: str
    priority_group_id: int | None
    state: TicketState
    issued_at: datetime
    # The queue orders by this; it is the issue time, kept on transfer, reset when a no-show is
    # sent back to the end of the queue.
    queued_at: datetime
    counter_id: int | None = None
    target_counter_id: int | None = None
    recall_count: int = 0
    requeued: bool = False
    transfer_count: int = 0
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class Event:
    """One transition, as the engine decided it. The service gives it a sequence number and an actor."""

    kind: str
    at: datetime
    ticket: Ticket | None = None
    counter_id: int | None = None
    field_id: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
