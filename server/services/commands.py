"""Queue commands: issuing tickets and everything a counter does. One function per command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import bindparam
from sqlmodel import col, select

from server import schemas
from server.engine import limits, model
from server.engine import queue as engine
from server.security import new_ticket_code
from server.services import views
from server.services.context import Actor, AppContext, UnitOfWork, as_json, run_command
from server.services.errors import Conflict, Forbidden, NotFound, TooManyRequests
from server.storage import tables
from server.storage.convert import write_back

# --- issuing ------------------------------------------------------------------------------------

_RECENT_ISSUES = select(tables.Ticket.issued_at).where(
    tables.Ticket.issued_by_device_id == bindparam("device_id"), col(tables.Ticket.issued_at) > bindparam("since")
)


def _check_kiosk_rate(uow: UnitOfWork, ctx: AppContext, actor: Actor) -> None:
    """Refuse a device's ticket beyond its rate. Counted from its own tickets under the centre
    lock, so the limit is exact with any number of workers and survives a restart."""
    windows = [
        limits.Window(60, ctx.settings.kiosk_tickets_per_minute),
        limits.Window(15 * 60, ctx.settings.kiosk_tickets_per_15_minutes),
        limits.Window(60 * 60, ctx.settings.kiosk_tickets_per_hour),
    ]
    since = uow.now - timedelta(seconds=max(w.seconds for w in windows))
    recent = uow.session.exec(_RECENT_ISSUES, params={"device_id": actor.id, "since": since}).all()
    wait = limits.wait_before_next(recent, uow.now, windows)
    if wait > 0:
        raise TooManyRequests(
            "too_many_tickets",
            f"Máy lấy số vừa cấp nhiều số liên tiếp. Xin vui lòng chờ khoảng {limits.wait_text(wait)} rồi bấm lấy số lại.",
            wait,
        )


def issue_ticket(
    ctx: AppContext, actor: Actor, body: schemas.IssueTicketIn, idempotency_key: str | None
) -> schemas.IssuedTicketOut:
    if not (actor.kind == "device" and actor.role == "kiosk") and actor.kind != "officer":
        raise Forbidden("forbidden", "Chỉ máy lấy số hoặc cán bộ mới được cấp số thứ tự.")

    def run(uow: UnitOfWork) -> schemas.IssuedTicketOut:
        session = uow.session
        field_row = session.get(tables.ProcedureField, body.field_id)
        if field_row is None or (actor.centre_id is not None and field_row.centre_id != actor.centre_id):
            raise NotFound("field_not_found", "Không tìm thấy lĩnh vực này tại Trung tâm.")
        centre_row = uow.lock_centre(field_row.centre_id)
        uow.reread(field_row)
        if actor.kind == "device":
            _check_kiosk_rate(uow, ctx, actor)
        day = views.today(centre_row, uow.now)
        day_row = session.get(tables.FieldDay, (field_row.id, day))
        if day_row is None:
            day_row = tables.FieldDay(field_id=field_row.id, service_day=day, issued_count=0)  # type: ignore[arg-type]
            session.add(day_row)
        priority: model.PriorityGroup | None = None
        if body.priority_group_id is not None:
            group = session.get(tables.PriorityGroup, body.priority_group_id)
            if group is None or group.centre_id != centre_row.id:
                raise NotFound("priority_group_not_found", "Không tìm thấy nhóm ưu tiên này.")
            priority = model.PriorityGroup(id=group.id, centre_id=group.centre_id, name=group.name, active=group.active)  # type: ignore[arg-type]
        queue = views.queue_summaries(session, centre_row, uow.now, [field_row.id])[field_row.id]  # type: ignore[list-item,index]
        day_obj = model.FieldDay(field_id=day_row.field_id, service_day=day_row.service_day, issued_count=day_row.issued_count)
        issued = engine.issue(
            views.centre_engine(centre_row),
            views.field_engine(field_row),
            day_obj,
            priority,
            uow.now,
            new_ticket_code(),
            queue.waiting,
            queue.waiting_priority,
            queue.open_counters,
        )
        day_row.issued_count = day_obj.issued_count
        ticket_row = tables.Ticket(
            issue_field_id=field_row.id,  # type: ignore[arg-type]
            issued_by_device_id=actor.id if actor.kind == "device" else None,
            **{k: v for k, v in issued.ticket.__dict__.items() if k != "id"},
        )
        ticket_row.state = issued.ticket.state.value
        session.add(ticket_row)
        session.flush()
        uow.record(issued.event, actor, ticket_row)
        return schemas.IssuedTicketOut(
            ticket=views.ticket_out(session, ticket_row),
            centre_name=centre_row.name,
            people_ahead=issued.people_ahead,
            wait_minutes=issued.wait_minutes,
            code=ticket_row.code,
            status_url=f"{ctx.settings.public_base_url}/t/{ticket_row.code}",
        )

    return run_command(ctx, actor, idempotency_key, f"issue {as_json(body.model_dump())}", schemas.IssuedTicketOut, run)


# --- counter commands ---------------------------------------------------------------------------


class CounterCommand:
    """What every counter command loads: the counter (as row and engine object), its centre and,
    when it has one, its current ticket."""

    def __init__(self, uow: UnitOfWork, actor: Actor, counter_id: int) -> None:
        session = uow.session
        counter_row = session.get(tables.Counter, counter_id)
        if counter_row is None or (actor.centre_id is not None and counter_row.centre_id != actor.centre_id):
            raise NotFound("counter_not_found", "Không tìm thấy quầy.")
        if actor.kind != "officer":
            raise Forbidden("officer_required", "Chỉ cán bộ đăng nhập tại quầy mới thao tác được cho quầy.")
        if actor.counter_id != counter_id:
            taken_by = uow.session.get(tables.Officer, counter_row.officer_id) if counter_row.officer_id else None
            if taken_by is not None and taken_by.id != actor.id:
                raise Forbidden(
                    "counter_taken_over",
                    f"Quầy số {counter_row.number} đang do cán bộ {taken_by.full_name} đăng nhập. "
                    "Hãy đăng nhập lại nếu bạn cần làm việc tại quầy này.",
                )
            raise Forbidden(
                "not_signed_in_at_counter",
                f"Bạn chưa đăng nhập tại quầy số {counter_row.number}, nên không thể thao tác cho quầy này.",
            )
        self.uow = uow
        self.actor = actor
        self.centre_row = uow.lock_centre(counter_row.centre_id)
        uow.reread(counter_row)
        if counter_row.officer_id != actor.id:
            # Taken over between this request's sign-in check and its turn.
            raise Forbidden("counter_taken_over", f"Quầy số {counter_row.number} vừa được cán bộ khác đăng nhập.")
        self.counter_row = counter_row
        self.counter = views.counter_engine(counter_row, views.counter_field_ids(session, [counter_id])[counter_id])
        self.centre = views.centre_engine(self.centre_row)
        self.day = views.today(self.centre_row, uow.now)

    def ticket(self, ticket_id: int | None) -> tuple[tables.Ticket, model.Ticket]:
        """A ticket by id, or the counter's current ticket when `ticket_id` is None."""
        wanted = ticket_id if ticket_id is not None else self.counter.current_ticket_id
        if wanted is None:
            raise Conflict("no_current_ticket", f"Quầy số {self.counter.number} hiện không phục vụ số nào.")
        row = self.uow.session.get(tables.Ticket, wanted)
        if row is None or row.centre_id != self.centre.id:
            raise NotFound("ticket_not_found", "Không tìm thấy số thứ tự này.")
        return row, views.ticket_engine(row)

    def field(self, field_id: int) -> tuple[tables.ProcedureField, model.ProcedureField]:
        row = self.uow.session.get(tables.ProcedureField, field_id)
        if row is None or row.centre_id != self.centre.id:
            raise NotFound("field_not_found", "Không tìm thấy lĩnh vực này.")
        return row, views.field_engine(row)

    def save(self, event: model.Event, ticket: tuple[tables.Ticket, model.Ticket] | None = None) -> schemas.CounterCommandOut:
        write_back(self.counter, self.counter_row, skip=("field_ids",))
        ticket_row: tables.Ticket | None = None
        if ticket is not None:
            ticket_row, obj = ticket
            write_back(obj, ticket_row)
        self.uow.session.flush()
        self.uow.record(event, self.actor, ticket_row)
        return schemas.CounterCommandOut(
            counter=views.counter_out(self.uow.session, self.counter_row, self.counter.field_ids),
            ticket=views.ticket_out(self.uow.session, ticket_row) if ticket_row is not None else None,
        )


def _counter_command(
    ctx: AppContext,
    actor: Actor,
    counter_id: int,
    name: str,
    payload: object,
    idempotency_key: str | None,
    step: Callable[[CounterCommand], schemas.CounterCommandOut],
) -> schemas.CounterCommandOut:
    def run(uow: UnitOfWork) -> schemas.CounterCommandOut:
        return step(CounterCommand(uow, actor, counter_id))

    request = f"counter {counter_id} {name} {as_json(payload)}"
    return run_command(ctx, actor, idempotency_key, request, schemas.CounterCommandOut, run)


def call_next(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        rows = views.call_candidates(c.uow.session, c.centre.id, c.day, c.counter.id, c.counter.field_ids)
        objs = {row.id: views.ticket_engine(row) for row in rows}
        event = engine.call_next(c.centre, c.counter, list(objs.values()), c.uow.now)
        assert event.ticket is not None
        chosen = next(row for row in rows if row.id == event.ticket.id)
        return c.save(event, (chosen, objs[chosen.id]))

    return _counter_command(ctx, actor, counter_id, "call-next", None, idempotency_key, step)


def call_ticket(
    ctx: AppContext, actor: Actor, counter_id: int, body: schemas.CallTicketIn, idempotency_key: str | None
) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(body.ticket_id)
        return c.save(engine.call_ticket(c.counter, ticket[1], c.uow.now, c.day), ticket)

    return _counter_command(ctx, actor, counter_id, "call", body.model_dump(), idempotency_key, step)


def recall(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(None)
        return c.save(engine.recall(c.counter, ticket[1], c.uow.now), ticket)

    return _counter_command(ctx, actor, counter_id, "recall", None, idempotency_key, step)


def start_service(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(None)
        return c.save(engine.start(c.counter, ticket[1], c.uow.now), ticket)

    return _counter_command(ctx, actor, counter_id, "start", None, idempotency_key, step)


def finish(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(None)
        field_row, field = c.field(ticket[1].field_id)
        event = engine.finish(c.counter, ticket[1], field, c.uow.now)
        field_row.service_ewma_seconds = field.service_ewma_seconds
        return c.save(event, ticket)

    return _counter_command(ctx, actor, counter_id, "finish", None, idempotency_key, step)


def no_show(
    ctx: AppContext, actor: Actor, counter_id: int, body: schemas.NoShowIn, idempotency_key: str | None
) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(None)
        return c.save(engine.no_show(c.counter, ticket[1], body.requeue, c.uow.now), ticket)

    return _counter_command(ctx, actor, counter_id, "no-show", body.model_dump(), idempotency_key, step)


def transfer(
    ctx: AppContext, actor: Actor, counter_id: int, body: schemas.TransferIn, idempotency_key: str | None
) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(body.ticket_id)
        target_field = c.field(body.field_id)[1] if body.field_id is not None else None
        target_counter: model.Counter | None = None
        if body.counter_id is not None:
            row = c.uow.session.get(tables.Counter, body.counter_id)
            if row is None or row.centre_id != c.centre.id:
                raise NotFound("counter_not_found", "Không tìm thấy quầy cần chuyển đến.")
            target_counter = views.counter_engine(row, views.counter_field_ids(c.uow.session, [row.id])[row.id])  # type: ignore[index,list-item]
        return c.save(engine.transfer(c.counter, ticket[1], target_field, target_counter, c.uow.now), ticket)

    return _counter_command(ctx, actor, counter_id, "transfer", body.model_dump(), idempotency_key, step)


def cancel(
    ctx: AppContext, actor: Actor, counter_id: int, body: schemas.CancelIn, idempotency_key: str | None
) -> schemas.CounterCommandOut:
    def step(c: CounterCommand) -> schemas.CounterCommandOut:
        ticket = c.ticket(body.ticket_id)
        return c.save(engine.cancel(c.counter, ticket[1], c.uow.now), ticket)

    return _counter_command(ctx, actor, counter_id, "cancel", body.model_dump(), idempotency_key, step)


def pause(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.CounterCommandOut:
    return _counter_command(
        ctx, actor, counter_id, "pause", None, idempotency_key, lambda c: c.save(engine.pause(c.counter, c.uow.now))
    )


def resume(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.CounterCommandOut:
    return _counter_command(
        ctx, actor, counter_id, "resume", None, idempotency_key, lambda c: c.save(engine.resume(c.counter, c.uow.now))
    )
