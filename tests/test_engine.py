"""The queue engine, with plain objects: every transition and every refusal."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta

import pytest

from server.engine import estimate, numbering
from server.engine import queue as q
from server.engine.errors import Conflict, Invalid, NotFound
from server.engine.model import (
    Centre,
    Counter,
    CounterState,
    FieldDay,
    PriorityGroup,
    ProcedureField,
    Ticket,
    TicketState,
)

# Monday 23 November 2026, 08:30 in Hà Nội (01:30 UTC).
NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
DAY = date(2026, 11, 23)


def centre(**kw: object) -> Centre:
    values: dict[str, object] = dict(
        id=1,
        name="Trung tâm",
        timezone="Asia/Ho_Chi_Minh",
        opens_at=None,
        closes_at=None,
        working_days="0123456",
        max_priority_in_row=2,
    )
    values.update(kw)
    return Centre(**values)  # type: ignore[arg-type]


def field(id: int = 1, **kw: object) -> ProcedureField:
    values: dict[str, object] = dict(
        id=id,
        centre_id=1,
        code=f"F{id}",
        name=f"Lĩnh vực {id}",
        number_start=id * 1000 + 1,
        number_end=id * 1000 + 999,
        prefix="",
        daily_cap=None,
        opens_at=None,
        closes_at=None,
        active=True,
        default_service_seconds=300,
        service_ewma_seconds=None,
    )
    values.update(kw)
    return ProcedureField(**values)  # type: ignore[arg-type]


def counter(id: int = 1, fields: list[int] | None = None, **kw: object) -> Counter:
    values: dict[str, object] = dict(
        id=id,
        centre_id=1,
        number=id,
        name=f"Quầy {id}",
        field_ids=fields if fields is not None else [1],
        state=CounterState.OPEN,
        current_ticket_id=None,
        priority_streak=0,
        officer_id=10 + id,
    )
    values.update(kw)
    return Counter(**values)  # type: ignore[arg-type]


_next_id = iter(range(1, 1_000_000))


def ticket(field_id: int = 1, minutes: float = 0, priority: int | None = None, **kw: object) -> Ticket:
    at = NOW + timedelta(minutes=minutes)
    tid = next(_next_id)
    values: dict[str, object] = dict(
        id=tid,
        centre_id=1,
        field_id=field_id,
        service_day=DAY,
        number=field_id * 1000 + tid,
        label=str(field_id * 1000 + tid),
        code=f"code{tid}",
        priority_group_id=priority,
        state=TicketState.WAITING,
        issued_at=at,
        queued_at=at,
    )
    values.update(kw)
    return Ticket(**values)  # type: ignore[arg-type]


def issue(
    f: ProcedureField, day: FieldDay, c: Centre | None = None, now: datetime = NOW, prio: PriorityGroup | None = None
) -> q.Issued:
    return q.issue(c or centre(), f, day, prio, now, "code", 0, 0, 1)


def called(c: Counter, t: Ticket) -> tuple[Counter, Ticket]:
    q.call_ticket(c, t, NOW, DAY)
    return c, t


def unchanged(fn, *objs):  # type: ignore[no-untyped-def]
    """Run a command that must be refused and check it changed nothing."""
    before = [copy.deepcopy(o) for o in objs]
    with pytest.raises((Conflict, Invalid, NotFound)) as refused:
        fn()
    assert [o for o in objs] == before
    assert refused.value.message and refused.value.code
    return refused.value


# --- numbering ------------------------------------------------------------------------------------


def test_issue_gives_consecutive_numbers_of_the_range() -> None:
    f, day = field(), FieldDay(1, DAY, 0)
    labels = [issue(f, day).ticket.label for _ in range(3)]
    assert labels == ["1001", "1002", "1003"]
    assert day.issued_count == 3


def test_issue_event_and_estimate() -> None:
    f = field(service_ewma_seconds=240)
    result = q.issue(centre(), f, FieldDay(1, DAY, 0), None, NOW, "c", 5, 1, 2)
    assert result.people_ahead == 5
    assert result.wait_minutes == 10  # 5 people × 240 s / 2 counters
    assert result.event.kind == "ticket.issued" and result.event.to_state == "waiting"
    assert result.ticket.state == TicketState.WAITING and result.ticket.queued_at == NOW


def test_issue_event_says_what_the_ticket_is_but_never_its_code() -> None:
    """The log rebuilds the queue (engine.replay), and event data reaches public screens."""
    f = field(2, prefix="B", number_start=1, number_end=99)
    group = PriorityGroup(7, 1, "Người cao tuổi", True)
    event = q.issue(centre(), f, FieldDay(2, DAY, 4), group, NOW, "the-secret-code", 0, 0, 1).event
    assert event.data == {
        "people_ahead": 0,
        "wait_minutes": 0,
        "number": 5,
        "label": "B05",
        "priority_group_id": 7,
        "service_day": "2026-11-23",
    }
    assert "the-secret-code" not in repr(event.data)


def test_priority_ticket_counts_only_priority_people_ahead() -> None:
    result = q.issue(centre(), field(), FieldDay(1, DAY, 0), PriorityGroup(7, 1, "Người cao tuổi", True), NOW, "c", 5, 1, 1)
    assert result.people_ahead == 1
    assert result.ticket.priority_group_id == 7


def test_prefix_labels_are_padded_to_the_range_width() -> None:
    f = field(prefix="A", number_start=1, number_end=999)
    assert issue(f, FieldDay(1, DAY, 4)).ticket.label == "A005"


def test_numbering_resets_at_local_midnight_not_utc_midnight() -> None:
    # 16:59:59 UTC is 23:59:59 in Hà Nội; one second later it is the next service day.
    before = datetime(2026, 11, 23, 16, 59, 59, tzinfo=UTC)
    after = before + timedelta(seconds=1)
    assert numbering.service_day(before, "Asia/Ho_Chi_Minh") == date(2026, 11, 23)
    assert numbering.service_day(after, "Asia/Ho_Chi_Minh") == date(2026, 11, 24)
    # A new day starts a new counter, so the first number comes again.
    assert issue(field(), FieldDay(1, date(2026, 11, 24), 0), now=after).ticket.number == 1001


def test_yesterdays_counter_is_refused() -> None:
    f, day = field(), FieldDay(1, DAY - timedelta(days=1), 3)
    err = unchanged(lambda: issue(f, day), f, day)
    assert err.code == "wrong_service_day"


def test_range_end_refuses_with_vietnamese_message() -> None:
    f, day = field(number_start=1, number_end=3), FieldDay(1, DAY, 3)
    err = unchanged(lambda: issue(f, day), f, day)
    assert err.code == "field_full" and "hết số thứ tự" in err.message


def test_daily_cap_refuses_before_the_range_ends() -> None:
    f = field(daily_cap=2)
    day = FieldDay(1, DAY, 0)
    issue(f, day)
    issue(f, day)
    err = unchanged(lambda: issue(f, day), f, day)
    assert err.code == "field_full"
    assert numbering.capacity(f) == 2


def test_closed_field_refused() -> None:
    f, day = field(active=False), FieldDay(1, DAY, 0)
    err = unchanged(lambda: issue(f, day), f, day)
    assert err.code == "field_closed" and "không tiếp nhận" in err.message


def test_opening_hours_are_local_and_refuse_outside() -> None:
    f = field(opens_at=time(7, 30), closes_at=time(11, 30))
    early = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 07:00 local
    late = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 11:30 local
    assert unchanged(lambda: issue(f, FieldDay(1, DAY, 0), now=early)).code == "field_not_open_yet"
    err = unchanged(lambda: issue(f, FieldDay(1, DAY, 0), now=late))
    assert err.code == "field_closed_for_today" and "11:30" in err.message
    assert issue(f, FieldDay(1, DAY, 0), now=NOW).ticket.number == 1001  # 08:30


def test_centre_hours_apply_when_the_field_has_none() -> None:
    c = centre(opens_at=time(9, 0))
    assert unchanged(lambda: issue(field(), FieldDay(1, DAY, 0), c=c)).code == "field_not_open_yet"


def test_non_working_day_refused() -> None:
    c = centre(working_days="01234")  # Monday to Friday
    sunday = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    err = unchanged(lambda: issue(field(), FieldDay(1, date(2026, 11, 22), 0), c=c, now=sunday))
    assert err.code == "centre_not_working_day" and "Chủ nhật" in err.message


def test_inactive_priority_group_refused() -> None:
    err = unchanged(lambda: issue(field(), FieldDay(1, DAY, 0), prio=PriorityGroup(1, 1, "Người cao tuổi", False)))
    assert err.code == "priority_group_unknown"


def test_field_of_another_centre_refused() -> None:
    assert unchanged(lambda: issue(field(centre_id=2), FieldDay(1, DAY, 0))).code == "field_not_found"


# --- calling order --------------------------------------------------------------------------------


def test_call_next_takes_the_oldest_in_the_first_field() -> None:
    c = counter(fields=[2, 1])
    old_f1 = ticket(1, minutes=0)
    new_f2 = ticket(2, minutes=5)
    old_f2 = ticket(2, minutes=1)
    event = q.call_next(centre(), c, [old_f1, new_f2, old_f2], NOW)
    assert event.ticket is old_f2 and event.kind == "ticket.called"
    assert old_f2.state == TicketState.CALLED and old_f2.counter_id == 1 and old_f2.called_at == NOW
    assert c.current_ticket_id == old_f2.id
    assert event.data["counter_number"] == 1


def test_second_field_served_when_first_is_empty() -> None:
    c = counter(fields=[2, 1])
    t = ticket(1)
    assert q.call_next(centre(), c, [t], NOW).ticket is t


def test_tickets_of_other_fields_are_not_called() -> None:
    c = counter(fields=[1])
    err = unchanged(lambda: q.call_next(centre(), c, [ticket(3)], NOW), c)
    assert err.code == "queue_empty"


def test_priority_first_but_bounded_so_normal_tickets_do_not_starve() -> None:
    c = counter()
    normal = [ticket(1, minutes=i) for i in range(3)]
    prio = [ticket(1, minutes=10 + i, priority=1) for i in range(5)]
    waiting = normal + prio
    order = []
    for _ in range(8):
        event = q.call_next(centre(max_priority_in_row=2), c, waiting, NOW)
        assert event.ticket is not None
        order.append("P" if event.ticket.priority_group_id else "N")
        c.current_ticket_id = None  # finished
    assert "".join(order) == "PPNPPNPN"


def test_call_order_lists_the_queue_as_repeated_call_next_would() -> None:
    c = counter(fields=[2, 1], priority_streak=1)
    waiting = [ticket(1, minutes=i, priority=1 if i % 3 == 0 else None) for i in range(7)]
    waiting += [ticket(2, minutes=i, priority=1 if i % 2 else None) for i in range(5)]
    order = q.call_order(centre(max_priority_in_row=2), c, waiting)
    remaining, called = list(waiting), []
    while (event := q.call_next(centre(max_priority_in_row=2), c, remaining, NOW)).ticket is not None:
        called.append(event.ticket)
        remaining.remove(event.ticket)
        c.current_ticket_id = None
        if not remaining:
            break
    assert order == called and len(order) == 12
    assert [t.field_id for t in order[:5]] == [2] * 5


def test_priority_bound_of_one_alternates() -> None:
    c = counter()
    waiting = [ticket(1, minutes=i) for i in range(2)] + [ticket(1, minutes=5 + i, priority=1) for i in range(2)]
    order = []
    for _ in range(4):
        event = q.call_next(centre(max_priority_in_row=1), c, waiting, NOW)
        order.append("P" if event.ticket.priority_group_id else "N")  # type: ignore[union-attr]
        c.current_ticket_id = None
    assert "".join(order) == "PNPN"


def test_priority_streak_continues_when_no_normal_ticket_waits() -> None:
    c = counter(priority_streak=5)
    p = ticket(1, priority=1)
    assert q.call_next(centre(), c, [p], NOW).ticket is p
    assert c.priority_streak == 6


def test_ticket_transferred_to_a_counter_is_only_called_there() -> None:
    c1, c2 = counter(1, fields=[1]), counter(2, fields=[1])
    t = ticket(1, target_counter_id=2)
    assert unchanged(lambda: q.call_next(centre(), c1, [t], NOW), c1, t).code == "queue_empty"
    assert q.call_next(centre(), c2, [t], NOW).ticket is t
    assert t.target_counter_id is None


def test_a_reserved_ticket_can_still_be_picked_by_hand_at_a_counter_of_its_field() -> None:
    """If nobody staffs the counter a ticket was sent to, the citizen is not stranded."""
    c1 = counter(1, fields=[1])
    stranger = counter(3, fields=[7])
    t = ticket(1, target_counter_id=2)
    assert unchanged(lambda: q.call_ticket(stranger, t, NOW, DAY), stranger, t).code == "ticket_not_for_counter"
    assert unchanged(lambda: q.cancel(stranger, t, NOW), stranger, t).code == "ticket_not_for_counter"
    q.transfer(c1, t, None, counter(4, fields=[1]), NOW)
    assert t.target_counter_id == 4
    q.call_ticket(c1, t, NOW, DAY)
    assert t.state == TicketState.CALLED and t.counter_id == 1


def test_call_refused_at_paused_closed_busy_or_inactive_counter() -> None:
    t = ticket()
    assert unchanged(lambda: q.call_next(centre(), counter(state=CounterState.PAUSED), [t], NOW), t).code == "counter_paused"
    assert unchanged(lambda: q.call_next(centre(), counter(state=CounterState.CLOSED), [t], NOW), t).code == "counter_closed"
    assert unchanged(lambda: q.call_next(centre(), counter(current_ticket_id=99), [t], NOW), t).code == "counter_busy"
    assert unchanged(lambda: q.call_next(centre(), counter(active=False), [t], NOW), t).code == "counter_inactive"
    assert "tạm dừng" in unchanged(lambda: q.call_ticket(counter(state=CounterState.PAUSED), t, NOW, DAY), t).message


def test_call_specific_ticket_out_of_turn() -> None:
    c = counter()
    first, second = ticket(1, minutes=0), ticket(1, minutes=1)
    assert q.call_ticket(c, second, NOW, DAY).ticket is second
    assert first.state == TicketState.WAITING


def test_call_specific_refuses_called_or_foreign_tickets() -> None:
    c = counter()
    done = ticket(1, state=TicketState.DONE)
    other_field = ticket(5)
    yesterday = ticket(1, service_day=DAY - timedelta(days=1))
    assert unchanged(lambda: q.call_ticket(c, yesterday, NOW, DAY), c, yesterday).code == "ticket_of_another_day"
    assert unchanged(lambda: q.call_ticket(c, done, NOW, DAY), c, done).code == "ticket_not_waiting"
    assert unchanged(lambda: q.call_ticket(c, other_field, NOW, DAY), c, other_field).code == "ticket_not_for_counter"


# --- at the counter -------------------------------------------------------------------------------


def test_recall_counts_and_keeps_the_ticket_called() -> None:
    c, t = called(counter(), ticket())
    e1 = q.recall(c, t, NOW)
    e2 = q.recall(c, t, NOW)
    assert t.recall_count == 2 and t.state == TicketState.CALLED
    assert e1.kind == e2.kind == "ticket.recalled" and e2.data["recall_count"] == 2


def test_recall_refused_when_serving_or_paused() -> None:
    c, t = called(counter(), ticket())
    q.start(c, t, NOW)
    assert unchanged(lambda: q.recall(c, t, NOW), c, t).code == "ticket_already_serving"
    c2, t2 = called(counter(2), ticket())
    c2.state = CounterState.PAUSED
    assert unchanged(lambda: q.recall(c2, t2, NOW), c2, t2).code == "counter_paused"


def test_start_then_finish_measures_service_from_start() -> None:
    f = field(service_ewma_seconds=None)
    c, t = called(counter(), ticket())
    q.start(c, t, NOW + timedelta(minutes=1))
    assert t.state == TicketState.SERVING
    event = q.finish(c, t, f, NOW + timedelta(minutes=5))
    assert t.state == TicketState.DONE and c.current_ticket_id is None
    assert event.data["service_seconds"] == 240
    assert f.service_ewma_seconds == 240


def test_finish_straight_from_called_counts_from_the_call() -> None:
    f = field(service_ewma_seconds=100.0)
    c, t = called(counter(), ticket())
    q.finish(c, t, f, NOW + timedelta(seconds=600))
    assert f.service_ewma_seconds == pytest.approx(0.8 * 100 + 0.2 * 600)


def test_finish_refused_for_a_ticket_never_called() -> None:
    c, t, f = counter(), ticket(), field()
    err = unchanged(lambda: q.finish(c, t, f, NOW), c, t, f)
    assert err.code == "ticket_not_called" and "chưa được gọi" in err.message


def test_finish_twice_refused() -> None:
    f = field()
    c, t = called(counter(), ticket())
    q.finish(c, t, f, NOW)
    assert unchanged(lambda: q.finish(c, t, f, NOW), c, t, f).code == "ticket_not_at_counter"


def test_another_counters_ticket_cannot_be_finished() -> None:
    f = field()
    _c1, t = called(counter(1), ticket())
    c2 = counter(2, current_ticket_id=t.id)
    assert unchanged(lambda: q.finish(c2, t, f, NOW), c2, t, f).code == "ticket_not_at_counter"


def test_start_twice_refused() -> None:
    c, t = called(counter(), ticket())
    q.start(c, t, NOW)
    assert unchanged(lambda: q.start(c, t, NOW), c, t).code == "ticket_already_serving"


def test_no_show_ends_the_ticket() -> None:
    c, t = called(counter(), ticket())
    event = q.no_show(c, t, False, NOW)
    assert t.state == TicketState.NO_SHOW and c.current_ticket_id is None
    assert event.to_state == "no_show" and event.data["requeued"] is False


def test_no_show_requeue_goes_to_the_back_once() -> None:
    c = counter()
    t = ticket(minutes=0)
    later = ticket(minutes=5)
    q.call_ticket(c, t, NOW, DAY)
    requeued_at = NOW + timedelta(minutes=10)
    event = q.no_show(c, t, True, requeued_at)
    assert t.state == TicketState.WAITING and t.requeued and t.queued_at == requeued_at
    assert event.to_state == "waiting"
    # It now comes after the ticket issued later.
    assert q.call_next(centre(), c, [t, later], NOW).ticket is later
    c.current_ticket_id = None
    q.call_ticket(c, t, NOW, DAY)
    assert unchanged(lambda: q.no_show(c, t, True, NOW), c, t).code == "ticket_already_requeued"
    q.no_show(c, t, False, NOW)
    assert t.state == TicketState.NO_SHOW


def test_requeued_priority_ticket_waits_behind_normal_ones() -> None:
    c = counter()
    p = ticket(1, minutes=0, priority=1)
    normal = ticket(1, minutes=1)
    q.call_ticket(c, p, NOW, DAY)
    q.no_show(c, p, True, NOW + timedelta(minutes=2))
    assert estimate.people_ahead(p, [p, normal]) == 1
    assert q.call_next(centre(), c, [p, normal], NOW).ticket is normal
    assert c.priority_streak == 0


def test_no_show_refused_while_serving() -> None:
    c, t = called(counter(), ticket())
    q.start(c, t, NOW)
    assert unchanged(lambda: q.no_show(c, t, False, NOW), c, t).code == "ticket_already_serving"


def test_transfer_to_field_keeps_number_and_place() -> None:
    c = counter(fields=[1])
    t = ticket(1, minutes=0)
    newer_in_target = ticket(2, minutes=3)
    q.call_ticket(c, t, NOW, DAY)
    target = field(2)
    event = q.transfer(c, t, target, None, NOW + timedelta(minutes=20))
    assert t.field_id == 2 and t.state == TicketState.WAITING and t.number == 1000 + t.id  # type: ignore[operator]
    assert t.queued_at == NOW and t.transfer_count == 1 and c.current_ticket_id is None
    assert event.data["from_field_id"] == 1 and event.data["to_field_id"] == 2
    # Its place by issue time puts it before the newer ticket already waiting in field 2.
    c2 = counter(2, fields=[2])
    assert q.call_next(centre(), c2, [newer_in_target, t], NOW).ticket is t


def test_transfer_to_counter_reserves_the_ticket_for_it() -> None:
    c1, c2, c3 = counter(1, fields=[1]), counter(2, fields=[1]), counter(3, fields=[1])
    t = ticket(1)
    q.call_ticket(c1, t, NOW, DAY)
    event = q.transfer(c1, t, None, c2, NOW)
    assert t.target_counter_id == 2 and event.data["to_counter_number"] == 2
    assert q.choose_next(centre(), c3, [t]) is None
    assert q.choose_next(centre(), c2, [t]) is t


def test_transfer_refusals() -> None:
    c = counter(fields=[1])
    t = ticket(1)
    q.call_ticket(c, t, NOW, DAY)
    assert unchanged(lambda: q.transfer(c, t, None, None, NOW), c, t).code == "transfer_target_missing"
    assert unchanged(lambda: q.transfer(c, t, field(2, centre_id=9), None, NOW), c, t).code == "field_not_found"
    assert unchanged(lambda: q.transfer(c, t, field(2, active=False), None, NOW), c, t).code == "field_closed"
    assert unchanged(lambda: q.transfer(c, t, None, c, NOW), c, t).code == "transfer_to_self"
    assert unchanged(lambda: q.transfer(c, t, field(1), None, NOW), c, t).code == "transfer_same_field"
    wrong = counter(4, fields=[3])
    assert unchanged(lambda: q.transfer(c, t, field(2), wrong, NOW), c, t).code == "counter_not_serving_field"
    done = ticket(1, state=TicketState.DONE)
    assert unchanged(lambda: q.transfer(c, done, field(2), None, NOW), done).code == "ticket_final"
    elsewhere = ticket(1)
    q.call_ticket(counter(7), elsewhere, NOW, DAY)
    assert unchanged(lambda: q.transfer(c, elsewhere, field(2), None, NOW), c, elsewhere).code == "ticket_not_at_counter"


def test_transfer_of_a_waiting_ticket() -> None:
    c = counter(fields=[1])
    t = ticket(1)
    q.transfer(c, t, field(2), None, NOW)
    assert t.field_id == 2 and t.state == TicketState.WAITING
    # Now in field 2, which this counter does not serve: it can no longer move it.
    assert unchanged(lambda: q.transfer(c, t, field(3), None, NOW), c, t).code == "ticket_not_for_counter"
    assert unchanged(lambda: q.cancel(c, t, NOW), c, t).code == "ticket_not_for_counter"


def test_cancel_waiting_and_current_ticket_but_not_finished_ones() -> None:
    c = counter()
    waiting = ticket()
    q.cancel(c, waiting, NOW)
    assert waiting.state == TicketState.CANCELLED
    current = ticket()
    q.call_ticket(c, current, NOW, DAY)
    q.cancel(c, current, NOW)
    assert current.state == TicketState.CANCELLED and c.current_ticket_id is None
    assert unchanged(lambda: q.cancel(c, current, NOW), c, current).code == "ticket_final"


# --- counters ---------------------------------------------------------------------------------


def test_pause_resume() -> None:
    c = counter()
    assert q.pause(c, NOW).kind == "counter.paused" and c.state == CounterState.PAUSED
    assert unchanged(lambda: q.pause(c, NOW), c).code == "counter_already_paused"
    assert q.resume(c, NOW).kind == "counter.resumed" and c.state == CounterState.OPEN
    assert unchanged(lambda: q.resume(c, NOW), c).code == "counter_not_paused"
    closed = counter(state=CounterState.CLOSED)
    assert unchanged(lambda: q.pause(closed, NOW), closed).code == "counter_closed"


def test_open_and_close_counter() -> None:
    c = counter(state=CounterState.CLOSED, officer_id=None)
    event = q.open_counter(c, 42, NOW)
    assert c.state == CounterState.OPEN and c.officer_id == 42 and event.to_state == "open"
    # Another officer taking the desk takes the counter over.
    q.open_counter(c, 43, NOW)
    assert c.officer_id == 43
    c.current_ticket_id = 5
    assert unchanged(lambda: q.close_counter(c, NOW), c).code == "counter_busy"
    c.current_ticket_id = None
    q.close_counter(c, NOW)
    assert c.state == CounterState.CLOSED and c.officer_id is None
    inactive = counter(active=False, state=CounterState.CLOSED)
    assert unchanged(lambda: q.open_counter(inactive, 1, NOW), inactive).code == "counter_inactive"


# --- estimates --------------------------------------------------------------------------------


def test_people_ahead_follows_priority_then_time() -> None:
    a = ticket(1, minutes=0)
    b = ticket(1, minutes=1)
    p = ticket(1, minutes=2, priority=1)
    mine = ticket(1, minutes=3)
    waiting = [a, b, p, mine]
    assert estimate.people_ahead(mine, waiting) == 3
    assert estimate.people_ahead(p, waiting) == 0
    assert estimate.people_ahead(b, waiting) == 2


def test_wait_estimate_uses_service_times_and_open_counters() -> None:
    f = field(default_service_seconds=300)
    assert estimate.seconds_per_person(f, 0) == 300  # nobody open yet: as if one counter
    assert estimate.seconds_per_person(f, 2) == 150
    f.service_ewma_seconds = 120
    assert estimate.wait_minutes(4, estimate.seconds_per_person(f, 1)) == 8
    assert estimate.wait_minutes(0, 100) == 0
    # A forgotten Hoàn thành (hours) does not wreck the average.
    assert estimate.updated_service_average(field(), 99999) == 7200
