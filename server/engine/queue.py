"""Ticket and counter transitions. Each command checks everything first and mutates only when it
cannot be refused, so a refusal leaves every object exactly as it was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from server.engine import estimate, numbering
from server.engine.errors import Conflict, Invalid, NotFound
from server.engine.model import (
    AT_COUNTER_STATES,
    FINAL_STATES,
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

STATE_NAMES = {
    TicketState.WAITING: "đang chờ",
    TicketState.CALLED: "đã được gọi",
    TicketState.SERVING: "đang được phục vụ",
    TicketState.DONE: "đã hoàn thành",
    TicketState.NO_SHOW: "vắng mặt",
    TicketState.CANCELLED: "đã hủy",
    TicketState.EXPIRED: "đã hết hạn",
}


@dataclass
class Issued:
    ticket: Ticket
    people_ahead: int
    wait_minutes: int
    event: Event


def _event(kind: str, now: datetime, ticket: Ticket, counter: Counter | None, from_state: str | None, **data: object) -> Event:
    return Event(
        kind=kind,
        at=now,
        ticket=ticket,
        counter_id=counter.id if counter else ticket.counter_id,
        field_id=ticket.field_id,
        from_state=from_state,
        to_state=ticket.state.value,
        data=dict(data),
    )


def _counter_event(kind: str, now: datetime, counter: Counter, from_state: CounterState) -> Event:
    return Event(kind=kind, at=now, counter_id=counter.id, from_state=from_state.value, to_state=counter.state.value)


# --- issuing -------------------------------------------------------------------------------------


def issue(
    centre: Centre,
    field: ProcedureField,
    day: FieldDay,
    priority: PriorityGroup | None,
    now: datetime,
    code: str,
    waiting_total: int,
    waiting_priority: int,
    open_counters: int,
) -> Issued:
    """Give the next number of the field for today. `day` must be the field's counter for today."""
    if field.centre_id != centre.id:
        raise NotFound("field_not_found", "Không tìm thấy lĩnh vực này tại Trung tâm.")
    if day.service_day != numbering.service_day(now, centre.timezone):
        raise Invalid("wrong_service_day", "Sổ cấp số không thuộc ngày làm việc hiện tại.")
    if priority is not None and (priority.centre_id != centre.id or not priority.active):
        raise Invalid("priority_group_unknown", "Nhóm ưu tiên này không còn được áp dụng.")
    numbering.check_open(centre, field, now)
    number = numbering.next_number(field, day)
    day.issued_count += 1
    ticket = Ticket(
        id=None,
        centre_id=centre.id,
        field_id=field.id,
        service_day=day.service_day,
        number=number,
        label=numbering.label_for(field, number),
        code=code,
        priority_group_id=priority.id if priority else None,
        state=TicketState.WAITING,
        issued_at=now,
        queued_at=now,
    )
    ahead = estimate.people_ahead_of_new(priority is not None, waiting_total, waiting_priority)
    minutes = estimate.wait_minutes(ahead, estimate.seconds_per_person(field, open_counters))
    # The log must say everything the ticket is (server.engine.replay rebuilds the queue from it).
    # This data is broadcast to public screens: what is printed on the ticket is fine, the code
    # behind its QR link never is.
    event = _event(
        "ticket.issued",
        now,
        ticket,
        None,
        None,
        people_ahead=ahead,
        wait_minutes=minutes,
        number=ticket.number,
        label=ticket.label,
        priority_group_id=ticket.priority_group_id,
        service_day=ticket.service_day.isoformat(),
    )
    return Issued(ticket=ticket, people_ahead=ahead, wait_minutes=minutes, event=event)


# --- counters ------------------------------------------------------------------------------------


def _require_can_call(counter: Counter) -> None:
    if not counter.active:
        raise Conflict("counter_inactive", f"Quầy số {counter.number} đã ngừng hoạt động.")
    if counter.state == CounterState.PAUSED:
        raise Conflict("counter_paused", f"Quầy số {counter.number} đang tạm dừng. Bấm Tiếp tục trước khi gọi số.")
    if counter.state == CounterState.CLOSED:
        raise Conflict("counter_closed", f"Quầy số {counter.number} đang đóng.")
    if counter.current_ticket_id is not None:
        raise Conflict(
            "counter_busy",
            "Quầy đang phục vụ một số khác. Hãy bấm Hoàn thành, Vắng mặt hoặc Chuyển trước khi gọi số mới.",
        )


def _can_take(counter: Counter, ticket: Ticket) -> bool:
    """Whether this counter may call the ticket: a ticket sent to one counter is that counter's alone."""
    if ticket.state != TicketState.WAITING or ticket.centre_id != counter.centre_id:
        return False
    if ticket.target_counter_id is not None:
        return ticket.target_counter_id == counter.id
    return ticket.field_id in counter.field_ids


def _field_rank(counter: Counter, ticket: Ticket) -> int:
    # A ticket transferred to this counter for a field it does not serve ranks with its first field.
    return counter.field_ids.index(ticket.field_id) if ticket.field_id in counter.field_ids else 0


def call_order(centre: Centre, counter: Counter, waiting: Sequence[Ticket]) -> list[Ticket]:
    """The order in which this counter's "call next" would take the waiting tickets: its field
    order first, then priority, then queue time.

    Priority tickets go first, but once the counter has called `max_priority_in_row` of them in a
    row, the oldest normal ticket of that field goes next if there is one, so nobody starves.
    """
    by_rank: dict[int, tuple[list[Ticket], list[Ticket]]] = {}
    for ticket in waiting:
        if _can_take(counter, ticket):
            priority, normal = by_rank.setdefault(_field_rank(counter, ticket), ([], []))
            (priority if estimate.goes_first(ticket) else normal).append(ticket)
    order: list[Ticket] = []
    streak = counter.priority_streak
    for rank in sorted(by_rank):
        priority, normal = (sorted(tickets, key=estimate.order_key) for tickets in by_rank[rank])
        p = n = 0
        while p < len(priority) or n < len(normal):
            if p < len(priority) and (n == len(normal) or streak < centre.max_priority_in_row):
                order.append(priority[p])
                p, streak = p + 1, streak + 1
            else:
                order.append(normal[n])
                n, streak = n + 1, 0
    return order


def choose_next(centre: Centre, counter: Counter, waiting: Sequence[Ticket]) -> Ticket | None:
    """The ticket "call next" takes: the first of `call_order`."""
    order = call_order(centre, counter, waiting)
    return order[0] if order else None


def _take(counter: Counter, ticket: Ticket, now: datetime) -> Event:
    from_state = ticket.state
    ticket.state = TicketState.CALLED
    ticket.counter_id = counter.id
    ticket.target_counter_id = None
    ticket.called_at = now
    ticket.started_at = None
    counter.current_ticket_id = ticket.id
    counter.priority_streak = counter.priority_streak + 1 if estimate.goes_first(ticket) else 0
    return _event("ticket.called", now, ticket, counter, from_state.value, counter_number=counter.number)


def call_next(centre: Centre, counter: Counter, waiting: Sequence[Ticket], now: datetime) -> Event:
    _require_can_call(counter)
    ticket = choose_next(centre, counter, waiting)
    if ticket is None:
        raise Conflict("queue_empty", "Hiện không có công dân nào đang chờ ở các lĩnh vực của quầy.")
    return _take(counter, ticket, now)


def call_ticket(counter: Counter, ticket: Ticket, now: datetime, today: date) -> Event:
    """Call one particular waiting ticket, out of turn (the officer picked it from the list)."""
    _require_can_call(counter)
    if ticket.state != TicketState.WAITING:
        raise Conflict("ticket_not_waiting", f"Số {ticket.label} {STATE_NAMES[ticket.state]}, không thể gọi.")
    if ticket.service_day != today:
        raise Conflict(
            "ticket_of_another_day", f"Số {ticket.label} được cấp vào ngày {ticket.service_day:%d/%m/%Y}, không còn hiệu lực."
        )
    if not _may_handle(counter, ticket):
        raise Conflict("ticket_not_for_counter", f"Số {ticket.label} không thuộc lĩnh vực của quầy số {counter.number}.")
    return _take(counter, ticket, now)


def _may_handle(counter: Counter, ticket: Ticket) -> bool:
    """Whether an officer may pick this waiting ticket by hand (call it, move it, cancel it): one
    of the counter's fields, or reserved for it. Picking by hand may take a ticket reserved for
    another counter, so a reservation for a counter nobody staffs cannot strand a citizen."""
    return _can_take(counter, ticket) or (
        ticket.state == TicketState.WAITING and ticket.centre_id == counter.centre_id and ticket.field_id in counter.field_ids
    )


def _require_waiting_here(counter: Counter, ticket: Ticket) -> None:
    """A counter may move or cancel a waiting ticket only if it may pick it by hand."""
    if ticket.state == TicketState.WAITING and not _may_handle(counter, ticket):
        raise Conflict("ticket_not_for_counter", f"Số {ticket.label} không thuộc lĩnh vực của quầy số {counter.number}.")


def _require_current(counter: Counter, ticket: Ticket, action: str) -> None:
    if ticket.counter_id != counter.id or counter.current_ticket_id != ticket.id or ticket.state not in AT_COUNTER_STATES:
        if ticket.state == TicketState.WAITING:
            raise Conflict("ticket_not_called", f"Số {ticket.label} chưa được gọi, không thể {action}.")
        raise Conflict(
            "ticket_not_at_counter",
            f"Số {ticket.label} {STATE_NAMES[ticket.state]}, không phải số quầy số {counter.number} đang phục vụ.",
        )


def recall(counter: Counter, ticket: Ticket, now: datetime) -> Event:
    _require_current(counter, ticket, "gọi lại")
    if ticket.state != TicketState.CALLED:
        raise Conflict("ticket_already_serving", f"Công dân số {ticket.label} đang được phục vụ, không cần gọi lại.")
    if counter.state == CounterState.PAUSED:
        raise Conflict("counter_paused", f"Quầy số {counter.number} đang tạm dừng. Bấm Tiếp tục trước khi gọi lại.")
    ticket.recall_count += 1
    return _event(
        "ticket.recalled",
        now,
        ticket,
        counter,
        ticket.state.value,
        counter_number=counter.number,
        recall_count=ticket.recall_count,
    )


def start(counter: Counter, ticket: Ticket, now: datetime) -> Event:
    _require_current(counter, ticket, "bắt đầu phục vụ")
    if ticket.state == TicketState.SERVING:
        raise Conflict("ticket_already_serving", f"Số {ticket.label} đang được phục vụ rồi.")
    ticket.state = TicketState.SERVING
    ticket.started_at = now
    return _event("ticket.started", now, ticket, counter, TicketState.CALLED.value)


def finish(counter: Counter, ticket: Ticket, field: ProcedureField, now: datetime) -> Event:
    """Finish the counter's current ticket. Finishing straight from "called" is allowed: many
    officers never press a separate start button, so service then counts from the call."""
    _require_current(counter, ticket, "hoàn thành")
    from_state = ticket.state
    begun = ticket.started_at or ticket.called_at or now
    service_seconds = (now - begun).total_seconds()
    field.service_ewma_seconds = estimate.updated_service_average(field, service_seconds)
    ticket.state = TicketState.DONE
    ticket.finished_at = now
    counter.current_ticket_id = None
    return _event("ticket.finished", now, ticket, counter, from_state.value, service_seconds=round(service_seconds, 1))


def no_show(counter: Counter, ticket: Ticket, requeue: bool, now: datetime) -> Event:
    """The citizen did not come. With `requeue`, the ticket goes once more to the end of the queue."""
    _require_current(counter, ticket, "đánh dấu vắng mặt")
    if ticket.state != TicketState.CALLED:
        raise Conflict("ticket_already_serving", f"Công dân số {ticket.label} đang được phục vụ, không thể đánh dấu vắng mặt.")
    if requeue and ticket.requeued:
        raise Conflict("ticket_already_requeued", f"Số {ticket.label} đã được đưa lại hàng chờ một lần, không thể đưa lại nữa.")
    from_state = ticket.state
    counter.current_ticket_id = None
    if requeue:
        ticket.state = TicketState.WAITING
        ticket.requeued = True
        ticket.queued_at = now
        ticket.counter_id = None
    else:
        ticket.state = TicketState.NO_SHOW
        ticket.finished_at = now
    return _event("ticket.no_show", now, ticket, counter, from_state.value, requeued=requeue, counter_number=counter.number)


def transfer(
    counter: Counter,
    ticket: Ticket,
    target_field: ProcedureField | None,
    target_counter: Counter | None,
    now: datetime,
) -> Event:
    """Send a ticket to another field or to one counter. It keeps its number and its place in the
    queue (its queue time), so the citizen does not start again at the back."""
    if target_field is None and target_counter is None:
        raise Invalid("transfer_target_missing", "Hãy chọn lĩnh vực hoặc quầy để chuyển đến.")
    if ticket.state in FINAL_STATES:
        raise Conflict("ticket_final", f"Số {ticket.label} {STATE_NAMES[ticket.state]}, không thể chuyển.")
    if ticket.state in AT_COUNTER_STATES:
        _require_current(counter, ticket, "chuyển")
    _require_waiting_here(counter, ticket)
    if target_field is not None:
        if target_field.centre_id != ticket.centre_id:
            raise NotFound("field_not_found", "Không tìm thấy lĩnh vực cần chuyển đến.")
        if not target_field.active:
            raise Conflict("field_closed", f"Lĩnh vực {target_field.name} hiện không tiếp nhận hồ sơ.")
    if target_counter is not None:
        if target_counter.centre_id != ticket.centre_id or not target_counter.active:
            raise NotFound("counter_not_found", "Không tìm thấy quầy cần chuyển đến.")
        if target_counter.id == counter.id:
            raise Invalid("transfer_to_self", "Không thể chuyển số về chính quầy này.")
        field_id = target_field.id if target_field is not None else ticket.field_id
        if field_id not in target_counter.field_ids and target_field is not None:
            raise Conflict(
                "counter_not_serving_field",
                f"Quầy số {target_counter.number} không phục vụ lĩnh vực {target_field.name}.",
            )
    if target_field is not None and target_counter is None and target_field.id == ticket.field_id:
        raise Invalid("transfer_same_field", "Số này đã thuộc lĩnh vực đó.")
    from_state = ticket.state
    from_field = ticket.field_id
    if counter.current_ticket_id == ticket.id:
        counter.current_ticket_id = None
    if target_field is not None:
        ticket.field_id = target_field.id
    ticket.target_counter_id = target_counter.id if target_counter is not None else None
    ticket.state = TicketState.WAITING
    ticket.counter_id = None
    ticket.called_at = None
    ticket.started_at = None
    ticket.transfer_count += 1
    return _event(
        "ticket.transferred",
        now,
        ticket,
        counter,
        from_state.value,
        from_field_id=from_field,
        to_field_id=ticket.field_id,
        to_counter_id=ticket.target_counter_id,
        to_counter_number=target_counter.number if target_counter is not None else None,
    )


def cancel(counter: Counter, ticket: Ticket, now: datetime) -> Event:
    if ticket.state in FINAL_STATES:
        raise Conflict("ticket_final", f"Số {ticket.label} {STATE_NAMES[ticket.state]}, không thể hủy.")
    if ticket.state in AT_COUNTER_STATES:
        _require_current(counter, ticket, "hủy")
    _require_waiting_here(counter, ticket)
    if counter.current_ticket_id == ticket.id:
        counter.current_ticket_id = None
    from_state = ticket.state
    ticket.state = TicketState.CANCELLED
    ticket.finished_at = now
    return _event("ticket.cancelled", now, ticket, counter, from_state.value)


def open_counter(counter: Counter, officer_id: int, now: datetime) -> Event:
    if not counter.active:
        raise Conflict("counter_inactive", f"Quầy số {counter.number} đã ngừng hoạt động.")
    # Another officer's sign-in is taken over: a counter has one desk, and whoever sits there now
    # is who serves (the earlier one most likely forgot to sign out).
    from_state = counter.state
    previous = counter.officer_id
    counter.officer_id = officer_id
    if counter.state == CounterState.CLOSED:
        counter.state = CounterState.OPEN
    event = _counter_event("counter.opened", now, counter, from_state)
    event.data = {"officer_id": officer_id, "previous_officer_id": previous}
    return event


def close_counter(counter: Counter, now: datetime) -> Event:
    if counter.current_ticket_id is not None:
        raise Conflict(
            "counter_busy",
            "Quầy đang phục vụ một số. Hãy bấm Hoàn thành, Vắng mặt hoặc Chuyển trước khi đóng quầy.",
        )
    from_state = counter.state
    counter.state = CounterState.CLOSED
    counter.officer_id = None
    counter.priority_streak = 0
    return _counter_event("counter.closed", now, counter, from_state)


def pause(counter: Counter, now: datetime) -> Event:
    if counter.state == CounterState.PAUSED:
        raise Conflict("counter_already_paused", f"Quầy số {counter.number} đã tạm dừng rồi.")
    if counter.state == CounterState.CLOSED:
        raise Conflict("counter_closed", f"Quầy số {counter.number} đang đóng.")
    counter.state = CounterState.PAUSED
    return _counter_event("counter.paused", now, counter, CounterState.OPEN)


def resume(counter: Counter, now: datetime) -> Event:
    if counter.state != CounterState.PAUSED:
        raise Conflict("counter_not_paused", f"Quầy số {counter.number} không ở trạng thái tạm dừng.")
    counter.state = CounterState.OPEN
    return _counter_event("counter.resumed", now, counter, CounterState.PAUSED)


# --- the day's end -------------------------------------------------------------------------------


def roll_over(tickets: Sequence[Ticket], counters: Sequence[Counter], today: date, now: datetime) -> list[Event]:
    """Start service day `today`. Numbering restarts with the day, so a ticket of an earlier day
    that is still open (waiting, or left at a counter) can never be called again: it is closed
    as expired, keeps its place in the log and the reports, and frees its counter. Every
    counter's run of priority calls starts again. The last event, day.started, tells the screens
    that the day changed (yesterday's calls leave the board)."""
    events: list[Event] = []
    by_id = {counter.id: counter for counter in counters}
    for ticket in sorted(tickets, key=lambda t: (t.service_day, t.id or 0)):
        if ticket.state in FINAL_STATES or ticket.service_day >= today:
            continue
        from_state = ticket.state
        holder = by_id.get(ticket.counter_id) if from_state in AT_COUNTER_STATES else None
        if holder is not None and holder.current_ticket_id == ticket.id:
            holder.current_ticket_id = None
        ticket.state = TicketState.EXPIRED
        ticket.finished_at = now
        events.append(_event("ticket.expired", now, ticket, holder, from_state.value, service_day=ticket.service_day.isoformat()))
    for counter in counters:
        counter.priority_streak = 0
    events.append(Event(kind="day.started", at=now, data={"service_day": today.isoformat(), "expired": len(events)}))
    return events
