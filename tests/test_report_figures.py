"""The report figures as pure functions: percentiles, waiting and service times, transfers,
recalls, requeued no-shows, ratings on changed scales, and local hours across the day's edges."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from server.services.report_figures import (
    Durations,
    LevelCount,
    LoggedEvent,
    compute,
    local_day_bounds,
    percentile,
    shown_hours,
    summarise,
)

HANOI = "Asia/Ho_Chi_Minh"
MONDAY = date(2026, 11, 23)
HT, CT, DD = 1, 2, 3
LAN, HUNG, MAI = 11, 12, 13


def local(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    """A moment given in Hà Nội time (UTC+7), as the aware UTC time the log stores."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@dataclass
class Log:
    """Writes events the way the engine does (field, counter, officer and data of each kind)."""

    events: list[LoggedEvent] = field(default_factory=list)

    def add(self, kind: str, ticket: int, at: datetime, **values: Any) -> None:
        self.events.append(LoggedEvent(seq=len(self.events) + 1, kind=kind, at=at, ticket_id=ticket, **values))

    def issue(self, ticket: int, field_id: int, at: datetime) -> None:
        self.add("ticket.issued", ticket, at, field_id=field_id, data={"people_ahead": 0, "wait_minutes": 0})

    def call(self, ticket: int, field_id: int, counter: int, officer: int, at: datetime) -> None:
        self.add("ticket.called", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer)

    def recall(self, ticket: int, field_id: int, counter: int, officer: int, at: datetime) -> None:
        self.add("ticket.recalled", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer)

    def start(self, ticket: int, field_id: int, counter: int, officer: int, at: datetime) -> None:
        self.add("ticket.started", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer)

    def finish(self, ticket: int, field_id: int, counter: int, officer: int, at: datetime) -> None:
        self.add("ticket.finished", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer)

    def no_show(self, ticket: int, field_id: int, counter: int, officer: int, at: datetime, requeued: bool = False) -> None:
        self.add(
            "ticket.no_show", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer, data={"requeued": requeued}
        )

    def transfer(self, ticket: int, from_field: int, to_field: int, counter: int, officer: int, at: datetime) -> None:
        data = {"from_field_id": from_field, "to_field_id": to_field, "to_counter_id": None}
        self.add("ticket.transferred", ticket, at, field_id=to_field, counter_id=counter, officer_id=officer, data=data)

    def cancel(self, ticket: int, field_id: int, counter: int, officer: int, at: datetime) -> None:
        self.add("ticket.cancelled", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer)

    def rate(
        self, ticket: int, field_id: int, counter: int, officer: int | None, at: datetime, level: int, scale: int = 4
    ) -> None:
        satisfied = {4: level >= 3, 5: level >= 4, 3: level >= 3}[scale]
        data = {"level": level, "scale": scale, "satisfied": satisfied}
        self.add("ticket.rated", ticket, at, field_id=field_id, counter_id=counter, officer_id=officer, data=data)

    def figures(self, date_from: date = MONDAY, date_to: date = MONDAY, timezone: str = HANOI, scale: int = 4) -> Any:
        return compute(self.events, timezone, date_from, date_to, scale)


# --- percentiles ----------------------------------------------------------------------------------


def test_percentile_of_no_values_is_none() -> None:
    assert percentile([], 0.5) is None
    assert percentile([], 0.9) is None
    assert summarise([]) == Durations(count=0, average=None, median=None, p90=None)


def test_percentile_of_one_value_is_that_value() -> None:
    for q in (0, 0.5, 0.9, 1):
        assert percentile([42.0], q) == 42.0
    assert summarise([42.0]) == Durations(count=1, average=42.0, median=42.0, p90=42.0)


def test_percentile_of_two_values_interpolates() -> None:
    assert percentile([30.0, 10.0], 0) == 10.0
    assert percentile([30.0, 10.0], 0.5) == 20.0
    assert percentile([30.0, 10.0], 0.9) == pytest.approx(28.0)
    assert percentile([30.0, 10.0], 1) == 30.0
    assert summarise([10.0, 30.0]) == Durations(count=2, average=20.0, median=20.0, p90=pytest.approx(28.0))


def test_percentile_of_many_values() -> None:
    values = [float(v) for v in (7, 1, 10, 3, 2, 9, 4, 6, 5, 8)]
    # Position (10 − 1) × 0.9 = 8.1: the 9th value plus a tenth of the way to the 10th.
    assert percentile(values, 0.9) == pytest.approx(9.1)
    assert percentile(values, 0.5) == 5.5
    odd = [5.0, 1.0, 3.0]
    assert percentile(odd, 0.5) == 3.0  # the middle value when n is odd
    assert percentile([4.0, 4.0, 4.0, 4.0], 0.9) == 4.0


def test_percentile_matches_excel_percentile_inc() -> None:
    """statistics.quantiles(method="inclusive") is the same definition as PERCENTILE.INC."""
    generator = random.Random(2026)
    for size in (2, 3, 5, 17, 100, 1001):
        values = [generator.uniform(0, 3600) for _ in range(size)]
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        assert percentile(values, 0.9) == pytest.approx(deciles[8])
        assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
        assert summarise(values).average == pytest.approx(statistics.fmean(values))


def test_percentile_refuses_a_fraction_outside_zero_to_one() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 90)


# --- one ticket at a time -------------------------------------------------------------------------


def test_a_simple_visit() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 10))
    log.start(1, HT, 1, LAN, local(8, 12))
    log.finish(1, HT, 1, LAN, local(8, 16))
    f = log.figures()
    for tally in (f.overall, f.by_field[HT], f.by_counter[1], f.by_officer[LAN]):
        assert tally.served == 1
        assert tally.wait_seconds == [600.0]
        # From the call, not from "Bắt đầu phục vụ".
        assert tally.service_seconds == [360.0]
    assert f.overall.issued == f.by_field[HT].issued == 1
    # Issuing belongs to the field only: the kiosk, not a counter or an officer, issued it.
    assert f.by_counter[1].issued == 0 and f.by_officer[LAN].issued == 0
    assert f.overall.rated == 0 and f.overall.satisfied_share is None


def test_an_officer_issuing_by_hand_is_not_listed_for_it() -> None:
    log = Log()
    log.add("ticket.issued", 1, local(8, 0), field_id=HT, officer_id=MAI)
    log.call(1, HT, 1, LAN, local(8, 3))
    f = log.figures()
    assert f.overall.issued == f.by_field[HT].issued == 1
    assert set(f.by_officer) == {LAN} and set(f.by_counter) == {1}


def test_recalls_neither_end_the_wait_nor_restart_the_service() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 10))
    log.recall(1, HT, 1, LAN, local(8, 12))
    log.recall(1, HT, 1, LAN, local(8, 14))
    log.finish(1, HT, 1, LAN, local(8, 20))
    f = log.figures()
    assert f.overall.wait_seconds == [600.0]
    assert f.overall.service_seconds == [600.0]
    assert f.overall.served == 1 and f.overall.no_shows == 0


def test_a_transferred_ticket_is_served_where_it_finished() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 5))
    log.transfer(1, HT, CT, 1, LAN, local(8, 8))
    log.call(1, CT, 2, HUNG, local(8, 20))
    log.finish(1, CT, 2, HUNG, local(8, 30))
    log.rate(1, CT, 2, HUNG, local(8, 31), level=4)
    f = log.figures()
    assert (f.by_field[HT].issued, f.by_field[CT].issued) == (1, 0)
    assert (f.by_field[HT].transferred, f.by_counter[1].transferred, f.by_officer[LAN].transferred) == (1, 1, 1)
    assert f.by_field[CT].transferred == 0 and f.overall.transferred == 1
    assert (f.by_field[HT].served, f.by_field[CT].served) == (0, 1)
    assert (f.by_counter[1].served, f.by_counter[2].served, f.by_officer[HUNG].served) == (0, 1, 1)
    # The wait ends at the first call and belongs to the field asked for and the first caller.
    assert f.overall.wait_seconds == [300.0]
    assert f.by_field[HT].wait_seconds == f.by_counter[1].wait_seconds == f.by_officer[LAN].wait_seconds == [300.0]
    assert f.by_field[CT].wait_seconds == f.by_counter[2].wait_seconds == []
    # Only the segment that finished is service time, at the counter that finished it.
    assert f.overall.service_seconds == f.by_counter[2].service_seconds == f.by_field[CT].service_seconds == [600.0]
    assert f.by_counter[1].service_seconds == []
    assert (f.by_field[CT].rated, f.by_counter[2].satisfied, f.by_officer[HUNG].satisfied_share) == (1, 1, 1.0)


def test_a_waiting_ticket_moved_twice_counts_two_transfers() -> None:
    log = Log()
    log.issue(1, HT, local(9, 0))
    log.transfer(1, HT, CT, 1, LAN, local(9, 1))
    log.transfer(1, CT, DD, 2, HUNG, local(9, 2))
    log.call(1, DD, 3, MAI, local(9, 12))
    log.finish(1, DD, 3, MAI, local(9, 20))
    f = log.figures()
    assert f.overall.transferred == 2
    assert (f.by_field[HT].transferred, f.by_field[CT].transferred, f.by_field.get(DD, None) is not None) == (1, 1, True)
    assert f.by_field[DD].transferred == 0 and f.by_field[DD].served == 1
    # Never called before its transfers: the wait runs to the first call, wherever it happened.
    assert f.by_field[HT].wait_seconds == [720.0] and f.by_counter[3].wait_seconds == [720.0]


def test_requeued_and_final_no_shows() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 5))
    log.no_show(1, HT, 1, LAN, local(8, 7), requeued=True)
    log.call(1, HT, 2, HUNG, local(8, 30))
    log.finish(1, HT, 2, HUNG, local(8, 35))
    log.issue(2, HT, local(8, 1))
    log.call(2, HT, 1, LAN, local(8, 8))
    log.no_show(2, HT, 1, LAN, local(8, 10))
    f = log.figures()
    assert (f.overall.no_shows, f.overall.requeued, f.overall.served) == (1, 1, 1)
    assert (f.by_counter[1].no_shows, f.by_counter[1].requeued, f.by_officer[LAN].requeued) == (1, 1, 1)
    assert sorted(f.overall.wait_seconds) == [300.0, 420.0]
    # The requeued ticket's service counts from its last call; the no-show has none.
    assert f.overall.service_seconds == [300.0] and f.by_counter[2].service_seconds == [300.0]


def test_cancelled_and_never_called_tickets_have_no_waiting_time() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.cancel(1, HT, 1, LAN, local(8, 20))
    log.issue(2, CT, local(8, 30))  # still waiting when the day ended
    f = log.figures()
    assert (f.overall.issued, f.overall.cancelled, f.overall.served) == (2, 1, 0)
    assert f.by_counter[1].cancelled == 1 and f.by_field[HT].cancelled == 1
    assert f.overall.wait_seconds == [] and f.overall.wait == Durations(0, None, None, None)
    assert f.by_hour[8].arrivals == 2 and f.by_hour[8].average_wait is None


def test_tickets_left_open_at_the_days_end_count_as_expired_on_their_day() -> None:
    log = Log()
    log.issue(1, HT, local(16, 40))  # never called
    log.issue(2, CT, local(16, 45))
    log.call(2, CT, 2, HUNG, local(16, 50))  # called, never finished
    # Closed by the next day's start, after midnight: still Monday's tickets.
    tuesday = local(0, 0) + timedelta(days=1)
    log.add("ticket.expired", 1, tuesday, field_id=HT, counter_id=None)
    log.add("ticket.expired", 2, tuesday, field_id=CT, counter_id=2)
    f = log.figures()
    assert (f.overall.issued, f.overall.expired, f.overall.served) == (2, 2, 0)
    assert f.by_field[HT].expired == 1 and f.by_field[CT].expired == 1 and f.by_counter[2].expired == 1
    # The called one waited; its expiry is no service time.
    assert f.overall.wait_seconds == [300.0] and f.overall.service_seconds == []
    assert log.figures(date_from=MONDAY + timedelta(days=1), date_to=MONDAY + timedelta(days=1)).overall.expired == 0


def test_events_may_come_in_any_order_and_non_ticket_events_are_ignored() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 4))
    log.finish(1, HT, 1, LAN, local(8, 9))
    counter_event = LoggedEvent(seq=99, kind="counter.paused", at=local(8, 10), ticket_id=None, counter_id=1, officer_id=LAN)
    shuffled = [log.events[2], counter_event, log.events[0], log.events[1]]
    f = compute(shuffled, HANOI, MONDAY, MONDAY, 4)
    assert f.overall.wait_seconds == [240.0] and f.overall.service_seconds == [300.0]


def test_rows_by_field_add_up_to_the_whole_centre() -> None:
    log = Log()
    for ticket in range(1, 13):
        field_id = (HT, CT, DD)[ticket % 3]
        log.issue(ticket, field_id, local(8, ticket))
        log.call(ticket, field_id, ticket % 2 + 1, (LAN, HUNG)[ticket % 2], local(8, 20 + ticket))
        if ticket % 4 == 0:
            log.transfer(ticket, field_id, HT if field_id != HT else CT, 1, LAN, local(8, 40 + ticket))
        elif ticket % 5 == 0:
            log.no_show(ticket, field_id, ticket % 2 + 1, (LAN, HUNG)[ticket % 2], local(8, 40 + ticket))
        else:
            log.finish(ticket, field_id, ticket % 2 + 1, (LAN, HUNG)[ticket % 2], local(9, ticket))
            log.rate(ticket, field_id, ticket % 2 + 1, (LAN, HUNG)[ticket % 2], local(9, ticket + 1), level=ticket % 4 + 1)
    f = log.figures()
    for name in ("issued", "served", "no_shows", "transferred", "rated", "satisfied"):
        assert sum(getattr(t, name) for t in f.by_field.values()) == getattr(f.overall, name), name
    assert sorted(s for t in f.by_field.values() for s in t.wait_seconds) == sorted(f.overall.wait_seconds)
    assert sorted(s for t in f.by_field.values() for s in t.service_seconds) == sorted(f.overall.service_seconds)
    assert f.overall.issued == 12 and f.overall.transferred == 3 and f.overall.no_shows == 2 and f.overall.served == 7


# --- the range and the local hours ----------------------------------------------------------------


def test_local_day_bounds() -> None:
    start, end = local_day_bounds(MONDAY, MONDAY, HANOI)
    assert start == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    start, end = local_day_bounds(date(2026, 11, 1), date(2026, 11, 30), "UTC")
    assert (start, end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def test_the_local_day_decides_the_range_and_the_hour() -> None:
    log = Log()
    # 22 Nov 23:59 in Hà Nội (16:59 UTC): the day before the range.
    log.issue(1, HT, local(23, 59, date(2026, 11, 22)))
    # 23 Nov 00:30 in Hà Nội, still 22 Nov in UTC: inside, at hour 0.
    log.issue(2, HT, local(0, 30))
    log.call(2, HT, 1, LAN, local(0, 50))
    # 23 Nov 23:50: inside, at hour 23; finished and rated after midnight, still this report's.
    log.issue(3, CT, local(23, 50))
    log.call(3, CT, 2, HUNG, local(23, 55))
    log.finish(3, CT, 2, HUNG, local(0, 5, date(2026, 11, 24)))
    log.rate(3, CT, 2, HUNG, local(0, 6, date(2026, 11, 24)), level=1)
    # 24 Nov 00:00: the next day.
    log.issue(4, HT, local(0, 0, date(2026, 11, 24)))
    f = log.figures()
    assert f.overall.issued == 2
    assert [(h.hour, h.arrivals) for h in f.by_hour if h.arrivals] == [(0, 1), (23, 1)]
    assert f.by_hour[0].average_wait == 1200.0 and f.by_hour[23].average_wait == 300.0
    assert f.overall.served == 1 and f.overall.service_seconds == [600.0]
    assert (f.overall.rated, f.overall.satisfied) == (1, 0)
    assert len(f.by_hour) == 24 and [h.hour for h in f.by_hour] == list(range(24))
    # The same log seen from UTC: other days, other hours.
    utc = log.figures(date(2026, 11, 23), date(2026, 11, 23), timezone="UTC")
    assert utc.overall.issued == 2  # issued 16:50 and 17:00 UTC on the 23rd
    assert [(h.hour, h.arrivals) for h in utc.by_hour if h.arrivals] == [(16, 1), (17, 1)]


def test_a_ticket_issued_before_the_range_does_not_count_even_when_its_events_do() -> None:
    log = Log()
    log.issue(1, HT, local(23, 55, date(2026, 11, 22)))
    log.call(1, HT, 1, LAN, local(0, 10))
    log.finish(1, HT, 1, LAN, local(0, 20))
    assert log.figures().overall.served == 0
    # Its later events alone (the issue outside what was loaded) do not count either.
    only_later = compute(log.events[1:], HANOI, MONDAY, MONDAY, 4)
    assert only_later.overall.served == 0 and only_later.by_counter == {}
    assert log.figures(date(2026, 11, 22), MONDAY).overall.served == 1


def test_arrivals_and_average_wait_by_hour() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 10))  # waited 10 minutes
    log.issue(2, HT, local(8, 59))
    log.call(2, HT, 1, LAN, local(9, 19))  # 20 minutes, counts for 08:00–08:59, when it arrived
    log.issue(3, HT, local(9, 0))
    f = log.figures()
    assert (f.by_hour[8].arrivals, f.by_hour[9].arrivals) == (2, 1)
    assert f.by_hour[8].average_wait == 900.0
    assert f.by_hour[9].wait_seconds == [] and f.by_hour[9].average_wait is None


def test_shown_hours() -> None:
    log = Log()
    log.issue(1, HT, local(8, 15))
    log.issue(2, HT, local(10, 45))
    hours = log.figures().by_hour
    assert [h.hour for h in shown_hours(hours)] == [8, 9, 10]
    assert [h.hour for h in shown_hours(hours, time(7, 30), time(17, 0))] == list(range(7, 17))
    assert [h.hour for h in shown_hours(hours, time(7, 30), time(17, 30))] == list(range(7, 18))
    assert [h.hour for h in shown_hours(hours, time(9, 0), time(10, 0))] == [8, 9, 10]
    assert shown_hours(Log().figures().by_hour, time(7, 30), time(17, 0)) == []


# --- satisfaction ---------------------------------------------------------------------------------


def test_unrated_tickets_are_not_in_the_share() -> None:
    log = Log()
    for ticket in (1, 2, 3):
        log.issue(ticket, HT, local(8, ticket))
        log.call(ticket, HT, 1, LAN, local(8, 10 + ticket))
        log.finish(ticket, HT, 1, LAN, local(8, 20 + ticket))
    log.rate(1, HT, 1, LAN, local(8, 30), level=3)
    f = log.figures()
    assert (f.overall.served, f.overall.rated, f.overall.satisfied, f.overall.satisfied_share) == (3, 1, 1, 1.0)
    assert [(lv.label, lv.count) for lv in f.levels] == [
        ("Rất hài lòng", 0),
        ("Hài lòng", 1),
        ("Bình thường", 0),
        ("Không hài lòng", 0),
    ]


def test_levels_follow_the_current_scale_by_label() -> None:
    log = Log()
    ratings = [(4, 4), (4, 4), (3, 4), (2, 4), (1, 4), (3, 3), (1, 5), (5, 5)]
    for ticket, (level, scale) in enumerate(ratings, start=1):
        log.issue(ticket, HT, local(8, ticket))
        log.call(ticket, HT, 1, LAN, local(8, 20 + ticket))
        log.finish(ticket, HT, 1, LAN, local(9, ticket))
        log.rate(ticket, HT, 1, LAN, local(9, 10 + ticket), level=level, scale=scale)
    f = log.figures()
    assert f.levels == [
        LevelCount(4, "Rất hài lòng", True, 3),  # two on the 4-level scale, 5/5 on the five-level one
        LevelCount(3, "Hài lòng", True, 2),  # 3/4 and 3/3, the same words
        LevelCount(2, "Bình thường", False, 1),
        LevelCount(1, "Không hài lòng", False, 1),
        LevelCount(None, "Rất không hài lòng", False, 1),  # 1/5: no such level on four
    ]
    assert (f.overall.rated, f.overall.satisfied) == (8, 5)
    assert f.overall.satisfied_share == pytest.approx(5 / 8)
    three = log.figures(scale=3)
    assert [(lv.level, lv.label, lv.count) for lv in three.levels] == [
        (3, "Hài lòng", 2),
        (2, "Bình thường", 1),
        (1, "Không hài lòng", 1),
        (None, "Rất hài lòng", 3),
        (None, "Rất không hài lòng", 1),
    ]


def test_a_rating_counts_for_the_officer_who_finished() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 5))
    log.finish(1, HT, 1, LAN, local(8, 9))
    # Sent by the counter's tablet: the service recorded the finishing officer on the event.
    log.rate(1, HT, 1, LAN, local(8, 10), level=2)
    log.issue(2, HT, local(8, 1))
    log.call(2, HT, 1, LAN, local(8, 11))
    log.finish(2, HT, 1, LAN, local(8, 15))
    log.rate(2, HT, 1, None, local(8, 16), level=4)  # no officer known: counts for the counter only
    f = log.figures()
    assert (f.by_officer[LAN].rated, f.by_officer[LAN].satisfied) == (1, 0)
    assert (f.by_counter[1].rated, f.by_counter[1].satisfied) == (2, 1)
    assert f.overall.satisfied_share == 0.5


def test_malformed_rating_data_still_counts_as_rated() -> None:
    log = Log()
    log.issue(1, HT, local(8, 0))
    log.call(1, HT, 1, LAN, local(8, 5))
    log.finish(1, HT, 1, LAN, local(8, 9))
    log.add("ticket.rated", 1, local(8, 10), field_id=HT, counter_id=1, officer_id=LAN, data={"level": "x", "satisfied": False})
    f = log.figures()
    assert f.overall.rated == 1 and sum(lv.count for lv in f.levels) == 0
