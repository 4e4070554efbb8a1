"""Read models: how stored rows are shown to clients, and the loaders commands share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from server import schemas
from server.engine import estimate, model, numbering, rating
from server.engine.errors import Conflict, NotFound
from server.engine.queue import call_order
from server.realtime import Message
from server.storage import tables
from server.storage.convert import to_engine

# --- conversions to engine objects ----------------------------------------------------------------


def centre_engine(row: tables.Centre) -> model.Centre:
    return to_engine(row, model.Centre)


def field_engine(row: tables.ProcedureField) -> model.ProcedureField:
    return to_engine(row, model.ProcedureField)


def ticket_engine(row: tables.Ticket) -> model.Ticket:
    return to_engine(row, model.Ticket, state=model.TicketState(row.state))


def counter_engine(row: tables.Counter, field_ids: list[int]) -> model.Counter:
    return to_engine(row, model.Counter, state=model.CounterState(row.state), field_ids=field_ids)


def today(centre: tables.Centre, now: datetime) -> date:
    return numbering.service_day(now, centre.timezone)


# --- loaders ------------------------------------------------------------------------------------


def counter_field_ids(session: Session, counter_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(counter_ids)
    result: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = session.exec(
        select(tables.CounterField)
        .where(col(tables.CounterField.counter_id).in_(ids))
        .order_by(col(tables.CounterField.counter_id), col(tables.CounterField.position))
    ).all()
    for row in rows:
        result[row.counter_id].append(row.field_id)
    return result


def centre_fields(session: Session, centre_id: int) -> list[tables.ProcedureField]:
    return list(
        session.exec(
            select(tables.ProcedureField)
            .where(tables.ProcedureField.centre_id == centre_id)
            .order_by(col(tables.ProcedureField.display_order), col(tables.ProcedureField.id))
        ).all()
    )


def centre_counters(session: Session, centre_id: int) -> list[tables.Counter]:
    return list(
        session.exec(
            select(tables.Counter).where(tables.Counter.centre_id == centre_id).order_by(col(tables.Counter.number))
        ).all()
    )


def waiting_tickets(
    session: Session, centre_id: int, day: date, field_ids: Iterable[int] | None = None, counter_id: int | None = None
) -> list[tables.Ticket]:
    """Today's waiting tickets of some fields, plus those transferred to one counter."""
    query = select(tables.Ticket).where(
        tables.Ticket.centre_id == centre_id,
        tables.Ticket.service_day == day,
        tables.Ticket.state == model.TicketState.WAITING.value,
    )
    if field_ids is not None:
        condition = col(tables.Ticket.field_id).in_(list(field_ids))
        if counter_id is not None:
            condition = condition | (tables.Ticket.target_counter_id == counter_id)
        query = query.where(condition)
    return list(session.exec(query).all())


def _queue_summary_query(some_fields: bool) -> Any:
    """Each field with its waiting count, waiting priority count and open counters, as one
    statement. Built once with bound parameters: building it per command costs more than running it."""
    ticket, link, counter, field_table = tables.Ticket, tables.CounterField, tables.Counter, tables.ProcedureField
    waiting_here = (
        col(ticket.field_id) == col(field_table.id),
        ticket.service_day == bindparam("day"),
        ticket.state == model.TicketState.WAITING.value,
    )
    waiting = select(func.count()).where(*waiting_here).scalar_subquery()
    goes_first = col(ticket.priority_group_id).is_not(None) & col(ticket.requeued).is_(False)  # estimate.goes_first
    waiting_priority = select(func.count()).where(*waiting_here, goes_first).scalar_subquery()
    # When the longest-waiting citizen took the number (a transfer keeps the time it was first issued).
    oldest = select(func.min(ticket.issued_at)).where(*waiting_here).scalar_subquery()
    open_counters = (
        select(func.count())
        .select_from(link)
        .join(counter, col(counter.id) == col(link.counter_id))
        .where(
            col(link.field_id) == col(field_table.id),
            counter.state == model.CounterState.OPEN.value,
            col(counter.active).is_(True),
        )
        .scalar_subquery()
    )
    query = select(field_table, waiting, waiting_priority, open_counters, oldest).where(
        field_table.centre_id == bindparam("centre_id")
    )
    if some_fields:
        query = query.where(col(field_table.id).in_(bindparam("field_ids", expanding=True)))
    return query.order_by(col(field_table.display_order), col(field_table.id))


_ALL_FIELDS_QUEUES = _queue_summary_query(some_fields=False)
_SOME_FIELDS_QUEUES = _queue_summary_query(some_fields=True)


def queue_summaries(
    session: Session, centre: tables.Centre, now: datetime, field_ids: Iterable[int] | None = None
) -> dict[int, schemas.FieldQueue]:
    """Waiting counts, open counters and the wait a newcomer can expect, for some or all fields."""
    assert centre.id is not None
    params: dict[str, Any] = {"day": today(centre, now), "centre_id": centre.id}
    if field_ids is None:
        query = _ALL_FIELDS_QUEUES
    else:
        query = _SOME_FIELDS_QUEUES
        params["field_ids"] = sorted(set(field_ids))
    result: dict[int, schemas.FieldQueue] = {}
    for field, total, prio, opened, oldest in session.exec(query, params=params):
        assert field.id is not None
        per_person = estimate.seconds_per_person(field_engine(field), opened)
        result[field.id] = schemas.FieldQueue(
            field_id=field.id,
            waiting=total,
            waiting_priority=prio,
            open_counters=opened,
            wait_minutes=estimate.wait_minutes(total, per_person),
            waiting_since=oldest,
        )
    return result


def _call_candidates_query() -> Any:
    ticket = tables.Ticket
    counter_id = bindparam("counter_id")
    eligible = (col(ticket.target_counter_id).is_(None) & col(ticket.field_id).in_(bindparam("field_ids", expanding=True))) | (
        ticket.target_counter_id == counter_id
    )
    rank = (
        func.row_number()
        .over(
            # The engine chooses between priority and normal tickets (estimate.goes_first).
            partition_by=(col(ticket.field_id), col(ticket.priority_group_id).is_(None) | col(ticket.requeued)),
            order_by=(col(ticket.queued_at), col(ticket.id)),
        )
        .label("rank")
    )
    ranked = (
        select(col(ticket.id).label("id"), rank)
        .where(
            ticket.centre_id == bindparam("centre_id"),
            ticket.service_day == bindparam("day"),
            ticket.state == model.TicketState.WAITING.value,
            eligible,
        )
        .subquery()
    )
    return select(ticket).join(ranked, col(ranked.c.id) == col(ticket.id)).where(ranked.c.rank == 1)


_CALL_CANDIDATES = _call_candidates_query()


def call_candidates(session: Session, centre_id: int, day: date, counter_id: int, field_ids: list[int]) -> list[tables.Ticket]:
    """The tickets "call next" can choose between: in each field the counter may take from, the
    first priority and the first normal ticket in queue order. Whatever the engine would pick from
    the whole queue is among these, so a counter never loads hundreds of waiting tickets."""
    params = {"centre_id": centre_id, "day": day, "counter_id": counter_id, "field_ids": field_ids}
    return list(session.exec(_CALL_CANDIDATES, params=params).all())


# --- rows to wire shapes ------------------------------------------------------------------------


def ticket_out(session: Session, ticket: tables.Ticket) -> schemas.TicketOut:
    """Shape a ticket. Its field, counter and priority group come from the session's identity map
    when already loaded, so shaping many tickets costs few queries."""
    field = session.get(tables.ProcedureField, ticket.field_id)
    assert ticket.id is not None and field is not None and field.id is not None
    group = session.get(tables.PriorityGroup, ticket.priority_group_id) if ticket.priority_group_id else None
    return schemas.TicketOut(
        id=ticket.id,
        label=ticket.label,
        number=ticket.number,
        field=schemas.FieldBrief(id=field.id, code=field.code, name=field.name),
        priority_group=group.name if group is not None else None,
        state=ticket.state,
        service_day=ticket.service_day,
        issued_at=ticket.issued_at,
        counter_id=ticket.counter_id,
        counter_number=counter_number(session, ticket.counter_id),
        target_counter_id=ticket.target_counter_id,
        recall_count=ticket.recall_count,
        requeued=ticket.requeued,
        transfer_count=ticket.transfer_count,
        called_at=ticket.called_at,
        started_at=ticket.started_at,
        finished_at=ticket.finished_at,
    )


def counter_number(session: Session, counter_id: int | None) -> int | None:
    if counter_id is None:
        return None
    counter = session.get(tables.Counter, counter_id)
    return counter.number if counter is not None else None


def event_message(
    session: Session,
    event: tables.Event,
    ticket: tables.Ticket | None,
    queues: dict[int, schemas.FieldQueue],
) -> Message:
    """The live message for one event. Public: no names, no ticket codes, nothing personal."""
    message: Message = {
        "type": "event",
        "seq": event.seq,
        "centre_id": event.centre_id,
        "kind": event.kind,
        "at": event.at.isoformat(),
        "counter_id": event.counter_id,
        "counter_number": counter_number(session, event.counter_id),
        "field_id": event.field_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "data": event.data,
        "ticket": None,
        "queues": [q.model_dump(mode="json") for q in queues.values()],
    }
    if ticket is not None:
        message["ticket"] = {
            "id": ticket.id,
            "label": ticket.label,
            "number": ticket.number,
            "field_id": ticket.field_id,
            "state": ticket.state,
            "priority": ticket.priority_group_id is not None,
            "counter_id": ticket.counter_id,
            "counter_number": counter_number(session, ticket.counter_id),
            "target_counter_id": ticket.target_counter_id,
            "recall_count": ticket.recall_count,
        }
    return message


def centre_out(centre: tables.Centre) -> schemas.CentreOut:
    assert centre.id is not None
    return schemas.CentreOut.model_validate(centre, from_attributes=True)


def field_states(session: Session, centre: tables.Centre, now: datetime) -> list[schemas.FieldState]:
    assert centre.id is not None
    queues = queue_summaries(session, centre, now)
    day = today(centre, now)
    issued = dict(
        session.exec(
            select(tables.FieldDay.field_id, tables.FieldDay.issued_count)
            .join(tables.ProcedureField, col(tables.ProcedureField.id) == col(tables.FieldDay.field_id))
            .where(tables.ProcedureField.centre_id == centre.id, tables.FieldDay.service_day == day)
        ).all()
    )
    served = dict(
        session.exec(
            select(tables.Ticket.field_id, func.count())
            .where(
                tables.Ticket.centre_id == centre.id,
                tables.Ticket.service_day == day,
                tables.Ticket.state == model.TicketState.DONE.value,
            )
            .group_by(col(tables.Ticket.field_id))
        ).all()
    )
    engine_centre = centre_engine(centre)
    result = []
    for field in centre_fields(session, centre.id):
        assert field.id is not None
        engine_field = field_engine(field)
        issued_today = issued.get(field.id, 0)
        reason: str | None = None
        try:
            numbering.check_open(engine_centre, engine_field, now)
            numbering.next_number(engine_field, model.FieldDay(field.id, day, issued_today))
        except Conflict as refusal:
            reason = refusal.message
        q = queues[field.id]
        result.append(
            schemas.FieldState(
                id=field.id,
                code=field.code,
                name=field.name,
                prefix=field.prefix,
                number_start=field.number_start,
                number_end=field.number_end,
                display_order=field.display_order,
                active=field.active,
                waiting=q.waiting,
                waiting_priority=q.waiting_priority,
                open_counters=q.open_counters,
                wait_minutes=q.wait_minutes,
                longest_waiting_since=q.waiting_since,
                issued_today=issued_today,
                served_today=served.get(field.id, 0),
                remaining_today=max(numbering.capacity(engine_field) - issued_today, 0),
                taking_numbers=reason is None,
                closed_reason=reason,
            )
        )
    return result


def counter_out(session: Session, counter: tables.Counter, field_ids: list[int]) -> schemas.CounterOut:
    assert counter.id is not None
    officer = session.get(tables.Officer, counter.officer_id) if counter.officer_id else None
    current = session.get(tables.Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    return schemas.CounterOut(
        id=counter.id,
        number=counter.number,
        name=counter.name,
        state=counter.state,
        field_ids=field_ids,
        officer=schemas.OfficerPublic(id=officer.id, full_name=officer.full_name, phone=officer.phone)  # type: ignore[arg-type]
        if officer is not None
        else None,
        current=ticket_out(session, current) if current is not None else None,
        active=counter.active,
    )


# A centre snapshot's calls: the last RECENT_CALLS (what a board lists), and also every call of the
# last MISSED_CALLS_SECONDS, up to MAX_RECENT_CALLS. A screen back after a dropped network or a
# server restart announces from this list the calls it missed (display/model.py, board.js): with
# only the last ten, a screen away while more were made would skip the older ones in silence.
RECENT_CALLS = 10
MISSED_CALLS_SECONDS = 300
MAX_RECENT_CALLS = 500


def recent_calls(session: Session, centre_id: int, day_start: datetime, now: datetime) -> list[schemas.CallOut]:
    calls = (
        select(tables.Event, tables.Ticket.label)
        .join(tables.Ticket, col(tables.Ticket.id) == col(tables.Event.ticket_id))
        .where(
            tables.Event.centre_id == centre_id,
            col(tables.Event.kind).in_(["ticket.called", "ticket.recalled"]),
            tables.Event.at >= day_start,
        )
        .order_by(col(tables.Event.seq).desc())
    )
    since = now - timedelta(seconds=MISSED_CALLS_SECONDS)
    rows = session.exec(calls.where(tables.Event.at >= since).limit(MAX_RECENT_CALLS)).all()
    if len(rows) < RECENT_CALLS:
        rows = session.exec(calls.limit(RECENT_CALLS)).all()
    return [
        schemas.CallOut(
            seq=event.seq,
            kind=event.kind,
            at=event.at,
            ticket_label=label,
            field_id=event.field_id,
            counter_id=event.counter_id,
            counter_number=counter_number(session, event.counter_id),
        )
        for event, label in rows
    ]


def _day_start(centre: tables.Centre, now: datetime) -> datetime:
    local = numbering.local_time(now, centre.timezone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def centre_state(session: Session, centre_id: int, now: datetime) -> schemas.CentreState:
    centre = session.get(tables.Centre, centre_id)
    if centre is None:
        raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
    counters = [c for c in centre_counters(session, centre_id) if c.active]
    field_ids = counter_field_ids(session, [c.id for c in counters if c.id is not None])
    groups = session.exec(
        select(tables.PriorityGroup)
        .where(tables.PriorityGroup.centre_id == centre_id, col(tables.PriorityGroup.active).is_(True))
        .order_by(col(tables.PriorityGroup.display_order), col(tables.PriorityGroup.id))
    ).all()
    return schemas.CentreState(
        seq=centre.event_seq,
        service_day=today(centre, now),
        now=now,
        centre=centre_out(centre),
        fields=field_states(session, centre, now),
        counters=[counter_out(session, c, field_ids[c.id]) for c in counters if c.id is not None],  # type: ignore[index]
        priority_groups=[schemas.PriorityGroupOut.model_validate(g, from_attributes=True) for g in groups],
        recent_calls=recent_calls(session, centre_id, _day_start(centre, now), now),
    )


def counter_state(session: Session, counter_id: int, now: datetime) -> schemas.CounterStateOut:
    counter = session.get(tables.Counter, counter_id)
    if counter is None:
        raise NotFound("counter_not_found", "Không tìm thấy quầy.")
    centre = session.get(tables.Centre, counter.centre_id)
    assert centre is not None and centre.id is not None
    field_ids = counter_field_ids(session, [counter_id])[counter_id]
    rows = {t.id: t for t in waiting_tickets(session, centre.id, today(centre, now), field_ids, counter_id)}
    ordered = call_order(centre_engine(centre), counter_engine(counter, field_ids), [ticket_engine(t) for t in rows.values()])
    return schemas.CounterStateOut(
        seq=centre.event_seq,
        service_day=today(centre, now),
        counter=counter_out(session, counter, field_ids),
        waiting=[ticket_out(session, rows[t.id]) for t in ordered],
        fields=[f for f in field_states(session, centre, now) if f.id in field_ids],
        rating_scale=rating_scale_out(centre.rating_levels),
        rating_reasons=list(rating.REASONS),
    )


def rating_scale_out(scale: int) -> list[schemas.RatingLevelOut]:
    return [
        schemas.RatingLevelOut(level=lv.level, label=lv.label, satisfied=lv.satisfied, asks_reason=lv.asks_reason)
        for lv in rating.levels(scale)
    ]


STATE_TEXTS = {
    "waiting": "Đang chờ đến lượt",
    "called": "Mời đến quầy",
    "serving": "Đang được phục vụ",
    "done": "Đã hoàn thành",
    "no_show": "Đã qua lượt (vắng mặt)",
    "cancelled": "Đã hủy",
    "expired": "Đã hết hạn",
}


def public_status(session: Session, code: str, now: datetime) -> schemas.PublicTicketStatus:
    ticket = session.exec(select(tables.Ticket).where(tables.Ticket.code == code)).first()
    if ticket is None:
        raise NotFound("ticket_not_found", "Không tìm thấy phiếu số thứ tự này. Xin kiểm tra lại mã trên phiếu.")
    centre = session.get(tables.Centre, ticket.centre_id)
    field = session.get(tables.ProcedureField, ticket.field_id)
    assert centre is not None and field is not None and centre.id is not None
    ahead = 0
    minutes = 0
    if ticket.state == model.TicketState.WAITING.value:
        waiting = [ticket_engine(t) for t in waiting_tickets(session, centre.id, ticket.service_day, [ticket.field_id])]
        ahead = estimate.people_ahead(ticket_engine(ticket), waiting)
        queues = queue_summaries(session, centre, now, [field.id])  # type: ignore[list-item]
        per_person = estimate.seconds_per_person(field_engine(field), queues[field.id].open_counters)  # type: ignore[index]
        minutes = estimate.wait_minutes(ahead, per_person)
    serving = session.exec(
        select(tables.Ticket.label)
        .where(
            tables.Ticket.field_id == ticket.field_id,
            tables.Ticket.service_day == ticket.service_day,
            col(tables.Ticket.state).in_([model.TicketState.CALLED.value, model.TicketState.SERVING.value]),
        )
        .order_by(col(tables.Ticket.called_at).desc())
    ).all()
    return schemas.PublicTicketStatus(
        seq=centre.event_seq,
        centre_name=centre.name,
        label=ticket.label,
        field_name=field.name,
        priority=ticket.priority_group_id is not None,
        state=ticket.state,
        state_text=STATE_TEXTS[ticket.state],
        counter_number=counter_number(session, ticket.counter_id),
        people_ahead=ahead,
        wait_minutes=minutes,
        now_serving=list(serving),
        issued_at=ticket.issued_at,
        called_at=ticket.called_at,
    )
