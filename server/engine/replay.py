"""Rebuilding the queue from the event log.

The log is the record (DESIGN.md): every ticket and every counter must be what its events say.
`replay` reads a centre's events in sequence order, from the counters as they were before the
first one, and rebuilds every ticket and each counter's state, current ticket, priority streak
and officer. It never decides anything: each event says what happened, and an event that does
not fit the state so far (a call of a ticket that is not waiting, a gap in the sequence) stops
the replay with a ReplayError naming its seq instead of being guessed around.

What is not rebuilt: a ticket's code (the secret behind its QR link is never logged, because
events reach public screens), the fields' service-time averages, and the configuration itself
(fields, counters' fields, priority groups, hours). `config.updated` events are skipped:
configuration is kept in its own tables, not in the queue's state.

ticket.issued carries the ticket's number, label, priority group and service day since December
2026; a log written before that stops at its first ticket.issued ("carries no 'number'").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any, Protocol

from server.engine import estimate
from server.engine.model import (
    AT_COUNTER_STATES,
    FINAL_STATES,
    Counter,
    CounterState,
    Event,
    Ticket,
    TicketState,
)


class LoggedEvent(Protocol):
    """One event as the service stores it (server.storage.tables.Event has these attributes)."""

    centre_id: int
    seq: int
    kind: str
    at: datetime
    ticket_id: int | None
    counter_id: int | None
    field_id: int | None
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    """A stored event without a database, for tools and tests that hold engine events."""

    centre_id: int
    seq: int
    kind: str
    at: datetime
    ticket_id: int | None
    counter_id: int | None
    field_id: int | None
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event, centre_id: int, seq: int) -> StoredEvent:
        """What UnitOfWork.record writes for an engine event (its ticket must have its id by then)."""
        return cls(
            centre_id=centre_id,
            seq=seq,
            kind=event.kind,
            at=event.at,
            ticket_id=event.ticket.id if event.ticket is not None else None,
            counter_id=event.counter_id,
            field_id=event.field_id,
            from_state=event.from_state,
            to_state=event.to_state,
            data=event.data,
        )


@dataclass
class ReplayedTicket(Ticket):
    """A ticket as its events tell it: the engine's ticket with an empty `code` (never logged),
    plus the field that issued its number (the ticket table keeps it; `field_id` moves on transfer)."""

    issue_field_id: int = 0


# What a replayed ticket and counter can be compared on with a stored or engine one.
TICKET_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Ticket) if f.name != "code")
COUNTER_FIELDS: tuple[str, ...] = ("state", "current_ticket_id", "priority_streak", "officer_id")

ALL_COUNTER_STATES = frozenset(CounterState)


@dataclass
class QueueState:
    counters: dict[int, Counter]
    tickets: dict[int, ReplayedTicket] = field(default_factory=dict)
    rated: set[int] = field(default_factory=set)
    # The seq of the last event applied; the next must be exactly one more.
    seq: int = 0
    # The day the last day.started began (None before the first one).
    service_day: date | None = None


class ReplayError(Exception):
    """The log contradicts itself: this event cannot follow the ones before it."""

    def __init__(self, event: LoggedEvent, problem: str) -> None:
        super().__init__(f"seq {event.seq} ({event.kind}): {problem}")
        self.seq = event.seq
        self.kind = event.kind
        self.problem = problem


def replay(counters: Iterable[Counter], events: Iterable[LoggedEvent]) -> QueueState:
    """The queue after `events` (a centre's log from seq 1, in order), starting from `counters`:
    every counter of the centre as it was before the first event (one created later by an
    administrator as it was created: closed, nobody at it). The given counters are not changed."""
    state = QueueState(counters={c.id: replace(c, field_ids=list(c.field_ids)) for c in counters})
    for event in events:
        apply(state, event)
    return state


def apply(state: QueueState, event: LoggedEvent) -> None:
    """Apply the next event of the log to `state`."""
    if event.seq != state.seq + 1:
        raise ReplayError(event, f"expected seq {state.seq + 1} after seq {state.seq}: the log has a gap or is out of order")
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        raise ReplayError(event, "unknown kind of event")
    handler(state, event)
    state.seq = event.seq


# --- lookups and checks ---------------------------------------------------------------------------


def _ticket(state: QueueState, event: LoggedEvent, allowed: Iterable[TicketState]) -> ReplayedTicket:
    ticket = state.tickets.get(event.ticket_id) if event.ticket_id is not None else None
    if ticket is None:
        raise ReplayError(event, f"ticket {event.ticket_id} was never issued")
    if event.from_state != ticket.state:
        raise ReplayError(event, f"says ticket {ticket.id} was {event.from_state}, but it is {ticket.state.value}")
    if ticket.state not in allowed:
        raise ReplayError(event, f"ticket {ticket.id} is {ticket.state.value}")
    return ticket


def _counter(state: QueueState, event: LoggedEvent, counter_id: int | None = None) -> Counter:
    wanted = event.counter_id if counter_id is None else counter_id
    counter = state.counters.get(wanted) if wanted is not None else None
    if counter is None:
        raise ReplayError(event, f"counter {wanted} is not one of the centre's counters")
    return counter


def _holding(state: QueueState, event: LoggedEvent, ticket: ReplayedTicket) -> Counter:
    """The event's counter, which must have the ticket as its current one."""
    counter = _counter(state, event)
    if counter.current_ticket_id != ticket.id or ticket.counter_id != counter.id:
        raise ReplayError(
            event, f"ticket {ticket.id} is not at counter {counter.id} (its current is {counter.current_ticket_id})"
        )
    return counter


def _move(event: LoggedEvent, ticket: ReplayedTicket, to: TicketState) -> None:
    if event.to_state != to:
        raise ReplayError(event, f"says ticket {ticket.id} became {event.to_state}, but this event makes it {to.value}")
    ticket.state = to


def _counter_move(event: LoggedEvent, counter: Counter, allowed: Iterable[CounterState], to: CounterState) -> None:
    if event.from_state != counter.state:
        raise ReplayError(event, f"says counter {counter.id} was {event.from_state}, but it is {counter.state.value}")
    if counter.state not in allowed:
        raise ReplayError(event, f"counter {counter.id} is {counter.state.value}")
    if event.to_state != to:
        raise ReplayError(event, f"says counter {counter.id} became {event.to_state}, but this event makes it {to.value}")
    counter.state = to


def _data(event: LoggedEvent, key: str) -> Any:
    if key not in event.data:
        raise ReplayError(event, f"carries no {key!r}")
    return event.data[key]


def _free(counter: Counter) -> None:
    counter.current_ticket_id = None


# --- tickets ------------------------------------------------------------------------------------


def _issued(state: QueueState, event: LoggedEvent) -> None:
    if event.ticket_id is None or event.ticket_id in state.tickets:
        raise ReplayError(event, f"ticket {event.ticket_id} cannot be issued twice")
    if event.from_state is not None or event.to_state != TicketState.WAITING or event.field_id is None:
        raise ReplayError(event, "a new ticket must start waiting in a field")
    state.tickets[event.ticket_id] = ReplayedTicket(
        id=event.ticket_id,
        centre_id=event.centre_id,
        field_id=event.field_id,
        service_day=date.fromisoformat(_data(event, "service_day")),
        number=_data(event, "number"),
        label=_data(event, "label"),
        code="",
        priority_group_id=_data(event, "priority_group_id"),
        state=TicketState.WAITING,
        issued_at=event.at,
        queued_at=event.at,
        issue_field_id=event.field_id,
    )


def _called(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.WAITING})
    counter = _counter(state, event)
    if counter.state != CounterState.OPEN:
        raise ReplayError(event, f"counter {counter.id} is {counter.state.value}, it cannot call")
    if counter.current_ticket_id is not None:
        raise ReplayError(event, f"counter {counter.id} is still at ticket {counter.current_ticket_id}")
    _move(event, ticket, TicketState.CALLED)
    ticket.counter_id = counter.id
    ticket.target_counter_id = None
    ticket.called_at = event.at
    ticket.started_at = None
    counter.current_ticket_id = ticket.id
    # The same rule the call applied (the priority bound counts from this streak).
    counter.priority_streak = counter.priority_streak + 1 if estimate.goes_first(ticket) else 0


def _recalled(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.CALLED})
    _holding(state, event, ticket)
    if _data(event, "recall_count") != ticket.recall_count + 1:
        raise ReplayError(
            event, f"recall {event.data['recall_count']} of ticket {ticket.id}, which was recalled {ticket.recall_count} times"
        )
    _move(event, ticket, TicketState.CALLED)
    ticket.recall_count += 1


def _started(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.CALLED})
    _holding(state, event, ticket)
    _move(event, ticket, TicketState.SERVING)
    ticket.started_at = event.at


def _finished(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, AT_COUNTER_STATES)
    counter = _holding(state, event, ticket)
    _move(event, ticket, TicketState.DONE)
    ticket.finished_at = event.at
    _free(counter)


def _no_show(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.CALLED})
    counter = _holding(state, event, ticket)
    if _data(event, "requeued"):
        if ticket.requeued:
            raise ReplayError(event, f"ticket {ticket.id} was already sent back to the queue once")
        _move(event, ticket, TicketState.WAITING)
        ticket.requeued = True
        ticket.queued_at = event.at
        ticket.counter_id = None
    else:
        _move(event, ticket, TicketState.NO_SHOW)
        ticket.finished_at = event.at
    _free(counter)


def _transferred(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.WAITING, *AT_COUNTER_STATES})
    if ticket.state in AT_COUNTER_STATES:
        _free(_holding(state, event, ticket))
    if _data(event, "from_field_id") != ticket.field_id:
        raise ReplayError(
            event, f"moves ticket {ticket.id} from field {event.data['from_field_id']}, but it is in {ticket.field_id}"
        )
    to_counter = _data(event, "to_counter_id")
    if to_counter is not None:
        _counter(state, event, to_counter)
    _move(event, ticket, TicketState.WAITING)
    ticket.field_id = _data(event, "to_field_id")
    ticket.target_counter_id = to_counter
    ticket.counter_id = None
    ticket.called_at = None
    ticket.started_at = None
    ticket.transfer_count += 1


def _cancelled(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.WAITING, *AT_COUNTER_STATES})
    if ticket.state in AT_COUNTER_STATES:
        _free(_holding(state, event, ticket))
    _move(event, ticket, TicketState.CANCELLED)
    ticket.finished_at = event.at


def _expired(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.WAITING, *AT_COUNTER_STATES})
    if ticket.state in AT_COUNTER_STATES:
        # As queue.roll_over does: the counter it was left at is free again.
        holder = state.counters.get(ticket.counter_id) if ticket.counter_id is not None else None
        if holder is not None and holder.current_ticket_id == ticket.id:
            _free(holder)
    _move(event, ticket, TicketState.EXPIRED)
    ticket.finished_at = event.at


def _rated(state: QueueState, event: LoggedEvent) -> None:
    ticket = _ticket(state, event, {TicketState.DONE})
    if event.counter_id != ticket.counter_id:
        raise ReplayError(event, f"rated at counter {event.counter_id}, but ticket {ticket.id} was served at {ticket.counter_id}")
    if ticket.id in state.rated:
        raise ReplayError(event, f"ticket {ticket.id} was already rated")
    _move(event, ticket, TicketState.DONE)
    state.rated.add(ticket.id)  # type: ignore[arg-type]


def _day_started(state: QueueState, event: LoggedEvent) -> None:
    day = date.fromisoformat(_data(event, "service_day"))
    if state.service_day is not None and day <= state.service_day:
        raise ReplayError(event, f"day {day} does not come after {state.service_day}")
    for ticket in state.tickets.values():
        # roll_over expires these just before: one left open means a lost ticket.expired.
        if ticket.state not in FINAL_STATES and ticket.service_day < day:
            raise ReplayError(event, f"ticket {ticket.id} of {ticket.service_day} is still {ticket.state.value}")
    for counter in state.counters.values():
        counter.priority_streak = 0
    state.service_day = day


# --- counters -----------------------------------------------------------------------------------


def _opened(state: QueueState, event: LoggedEvent) -> None:
    counter = _counter(state, event)
    if _data(event, "previous_officer_id") != counter.officer_id:
        raise ReplayError(
            event,
            f"takes counter {counter.id} over from officer {event.data['previous_officer_id']}, but {counter.officer_id} had it",
        )
    to = CounterState.OPEN if counter.state == CounterState.CLOSED else counter.state
    _counter_move(event, counter, ALL_COUNTER_STATES, to)
    counter.officer_id = _data(event, "officer_id")


def _closed(state: QueueState, event: LoggedEvent) -> None:
    counter = _counter(state, event)
    if counter.current_ticket_id is not None:
        raise ReplayError(event, f"counter {counter.id} is still at ticket {counter.current_ticket_id}")
    _counter_move(event, counter, ALL_COUNTER_STATES, CounterState.CLOSED)
    counter.officer_id = None
    counter.priority_streak = 0


def _paused(state: QueueState, event: LoggedEvent) -> None:
    _counter_move(event, _counter(state, event), {CounterState.OPEN}, CounterState.PAUSED)


def _resumed(state: QueueState, event: LoggedEvent) -> None:
    _counter_move(event, _counter(state, event), {CounterState.PAUSED}, CounterState.OPEN)


def _configuration(state: QueueState, event: LoggedEvent) -> None:
    """Configuration is not queue state: its tables hold it, and no ticket or counter state
    changes with it (deactivating a busy counter is refused; an officer's deactivation closes
    their counter with its own counter.* event)."""


_HANDLERS: dict[str, Callable[[QueueState, LoggedEvent], None]] = {
    "ticket.issued": _issued,
    "ticket.called": _called,
    "ticket.recalled": _recalled,
    "ticket.started": _started,
    "ticket.finished": _finished,
    "ticket.no_show": _no_show,
    "ticket.transferred": _transferred,
    "ticket.cancelled": _cancelled,
    "ticket.expired": _expired,
    "ticket.rated": _rated,
    "day.started": _day_started,
    "counter.opened": _opened,
    "counter.closed": _closed,
    "counter.paused": _paused,
    "counter.resumed": _resumed,
    "config.updated": _configuration,
}
