"""The queue engine against a deliberately simple reference model, driven by hypothesis.

Any sequence of commands (issue, call next, call one ticket, recall, start, finish, no-show with
and without sending the ticket back, transfer to a field / a counter / both, cancel, pause,
resume, signing in and out of counters, ratings, and the clock moving on by minutes or hours,
across local midnight with the roll-over the service does on a new day's first command) must keep:

- every ticket in exactly one state, and the counters consistent with the tickets;
- no number twice in a field's day;
- the engine's state equal to the model's, refusals included (the same code, and nothing changed);
- the calling order and the priority bound, checked again on the call history by a plain rule;
- the log sufficient: replaying the events (as the service stores them) rebuilds the engine's state.

The model shares no code with the engine: plain lists of ticket ids per state, and the calling
rule written from its description in queue.call_order's docstring. Examples: 400 a run, or
HANGDOI_HYPOTHESIS_EXAMPLES; with CI=true the run is derandomized, so CI is deterministic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from server.engine import queue as q
from server.engine import rating, replay
from server.engine.errors import QueueError
from server.engine.model import (
    Centre,
    Counter,
    CounterState,
    Event,
    FieldDay,
    PriorityGroup,
    ProcedureField,
    Ticket,
    TicketState,
)

T = TypeVar("T")

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # Monday 07:30 in Hà Nội
MAX_IN_ROW = 2
RATING_SCALE = 4
RATING_WINDOW = timedelta(minutes=15)

# --- the reference model --------------------------------------------------------------------------

WAITING, CALLED, SERVING, DONE, NO_SHOW, CANCELLED, EXPIRED = (
    "waiting",
    "called",
    "serving",
    "done",
    "no_show",
    "cancelled",
    "expired",
)
STATES = (WAITING, CALLED, SERVING, DONE, NO_SHOW, CANCELLED, EXPIRED)
OVER = {DONE, NO_SHOW, CANCELLED, EXPIRED}
AT_DESK = {CALLED, SERVING}


@dataclass(frozen=True)
class FieldSetup:
    id: int
    first: int
    last: int
    prefix: str
    cap: int | None
    label: str  # how its numbers are written, as a format string


# One field numbered by range, one by letter prefix, one with a small daily cap (so it fills up).
# The ranges and the prefix keep every label of a day distinct across the centre.
FIELDS = (
    FieldSetup(1, 1001, 1999, "", None, "{}"),
    FieldSetup(2, 1, 999, "A", None, "A{:03d}"),
    FieldSetup(3, 3001, 3999, "", 3, "{}"),
)
FIELD_BY_ID = {f.id: f for f in FIELDS}
# Overlapping fields in different orders; counter 1 does not serve field 3, counter 3 not field 2.
COUNTER_FIELDS = {1: [1, 2], 2: [2, 3, 1], 3: [3, 1]}
GROUPS = (1, 2)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class ModelTicket:
    id: int
    field: int
    issue_field: int
    day: date
    number: int
    label: str
    group: int | None
    issued_at: datetime
    queued_at: datetime
    place: int  # arrival order in the queue: issuing and sending back take the next place
    counter: int | None = None
    target: int | None = None
    recalls: int = 0
    requeued: bool = False
    transfers: int = 0
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def goes_first(self) -> bool:
        # A priority citizen sent back after a no-show has had their turn.
        return self.group is not None and not self.requeued


@dataclass
class ModelCounter:
    id: int
    fields: list[int]
    state: str
    officer: int | None
    current: int | None = None
    streak: int = 0


class Model:
    """What the queue should do, written from the rules' descriptions, as simply as possible.
    Each command checks first and raises Refused(code) before changing anything."""

    def __init__(self, counters: list[ModelCounter]) -> None:
        self.lists: dict[str, list[int]] = {state: [] for state in STATES}
        self.tickets: dict[int, ModelTicket] = {}
        self.counters = {c.id: c for c in counters}
        self.issued: dict[tuple[int, date], int] = {}
        self.rated: set[int] = set()
        self.places = 0

    def state(self, ticket_id: int) -> str:
        return next(state for state, ids in self.lists.items() if ticket_id in ids)

    def _put(self, ticket: ModelTicket, state: str) -> None:
        self.lists[self.state(ticket.id)].remove(ticket.id)
        self.lists[state].append(ticket.id)

    def _next_place(self) -> int:
        self.places += 1
        return self.places

    # issuing

    def issue(self, field_id: int, group: int | None, now: datetime, day: date) -> int:
        field = FIELD_BY_ID[field_id]
        count = self.issued.get((field_id, day), 0)
        room = field.last - field.first + 1
        if field.cap is not None:
            room = min(room, field.cap)
        if count >= room:
            raise Refused("field_full")
        self.issued[(field_id, day)] = count + 1
        number = field.first + count
        ticket = ModelTicket(
            id=len(self.tickets) + 1,
            field=field_id,
            issue_field=field_id,
            day=day,
            number=number,
            label=field.label.format(number),
            group=group,
            issued_at=now,
            queued_at=now,
            place=self._next_place(),
        )
        self.tickets[ticket.id] = ticket
        self.lists[WAITING].append(ticket.id)
        return ticket.id

    # calling

    def first_in_line(self, counter: ModelCounter) -> int | None:
        """queue.call_order's rule: the counter's field order first, then priority, then queue
        time; priority goes first but never more than MAX_IN_ROW in a row while a normal ticket of
        that field waits. A ticket sent to one counter is that counter's alone, and ranks with its
        first field when it is not one of the counter's fields."""

        def for_this_counter(t: ModelTicket) -> bool:
            return t.target == counter.id if t.target is not None else t.field in counter.fields

        def rank(t: ModelTicket) -> int:
            return counter.fields.index(t.field) if t.field in counter.fields else 0

        mine = [self.tickets[i] for i in self.lists[WAITING] if for_this_counter(self.tickets[i])]
        if not mine:
            return None
        best = min(rank(t) for t in mine)
        line = sorted((t for t in mine if rank(t) == best), key=lambda t: t.place)
        priority = [t for t in line if t.goes_first]
        normal = [t for t in line if not t.goes_first]
        if priority and (not normal or counter.streak < MAX_IN_ROW):
            return priority[0].id
        return normal[0].id

    def _check_can_call(self, counter: ModelCounter) -> None:
        if counter.state == "paused":
            raise Refused("counter_paused")
        if counter.state == "closed":
            raise Refused("counter_closed")
        if counter.current is not None:
            raise Refused("counter_busy")

    def _call(self, counter: ModelCounter, ticket: ModelTicket, now: datetime) -> None:
        self._put(ticket, CALLED)
        ticket.counter = counter.id
        ticket.target = None
        ticket.called_at = now
        ticket.started_at = None
        counter.current = ticket.id
        counter.streak = counter.streak + 1 if ticket.goes_first else 0

    def call_next(self, counter_id: int, now: datetime) -> int:
        counter = self.counters[counter_id]
        self._check_can_call(counter)
        chosen = self.first_in_line(counter)
        if chosen is None:
            raise Refused("queue_empty")
        self._call(counter, self.tickets[chosen], now)
        return chosen

    def _may_pick(self, counter: ModelCounter, ticket: ModelTicket) -> bool:
        """By hand an officer may take a waiting ticket of their fields, or one sent to them."""
        return ticket.target == counter.id or ticket.field in counter.fields

    def call(self, counter_id: int, ticket_id: int, now: datetime, today: date) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        self._check_can_call(counter)
        if self.state(ticket_id) != WAITING:
            raise Refused("ticket_not_waiting")
        if ticket.day != today:
            raise Refused("ticket_of_another_day")
        if not self._may_pick(counter, ticket):
            raise Refused("ticket_not_for_counter")
        self._call(counter, ticket, now)

    # at the desk

    def _check_at_desk(self, counter: ModelCounter, ticket: ModelTicket) -> None:
        state = self.state(ticket.id)
        if state in AT_DESK and ticket.counter == counter.id and counter.current == ticket.id:
            return
        raise Refused("ticket_not_called" if state == WAITING else "ticket_not_at_counter")

    def recall(self, counter_id: int, ticket_id: int) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        self._check_at_desk(counter, ticket)
        if self.state(ticket_id) == SERVING:
            raise Refused("ticket_already_serving")
        if counter.state == "paused":
            raise Refused("counter_paused")
        ticket.recalls += 1

    def start(self, counter_id: int, ticket_id: int, now: datetime) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        self._check_at_desk(counter, ticket)
        if self.state(ticket_id) == SERVING:
            raise Refused("ticket_already_serving")
        self._put(ticket, SERVING)
        ticket.started_at = now

    def finish(self, counter_id: int, ticket_id: int, now: datetime) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        self._check_at_desk(counter, ticket)
        self._put(ticket, DONE)
        ticket.finished_at = now
        counter.current = None

    def no_show(self, counter_id: int, ticket_id: int, requeue: bool, now: datetime) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        self._check_at_desk(counter, ticket)
        if self.state(ticket_id) == SERVING:
            raise Refused("ticket_already_serving")
        if requeue and ticket.requeued:
            raise Refused("ticket_already_requeued")
        counter.current = None
        if requeue:
            # To the back of the line, once; called_at keeps the time of the missed call.
            self._put(ticket, WAITING)
            ticket.requeued = True
            ticket.queued_at = now
            ticket.place = self._next_place()
            ticket.counter = None
        else:
            self._put(ticket, NO_SHOW)
            ticket.finished_at = now

    def _check_may_move(self, counter: ModelCounter, ticket: ModelTicket) -> None:
        """Moving or cancelling: not a finished ticket; the counter's own ticket if at a desk; a
        waiting one only if this counter could pick it by hand."""
        state = self.state(ticket.id)
        if state in OVER:
            raise Refused("ticket_final")
        if state in AT_DESK:
            self._check_at_desk(counter, ticket)
        if state == WAITING and not self._may_pick(counter, ticket):
            raise Refused("ticket_not_for_counter")

    def transfer(self, counter_id: int, ticket_id: int, to_field: int | None, to_counter: int | None) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        if to_field is None and to_counter is None:
            raise Refused("transfer_target_missing")
        self._check_may_move(counter, ticket)
        if to_counter is not None:
            if to_counter == counter_id:
                raise Refused("transfer_to_self")
            if to_field is not None and to_field not in self.counters[to_counter].fields:
                raise Refused("counter_not_serving_field")
        if to_field is not None and to_counter is None and to_field == ticket.field:
            raise Refused("transfer_same_field")
        if counter.current == ticket_id:
            counter.current = None
        # Same number, same place in the line (its queue time stays).
        self._put(ticket, WAITING)
        if to_field is not None:
            ticket.field = to_field
        ticket.target = to_counter
        ticket.counter = None
        ticket.called_at = None
        ticket.started_at = None
        ticket.transfers += 1

    def cancel(self, counter_id: int, ticket_id: int, now: datetime) -> None:
        counter, ticket = self.counters[counter_id], self.tickets[ticket_id]
        self._check_may_move(counter, ticket)
        if counter.current == ticket_id:
            counter.current = None
        self._put(ticket, CANCELLED)
        ticket.finished_at = now

    def rate(self, counter_id: int, ticket_id: int, now: datetime) -> None:
        ticket = self.tickets[ticket_id]
        if self.state(ticket_id) != DONE:
            raise Refused("ticket_not_finished")
        if ticket.counter != counter_id:
            raise Refused("ticket_not_for_counter")
        if ticket_id in self.rated:
            raise Refused("already_rated")
        assert ticket.finished_at is not None
        if now - ticket.finished_at > RATING_WINDOW:
            raise Refused("rating_closed")
        self.rated.add(ticket_id)

    # counters

    def open(self, counter_id: int, officer: int) -> None:
        counter = self.counters[counter_id]
        counter.officer = officer  # whoever sits down now takes the counter over
        if counter.state == "closed":
            counter.state = "open"

    def close(self, counter_id: int) -> None:
        counter = self.counters[counter_id]
        if counter.current is not None:
            raise Refused("counter_busy")
        counter.state, counter.officer, counter.streak = "closed", None, 0

    def pause(self, counter_id: int) -> None:
        counter = self.counters[counter_id]
        if counter.state == "paused":
            raise Refused("counter_already_paused")
        if counter.state == "closed":
            raise Refused("counter_closed")
        counter.state = "paused"

    def resume(self, counter_id: int) -> None:
        counter = self.counters[counter_id]
        if counter.state != "paused":
            raise Refused("counter_not_paused")
        counter.state = "open"

    # the day's end

    def new_day(self, today: date, now: datetime) -> None:
        """Tickets of earlier days still open can never be served: expired, their desks freed;
        every counter's run of priority calls starts again."""
        for ticket_id in [i for state in (WAITING, CALLED, SERVING) for i in self.lists[state]]:
            ticket = self.tickets[ticket_id]
            if ticket.day >= today:
                continue
            for counter in self.counters.values():
                if counter.current == ticket_id:
                    counter.current = None
            self._put(ticket, EXPIRED)
            ticket.finished_at = now
        for counter in self.counters.values():
            counter.streak = 0


# --- the engine, driven by hypothesis ------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One call, with what waited for the counter at the called ticket's field rank just before."""

    by_hand: bool
    priority: bool  # a ticket that goes first (a priority one, not sent back after a no-show)
    rank: int
    lowest_rank: int
    priority_waiting: bool
    normal_waiting: bool


def local_day(moment: datetime) -> date:
    return moment.astimezone(TIMEZONE).date()


def engine_field(setup: FieldSetup) -> ProcedureField:
    return ProcedureField(
        id=setup.id,
        centre_id=1,
        code=f"F{setup.id}",
        name=f"Lĩnh vực {setup.id}",
        number_start=setup.first,
        number_end=setup.last,
        prefix=setup.prefix,
        daily_cap=setup.cap,
        opens_at=None,
        closes_at=None,
        active=True,
        default_service_seconds=300,
        service_ewma_seconds=None,
    )


FIELD_IDS = st.sampled_from([f.id for f in FIELDS])
GROUP_CHOICES = st.sampled_from([None, *GROUPS])  # many priority citizens: the bound must bite


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.day = local_day(START)
        self.centre = Centre(
            id=1,
            name="Trung tâm",
            timezone=str(TIMEZONE),
            opens_at=None,
            closes_at=None,
            working_days="0123456",
            max_priority_in_row=MAX_IN_ROW,
        )
        self.fields = {f.id: engine_field(f) for f in FIELDS}
        self.groups = {g: PriorityGroup(g, 1, f"Nhóm ưu tiên {g}", True) for g in GROUPS}
        self.field_days: dict[tuple[int, date], FieldDay] = {}
        self.tickets: dict[int, Ticket] = {}
        self.issue_field: dict[int, int] = {}
        self.counters: dict[int, Counter] = {}
        self.rated: set[int] = set()  # the service's rating table
        self.calls: dict[int, list[Call | None]] = {c: [] for c in COUNTER_FIELDS}  # None: the run restarts
        self.log: list[replay.StoredEvent] = []
        self.initial: list[Counter] = []
        self.model = Model([])
        self.replayed = replay.replay([], [])

    # Mostly open: a closed or paused counter refuses nearly everything.
    @initialize(states=st.tuples(*(st.sampled_from([*[CounterState.OPEN] * 3, *CounterState]) for _ in COUNTER_FIELDS)))
    def set_up_counters(self, states: tuple[CounterState, ...]) -> None:
        for (counter_id, field_ids), state in zip(COUNTER_FIELDS.items(), states, strict=True):
            officer = None if state == CounterState.CLOSED else 100 + counter_id
            self.counters[counter_id] = Counter(
                id=counter_id,
                centre_id=1,
                number=counter_id,
                name=f"Quầy {counter_id}",
                field_ids=list(field_ids),
                state=state,
                current_ticket_id=None,
                priority_streak=0,
                officer_id=officer,
            )
        self.initial = [replace(c, field_ids=list(c.field_ids)) for c in self.counters.values()]
        self.model = Model([ModelCounter(c.id, list(c.field_ids), c.state.value, c.officer_id) for c in self.initial])
        self.replayed = replay.replay(self.initial, [])

    # --- helpers ------------------------------------------------------------------------------

    def _begin(self) -> None:
        """Every command comes a second after the one before, as on a real clock: the queue's
        order is by queue time, so a no-show sent back at the very instant another ticket was
        issued would tie with it. The first command of a new local day rolls the day over first,
        as the service does."""
        self.now += timedelta(seconds=1)
        today = local_day(self.now)
        if today > self.day:
            self.day = today
            self._record(q.roll_over(list(self.tickets.values()), list(self.counters.values()), today, self.now))
            self.model.new_day(today, self.now)
            for calls in self.calls.values():
                calls.append(None)

    def _record(self, events: list[Event]) -> None:
        """Store the events as UnitOfWork.record does (data through JSON, like the column) and
        apply them to the replayed state."""
        for event in events:
            text = json.dumps(event.data)
            if event.ticket is not None:
                # Event data reaches public screens: never the ticket's secret code.
                assert event.ticket.code not in text and "code" not in event.data, event
            stored = replace(replay.StoredEvent.of(event, 1, len(self.log) + 1), data=json.loads(text))
            self.log.append(stored)
            replay.apply(self.replayed, stored)

    def _snapshot(self) -> object:
        """Everything a command may change, copied (the values themselves are immutable)."""
        return (
            {i: dict(vars(t)) for i, t in self.tickets.items()},
            {i: dict(vars(c), field_ids=list(c.field_ids)) for i, c in self.counters.items()},
            {k: d.issued_count for k, d in self.field_days.items()},
            {i: f.service_ewma_seconds for i, f in self.fields.items()},
        )

    def _run(self, predict: Callable[[], T], act: Callable[[], Event]) -> tuple[T, Event] | None:
        """Ask the model, then the engine: both refuse with the same code, the refusal changing
        nothing, or both accept (the new states are compared by the invariants)."""
        try:
            expected = predict()
        except Refused as refusal:
            before = self._snapshot()
            try:
                event = act()
            except QueueError as error:
                assert error.code == refusal.code, f"engine refused with {error.code}, the model with {refusal.code}"
                assert self._snapshot() == before, f"refused ({error.code}) but changed the state"
                return None
            raise AssertionError(f"engine accepted ({event.kind}); the model refused with {refusal.code}") from None
        try:
            event = act()
        except QueueError as error:
            raise AssertionError(f"engine refused with {error.code}: {error.message}; the model accepted") from error
        self._record([event])
        return expected, event

    def _pick(self, data: st.DataObject, *preferred: TicketState, rather: Callable[[Ticket], bool] | None = None) -> Ticket:
        """Mostly a ticket in one of the states the command is meant for (among those, often one
        that is `rather` so), sometimes any."""
        wanted = sorted(i for i, t in self.tickets.items() if t.state in preferred)
        pool = wanted if wanted and data.draw(st.integers(0, 4), label="prefer") else sorted(self.tickets)
        if rather is not None:
            special = [i for i in pool if rather(self.tickets[i])]
            pool = special if special and data.draw(st.booleans(), label="rather") else pool
        return self.tickets[data.draw(st.sampled_from(pool), label="ticket")]

    def _counter(self, data: st.DataObject, fits: Callable[[Counter], bool]) -> Counter:
        """Mostly a counter where the command makes sense; sometimes any, for the refusals."""
        fitting = [i for i, c in self.counters.items() if fits(c)]
        pool = fitting if fitting and data.draw(st.integers(0, 4), label="fitting counter") else sorted(self.counters)
        return self.counters[data.draw(st.sampled_from(pool), label="counter")]

    def _at_desk(self, data: st.DataObject, rather: Callable[[Ticket], bool] = lambda t: True) -> tuple[Counter, Ticket]:
        """A counter and its current ticket (mostly one that is `rather` so), as the service
        passes; sometimes another ticket."""
        counter = self._counter(data, lambda c: c.current_ticket_id is not None and rather(self.tickets[c.current_ticket_id]))
        if counter.current_ticket_id is not None and data.draw(st.integers(0, 4), label="its current ticket"):
            return counter, self.tickets[counter.current_ticket_id]
        return counter, self._pick(data, TicketState.CALLED, TicketState.SERVING)

    def _waiting_by_rank(self, counter: Counter) -> dict[int, tuple[bool, bool]]:
        """For each field rank of the counter: whether a priority ticket, and a normal one, wait
        there for it."""
        ranks: dict[int, tuple[bool, bool]] = {}
        for t in self.tickets.values():
            if t.state != TicketState.WAITING:
                continue
            reserved = t.target_counter_id is not None
            if (reserved and t.target_counter_id != counter.id) or (not reserved and t.field_id not in counter.field_ids):
                continue
            rank = counter.field_ids.index(t.field_id) if t.field_id in counter.field_ids else 0
            first = t.priority_group_id is not None and not t.requeued
            has_priority, has_normal = ranks.get(rank, (False, False))
            ranks[rank] = (has_priority or first, has_normal or not first)
        return ranks

    def _note_call(self, counter: Counter, ticket: Ticket, before: dict[int, tuple[bool, bool]], by_hand: bool) -> None:
        rank = counter.field_ids.index(ticket.field_id) if ticket.field_id in counter.field_ids else 0
        priority_waiting, normal_waiting = before.get(rank, (False, False))
        # goes first: priority and not sent back; `requeued` is unchanged by the call
        priority = ticket.priority_group_id is not None and not ticket.requeued
        self.calls[counter.id].append(Call(by_hand, priority, rank, min(before, default=rank), priority_waiting, normal_waiting))

    # --- rules: issuing and calling ---------------------------------------------------------

    def _issue(self, field_id: int, group: int | None) -> None:
        self._begin()
        day = self.field_days.setdefault((field_id, self.day), FieldDay(field_id, self.day, 0))
        ticket_id = len(self.tickets) + 1
        waiting = [t for t in self.tickets.values() if t.state == TicketState.WAITING and t.field_id == field_id]
        open_counters = sum(1 for c in self.counters.values() if c.state == CounterState.OPEN and field_id in c.field_ids)

        def act() -> Event:
            issued = q.issue(
                self.centre,
                self.fields[field_id],
                day,
                self.groups[group] if group is not None else None,
                self.now,
                f"secret{ticket_id:06d}qr",
                len(waiting),
                sum(1 for t in waiting if t.priority_group_id is not None and not t.requeued),
                open_counters,
            )
            issued.ticket.id = ticket_id  # the database's id, given at insert
            return issued.event

        result = self._run(lambda: self.model.issue(field_id, group, self.now, self.day), act)
        if result is not None:
            expected, event = result
            assert expected == ticket_id and event.ticket is not None
            self.tickets[ticket_id] = event.ticket
            self.issue_field[ticket_id] = field_id

    @rule(field_id=FIELD_IDS, group=GROUP_CHOICES)
    def issue(self, field_id: int, group: int | None) -> None:
        self._issue(field_id, group)

    @rule(citizens=st.lists(st.tuples(FIELD_IDS, GROUP_CHOICES), min_size=2, max_size=6))
    def a_crowd_arrives(self, citizens: list[tuple[int, int | None]]) -> None:
        # Queues long enough for the priority bound and the field order to matter.
        for field_id, group in citizens:
            self._issue(field_id, group)

    def _call_next(self, counter: Counter) -> Ticket | None:
        self._begin()
        before = self._waiting_by_rank(counter)
        result = self._run(
            lambda: self.model.call_next(counter.id, self.now),
            lambda: q.call_next(self.centre, counter, list(self.tickets.values()), self.now),
        )
        if result is None:
            return None
        expected, event = result
        assert event.ticket is not None and event.ticket.id == expected, "call next took another ticket than the model"
        self._note_call(counter, event.ticket, before, by_hand=False)
        return event.ticket

    @rule(data=st.data())
    def call_next(self, data: st.DataObject) -> None:
        self._call_next(self._counter(data, lambda c: c.state == CounterState.OPEN and c.current_ticket_id is None))

    @rule(times=st.integers(1, 4), data=st.data())
    def quick_services(self, times: int, data: st.DataObject) -> None:
        """A counter calls next and finishes, a few times over: the usual rhythm of a counter,
        which builds the runs of priority calls that the bound is about."""
        counter = self._counter(data, lambda c: c.state == CounterState.OPEN and c.current_ticket_id is None)
        for _ in range(times):
            ticket = self._call_next(counter)
            if ticket is None:
                return
            self._finish(counter, ticket)

    @precondition(lambda self: self.tickets)
    @rule(data=st.data())
    def call_ticket(self, data: st.DataObject) -> None:
        self._begin()
        counter = self._counter(data, lambda c: c.state == CounterState.OPEN and c.current_ticket_id is None)
        # Often one sent back after a no-show: the citizen came back to the desk.
        ticket = self._pick(data, TicketState.WAITING, rather=lambda t: t.requeued)
        before = self._waiting_by_rank(counter)
        result = self._run(
            lambda: self.model.call(counter.id, ticket.id, self.now, self.day),  # type: ignore[arg-type]
            lambda: q.call_ticket(counter, ticket, self.now, self.day),
        )
        if result is not None:
            self._note_call(counter, ticket, before, by_hand=True)

    # --- rules: at the desk (the counter's current ticket, mostly) -----------------------------

    def _someone_at_a_desk(self) -> bool:
        # Only then: otherwise these would take most steps to be refused, and calls would be rare.
        return any(c.current_ticket_id is not None for c in self.counters.values())

    @precondition(lambda self: self._someone_at_a_desk())
    @rule(data=st.data())
    def recall(self, data: st.DataObject) -> None:
        self._begin()
        counter, ticket = self._at_desk(data, rather=lambda t: t.state == TicketState.CALLED)
        self._run(lambda: self.model.recall(counter.id, ticket.id), lambda: q.recall(counter, ticket, self.now))  # type: ignore[arg-type]

    @precondition(lambda self: self._someone_at_a_desk())
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self._begin()
        counter, ticket = self._at_desk(data, rather=lambda t: t.state == TicketState.CALLED)
        self._run(lambda: self.model.start(counter.id, ticket.id, self.now), lambda: q.start(counter, ticket, self.now))  # type: ignore[arg-type]

    @precondition(lambda self: self._someone_at_a_desk())
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        self._finish(*self._at_desk(data))

    def _finish(self, counter: Counter, ticket: Ticket) -> None:
        self._begin()
        self._run(
            lambda: self.model.finish(counter.id, ticket.id, self.now),  # type: ignore[arg-type]
            lambda: q.finish(counter, ticket, self.fields[ticket.field_id], self.now),
        )

    @precondition(lambda self: self._someone_at_a_desk())
    @rule(requeue=st.booleans(), data=st.data())
    def no_show(self, requeue: bool, data: st.DataObject) -> None:
        self._no_show(*self._at_desk(data, rather=lambda t: t.state == TicketState.CALLED and t.requeued == requeue), requeue)

    def _no_show(self, counter: Counter, ticket: Ticket, requeue: bool) -> None:
        self._begin()
        self._run(
            lambda: self.model.no_show(counter.id, ticket.id, requeue, self.now),  # type: ignore[arg-type]
            lambda: q.no_show(counter, ticket, requeue, self.now),
        )

    @precondition(lambda self: any(t.requeued and t.state == TicketState.WAITING for t in self.tickets.values()))
    @rule(data=st.data())
    def absent_again(self, data: st.DataObject) -> None:
        """A citizen sent back after a no-show is called again and is still not there: sending
        them back a second time is refused, and the no-show ends the ticket."""
        ticket = self.tickets[
            data.draw(
                st.sampled_from(sorted(i for i, t in self.tickets.items() if t.requeued and t.state == TicketState.WAITING))
            )
        ]
        counter = self._counter(
            data,
            lambda c: (
                c.state == CounterState.OPEN
                and c.current_ticket_id is None
                and (ticket.target_counter_id == c.id or ticket.field_id in c.field_ids)
            ),
        )
        self._begin()
        before = self._waiting_by_rank(counter)
        called = self._run(
            lambda: self.model.call(counter.id, ticket.id, self.now, self.day),  # type: ignore[arg-type]
            lambda: q.call_ticket(counter, ticket, self.now, self.day),
        )
        if called is None:
            return
        self._note_call(counter, ticket, before, by_hand=True)
        self._no_show(counter, ticket, requeue=True)
        self._no_show(counter, ticket, requeue=False)

    def _desk_or_waiting(self, data: st.DataObject) -> tuple[Counter, Ticket]:
        """Transfer and cancel take the counter's current ticket or one waiting in the list."""
        if data.draw(st.booleans(), label="at the desk"):
            return self._at_desk(data)
        return self._counter(data, lambda c: True), self._pick(data, TicketState.WAITING)

    @precondition(lambda self: self.tickets)
    @rule(to_field=st.sampled_from([None, *FIELD_BY_ID]), to_counter=st.sampled_from([None, *COUNTER_FIELDS]), data=st.data())
    def transfer(self, to_field: int | None, to_counter: int | None, data: st.DataObject) -> None:
        self._begin()
        counter, ticket = self._desk_or_waiting(data)
        self._run(
            lambda: self.model.transfer(counter.id, ticket.id, to_field, to_counter),  # type: ignore[arg-type]
            lambda: q.transfer(
                counter,
                ticket,
                self.fields[to_field] if to_field is not None else None,
                self.counters[to_counter] if to_counter is not None else None,
                self.now,
            ),
        )

    @precondition(lambda self: self.tickets)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self._begin()
        counter, ticket = self._desk_or_waiting(data)
        self._run(lambda: self.model.cancel(counter.id, ticket.id, self.now), lambda: q.cancel(counter, ticket, self.now))  # type: ignore[arg-type]

    @precondition(lambda self: any(t.state == TicketState.DONE for t in self.tickets.values()))
    @rule(level=st.integers(1, RATING_SCALE), data=st.data())
    def rate(self, level: int, data: st.DataObject) -> None:
        self._begin()
        ticket = self._pick(data, TicketState.DONE)
        assert ticket.id is not None
        # Mostly at the counter that served it, as the tablet there sends it.
        counter = self._counter(data, lambda c: c.id == ticket.counter_id)
        result = self._run(
            lambda: self.model.rate(counter.id, ticket.id, self.now),  # type: ignore[arg-type]
            lambda: rating.rate(ticket, counter.id, level, RATING_SCALE, ticket.id in self.rated, self.now),
        )
        if result is not None:
            self.rated.add(ticket.id)

    # --- rules: counters and the clock --------------------------------------------------------

    @rule(
        change=st.sampled_from(["open", "open", "resume", "pause", "pause", "close"]),
        officer=st.sampled_from([101, 102, 103, 104]),
        data=st.data(),
    )
    def counter_changes(self, change: str, officer: int, data: st.DataObject) -> None:
        """An officer signs in (or takes the desk over), pauses (often mid-service), resumes, or
        signs out."""
        self._begin()
        fits: dict[str, Callable[[Counter], bool]] = {
            "open": lambda c: c.state == CounterState.CLOSED,
            "resume": lambda c: c.state == CounterState.PAUSED,
            "pause": lambda c: c.state == CounterState.OPEN and c.current_ticket_id is not None,
            "close": lambda c: c.state != CounterState.CLOSED,
        }
        counter = self._counter(data, fits[change])
        if change == "open":
            self._run(lambda: self.model.open(counter.id, officer), lambda: q.open_counter(counter, officer, self.now))
        elif change == "pause":
            self._run(lambda: self.model.pause(counter.id), lambda: q.pause(counter, self.now))
        elif change == "resume":
            self._run(lambda: self.model.resume(counter.id), lambda: q.resume(counter, self.now))
        elif self._run(lambda: self.model.close(counter.id), lambda: q.close_counter(counter, self.now)):
            self.calls[counter.id].append(None)

    @rule(minutes=st.one_of(*[st.integers(1, 20)] * 4, st.integers(60, 18 * 60)))
    def clock_moves(self, minutes: int) -> None:
        # From a morning, the longer moves often cross local midnight; the next command starts the day.
        self.now += timedelta(minutes=minutes)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def every_ticket_is_in_exactly_one_state(self) -> None:
        listed = [i for ids in self.model.lists.values() for i in ids]
        assert sorted(listed) == sorted(self.tickets), "a ticket is in two state lists, or in none"
        for ticket_id, ticket in self.tickets.items():
            assert ticket.state.value == self.model.state(ticket_id), ticket

    @invariant()
    def counters_hold_exactly_the_called_tickets(self) -> None:
        at_desk = (TicketState.CALLED, TicketState.SERVING)
        for counter in self.counters.values():
            if counter.current_ticket_id is not None:
                ticket = self.tickets[counter.current_ticket_id]
                assert ticket.state in at_desk and ticket.counter_id == counter.id, (counter, ticket)
                assert counter.state != CounterState.CLOSED, counter
        for ticket in self.tickets.values():
            holders = [c.id for c in self.counters.values() if c.current_ticket_id == ticket.id]
            assert len(holders) == (1 if ticket.state in at_desk else 0), (ticket, holders)

    @invariant()
    def no_number_twice_in_a_fields_day(self) -> None:
        numbers = [(self.issue_field[i], t.service_day, t.number) for i, t in self.tickets.items()]
        assert len(set(numbers)) == len(numbers)
        labels = [(t.service_day, t.label) for t in self.tickets.values()]
        assert len(set(labels)) == len(labels)

    @invariant()
    def engine_state_is_the_models(self) -> None:
        engine = {
            i: (
                t.state.value,
                t.field_id,
                self.issue_field[i],
                t.service_day,
                t.number,
                t.label,
                t.priority_group_id,
                t.counter_id,
                t.target_counter_id,
                t.recall_count,
                t.requeued,
                t.transfer_count,
                t.issued_at,
                t.queued_at,
                t.called_at,
                t.started_at,
                t.finished_at,
            )
            for i, t in self.tickets.items()
        }
        model = {
            i: (
                self.model.state(i),
                t.field,
                t.issue_field,
                t.day,
                t.number,
                t.label,
                t.group,
                t.counter,
                t.target,
                t.recalls,
                t.requeued,
                t.transfers,
                t.issued_at,
                t.queued_at,
                t.called_at,
                t.started_at,
                t.finished_at,
            )
            for i, t in self.model.tickets.items()
        }
        assert engine == model
        counters = {i: (c.state.value, c.current_ticket_id, c.priority_streak, c.officer_id) for i, c in self.counters.items()}
        expected = {i: (c.state, c.current, c.streak, c.officer) for i, c in self.model.counters.items()}
        assert counters == expected
        issued = {k: d.issued_count for k, d in self.field_days.items() if d.issued_count}
        assert issued == self.model.issued

    @invariant()
    def the_log_rebuilds_the_state(self) -> None:
        assert self.replayed.seq == len(self.log)
        engine = {
            i: {**{name: getattr(t, name) for name in replay.TICKET_FIELDS}, "issue_field_id": self.issue_field[i]}
            for i, t in self.tickets.items()
        }
        rebuilt = {
            i: {name: getattr(t, name) for name in (*replay.TICKET_FIELDS, "issue_field_id")}
            for i, t in self.replayed.tickets.items()
        }
        assert rebuilt == engine
        assert self.replayed.counters == self.counters
        assert self.replayed.rated == self.rated

    @invariant()
    def calls_follow_the_order_and_the_priority_bound(self) -> None:
        """The rule in plain words, on the history: call next takes from the counter's first field
        rank with someone waiting; a ticket that goes first comes before normal ones, but never
        more than MAX_IN_ROW in a row (calls by hand count too) while a normal one waits there."""
        for calls in self.calls.values():
            run = 0
            for call in calls:
                if call is None:  # the counter closed, or a new day began
                    run = 0
                    continue
                if not call.by_hand:
                    assert call.rank == call.lowest_rank, call
                    if call.priority and call.normal_waiting:
                        assert run < MAX_IN_ROW, (call, run)
                    if not call.priority and call.priority_waiting:
                        assert run >= MAX_IN_ROW, (call, run)
                run = run + 1 if call.priority else 0

    def teardown(self) -> None:
        # the_log_rebuilds_the_state applied the events one at a time; the same log replayed from
        # the start (the way an audit would) must give the same state.
        if self.initial and self.replayed.seq == len(self.log):
            assert replay.replay(self.initial, self.log) == self.replayed


IN_CI = os.environ.get("CI") == "true"

QueueMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("HANGDOI_HYPOTHESIS_EXAMPLES", "400")),
    stateful_step_count=80,
    deadline=None,  # a shared 2-core machine: no per-example timing
    derandomize=IN_CI,
    database=None if IN_CI else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow],
)
test_queue_engine_against_the_model = QueueMachine.TestCase
