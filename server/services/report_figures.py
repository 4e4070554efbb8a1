"""Report figures computed from the ticket event log. Pure: events in, figures out, no I/O.

The log is the record (DESIGN.md): every figure here is counted from `ticket.*` events, never
from the tickets' current state, which moves on and forgets how it got there.

Which tickets a report covers
    A ticket belongs to the report when its `ticket.issued` event falls on a local service day
    between `date_from` and `date_to` (both included), in the centre's time zone. All of that
    ticket's events count, even one logged after midnight (a rating given a few minutes after a
    late finish); events of tickets issued outside the range never count.

Counts, and where each one belongs
    - issued: to the field that issued the number (the field the citizen chose at the kiosk).
    - served (`ticket.finished`), no-shows, cancelled: to the field, counter and officer of that
      event. A transferred ticket is therefore served by the field and counter that finished it.
    - expired (`ticket.expired`): tickets still open when their day ended (never called, or left
      at a counter without Hoàn thành), closed at the next day's start; to their field, and to
      the counter that held one.
    - no-shows are final ones only; a no-show sent back to the queue (`requeued`) is counted
      apart, as `requeued`, because the citizen may still be served.
    - transferred: one per `ticket.transferred` event (a ticket moved twice counts twice), to the
      field it was moved away from and to the counter and officer who moved it.
    - ratings: to the field, counter and officer of the `ticket.rated` event, whose officer is
      the one who finished the ticket, whichever device sent the rating.
    Every event has a field, so the rows by field always add up to the overall figures.

Waiting time: from the issue to the ticket's first `ticket.called`.
    A recall repeats the same invitation and does not end or extend the wait; neither do a
    later call after a transfer or a requeued no-show: what the citizen waited before first being
    called is the figure people ask about. It belongs to the issuing field, and to the counter
    and officer who made that first call. A ticket never called (cancelled while waiting, still
    waiting at closing) has no waiting time and is not in the averages.

Service time: from the last `ticket.called` before `ticket.finished` to the finish.
    From the call, not from "Bắt đầu phục vụ", so centres where officers never press that button
    measure the same thing as those where they do; the minutes a recalled citizen takes to reach
    the counter are the counter's time too, so recalls do not restart it. A transfer ends a
    segment: only the segment that finished counts, at the counter, field and officer that
    finished it; time spent at the counter that transferred the ticket is in no service time.

Average, median and 90th percentile
    Percentiles interpolate linearly between the two nearest ranks of the sorted values: for n
    values the q-th percentile sits at position (n − 1)·q (0-based). This is Excel's
    PERCENTILE.INC and numpy's default, so a centre can check a figure in a spreadsheet. The
    median is the 50th percentile (the mean of the two middle values when n is even). No values
    give no figure (None), one value is its own average, median and percentile.

Hours
    Arrivals are counted by the local hour of issue; the average waiting time of an hour is that
    of the tickets issued in that hour which were called.

Satisfaction
    Counted per level of the centre's current scale, best first, by label: a rating given before
    the centre changed its scale lands on the same words where the current scale has them, and on
    a row of its own after them where it does not. The headline share is (Hài lòng + Rất hài
    lòng) / rated, using the `satisfied` flag recorded with each rating.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from server.engine import rating
from server.engine.errors import Invalid

HOURS_IN_DAY = 24


class LoggedEvent(NamedTuple):
    """The columns of an Event row the figures read. A tuple: a year of a busy centre is hundreds
    of thousands of them, made straight from the database rows."""

    seq: int
    kind: str
    at: datetime  # timezone-aware
    ticket_id: int | None
    counter_id: int | None = None
    field_id: int | None = None
    officer_id: int | None = None
    # Only the kinds in DATA_KINDS need theirs; None stands for "not loaded" as for "empty".
    data: Mapping[str, Any] | None = None


# The event kinds whose `data` a figure reads.
DATA_KINDS = ("ticket.no_show", "ticket.transferred", "ticket.rated")


# --- statistics -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0 ≤ q ≤ 1) by linear interpolation between closest ranks (PERCENTILE.INC)."""
    if not 0 <= q <= 1:
        raise ValueError(f"q must be between 0 and 1, not {q}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (position - lower) * (ordered[upper] - ordered[lower])


@dataclass(frozen=True)
class Durations:
    """Average, median and 90th percentile of some durations, in seconds."""

    count: int
    average: float | None
    median: float | None
    p90: float | None


def summarise(seconds: Sequence[float]) -> Durations:
    if not seconds:
        return Durations(0, None, None, None)
    return Durations(
        count=len(seconds),
        average=sum(seconds) / len(seconds),
        median=percentile(seconds, 0.5),
        p90=percentile(seconds, 0.9),
    )


# --- the figures ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """The figures of the whole centre or of one field, counter or officer."""

    issued: int = 0
    served: int = 0
    no_shows: int = 0
    requeued: int = 0
    transferred: int = 0
    cancelled: int = 0
    expired: int = 0
    rated: int = 0
    satisfied: int = 0
    wait_seconds: list[float] = field(default_factory=list)
    service_seconds: list[float] = field(default_factory=list)

    @property
    def wait(self) -> Durations:
        return summarise(self.wait_seconds)

    @property
    def service(self) -> Durations:
        return summarise(self.service_seconds)

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


@dataclass
class HourTally:
    hour: int  # local hour of the day, 0..23
    arrivals: int = 0
    wait_seconds: list[float] = field(default_factory=list)

    @property
    def average_wait(self) -> float | None:
        return sum(self.wait_seconds) / len(self.wait_seconds) if self.wait_seconds else None


@dataclass(frozen=True)
class LevelCount:
    level: int | None  # on the centre's current scale; None for a label that scale lacks
    label: str
    satisfied: bool
    count: int


@dataclass
class Figures:
    overall: Tally
    by_field: dict[int, Tally]
    by_counter: dict[int, Tally]
    by_officer: dict[int, Tally]
    by_hour: list[HourTally]  # all 24 hours, 0..23
    levels: list[LevelCount]


def local_day_bounds(date_from: date, date_to: date, timezone: str) -> tuple[datetime, datetime]:
    """The moments the service days `date_from`..`date_to` begin and end (end excluded)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(date_from, time(0), tzinfo=zone)
    end = datetime.combine(date.fromordinal(date_to.toordinal() + 1), time(0), tzinfo=zone)
    return start, end


def _seconds(later: datetime, earlier: datetime) -> float:
    # Event times grow with sequence numbers; never let a clock step back make a negative time.
    return max((later - earlier).total_seconds(), 0.0)


class _Groups:
    def __init__(self) -> None:
        self.overall = Tally()
        self.by_field: dict[int, Tally] = {}
        self.by_counter: dict[int, Tally] = {}
        self.by_officer: dict[int, Tally] = {}
        # A year of events names a few hundred combinations: look each up once.
        self._known: dict[tuple[int | None, int | None, int | None], tuple[Tally, ...]] = {}

    def of(self, field_id: int | None, counter_id: int | None, officer_id: int | None) -> tuple[Tally, ...]:
        """The overall tally and those of the given field, counter and officer."""
        key = (field_id, counter_id, officer_id)
        found = self._known.get(key)
        if found is None:
            chosen = [self.overall]
            for groups, group_id in ((self.by_field, field_id), (self.by_counter, counter_id), (self.by_officer, officer_id)):
                if group_id is not None:
                    chosen.append(groups.setdefault(group_id, Tally()))
            found = self._known[key] = tuple(chosen)
        return found


def _label_of(data: Mapping[str, Any]) -> str | None:
    with contextlib.suppress(KeyError, TypeError, ValueError, Invalid):
        return rating.level_of(int(data["scale"]), int(data["level"])).label
    return None


def _levels(scale: int, labels: Mapping[str, int]) -> list[LevelCount]:
    """The current scale's levels, best first, then any label only an earlier scale had."""
    rows = [LevelCount(lv.level, lv.label, lv.satisfied, labels.get(lv.label, 0)) for lv in rating.levels(scale)]
    known = {row.label for row in rows}
    # The five-level scale holds every label there is, in order from best to worst.
    for lv in rating.levels(max(rating.SCALES)):
        if lv.label not in known and labels.get(lv.label):
            rows.append(LevelCount(None, lv.label, lv.satisfied, labels[lv.label]))
    return rows


def compute(events: Iterable[LoggedEvent], timezone: str, date_from: date, date_to: date, scale: int) -> Figures:
    """The report's figures from a centre's ticket events. `events` may hold more than the range's
    tickets (the filter by issue day is done here) and may come in any order."""
    zone = ZoneInfo(timezone)
    by_ticket: dict[int, list[LoggedEvent]] = {}
    for event in events:
        if event.ticket_id is not None and event.kind.startswith("ticket."):
            by_ticket.setdefault(event.ticket_id, []).append(event)
    groups = _Groups()
    hours = [HourTally(hour) for hour in range(HOURS_IN_DAY)]
    labels: dict[str, int] = {}
    for ticket_id in sorted(by_ticket):
        ticket_events = sorted(by_ticket[ticket_id], key=lambda e: e.seq)
        issued = next((e for e in ticket_events if e.kind == "ticket.issued"), None)
        if issued is None:
            continue  # issued before the events given: another report's ticket
        issued_local = issued.at.astimezone(zone)
        if not date_from <= issued_local.date() <= date_to:
            continue
        hour = hours[issued_local.hour]
        first_call: LoggedEvent | None = None
        last_call: LoggedEvent | None = None
        for event in ticket_events:
            if event.seq < issued.seq:
                continue
            kind = event.kind
            if kind in ("ticket.recalled", "ticket.started"):
                continue  # they change no figure (see the module's docstring)
            if kind == "ticket.issued":
                # The field's alone: an officer who issues a number by hand has not served anyone.
                hour.arrivals += 1
                for tally in groups.of(event.field_id, None, None):
                    tally.issued += 1
                continue
            here = groups.of(event.field_id, event.counter_id, event.officer_id)
            if kind == "ticket.called":
                if first_call is None:
                    first_call = event
                    waited = _seconds(event.at, issued.at)
                    hour.wait_seconds.append(waited)
                    for tally in groups.of(issued.field_id, event.counter_id, event.officer_id):
                        tally.wait_seconds.append(waited)
                last_call = event
            elif kind == "ticket.finished":
                for tally in here:
                    tally.served += 1
                    if last_call is not None:
                        tally.service_seconds.append(_seconds(event.at, last_call.at))
                last_call = None
            elif kind == "ticket.no_show":
                requeued = bool((event.data or {}).get("requeued"))
                for tally in here:
                    if requeued:
                        tally.requeued += 1
                    else:
                        tally.no_shows += 1
                last_call = None
            elif kind == "ticket.transferred":
                from_field = (event.data or {}).get("from_field_id")
                for tally in groups.of(
                    from_field if isinstance(from_field, int) else event.field_id, event.counter_id, event.officer_id
                ):
                    tally.transferred += 1
                last_call = None
            elif kind == "ticket.cancelled":
                for tally in here:
                    tally.cancelled += 1
                last_call = None
            elif kind == "ticket.expired":
                for tally in here:
                    tally.expired += 1
                last_call = None
            elif kind == "ticket.rated":
                data = event.data or {}
                satisfied = bool(data.get("satisfied"))
                for tally in here:
                    tally.rated += 1
                    tally.satisfied += satisfied
                label = _label_of(data)
                if label is not None:
                    labels[label] = labels.get(label, 0) + 1
    return Figures(
        overall=groups.overall,
        by_field=groups.by_field,
        by_counter=groups.by_counter,
        by_officer=groups.by_officer,
        by_hour=hours,
        levels=_levels(scale, labels),
    )


def shown_hours(by_hour: Sequence[HourTally], opens_at: time | None = None, closes_at: time | None = None) -> list[HourTally]:
    """The hours a table or chart shows: from the first to the last hour with arrivals, widened to
    the opening hours when the centre has them, so a quiet morning still shows as an empty bar.
    Nothing when no ticket was issued."""
    busy = [h.hour for h in by_hour if h.arrivals]
    if not busy:
        return []
    first, last = min(busy), max(busy)
    if opens_at is not None:
        first = min(first, opens_at.hour)
    if closes_at is not None:
        # Closing at 17:00 sharp means the last hour open is 16:00–16:59.
        last = max(last, closes_at.hour - (1 if closes_at.minute == 0 and closes_at.hour > 0 else 0))
    return [h for h in by_hour if first <= h.hour <= last]
