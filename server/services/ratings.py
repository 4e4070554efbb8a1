"""Đánh giá mức độ hài lòng (the citizen's rating of a finished visit) and an officer's own
figures for today."""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from server import schemas
from server.engine import numbering
from server.engine import rating as engine
from server.services import views
from server.services.context import Actor, AppContext, UnitOfWork, as_json, run_command
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.storage import tables

_FINISHED_BY = (
    select(tables.Event.officer_id)
    .where(tables.Event.ticket_id == bindparam("ticket_id"), tables.Event.kind == "ticket.finished")
    .order_by(col(tables.Event.seq).desc())
    .limit(1)
)
_RATING_OF = select(tables.Rating.id).where(tables.Rating.ticket_id == bindparam("ticket_id"))
_NOT_A_RATER = ("forbidden", "Chỉ màn hình đánh giá của quầy hoặc cán bộ tại quầy mới gửi được đánh giá.")


def _require_may_rate(actor: Actor, counter_row: tables.Counter) -> None:
    """An officer signed in at the counter, or the counter's own rating tablet."""
    if actor.kind == "officer":
        if actor.counter_id != counter_row.id:
            raise Forbidden(
                "not_signed_in_at_counter",
                f"Bạn chưa đăng nhập tại quầy số {counter_row.number}, nên không thể gửi đánh giá cho quầy này.",
            )
        return
    if actor.role != "counter_panel":
        raise Forbidden(*_NOT_A_RATER)
    if actor.counter_id != counter_row.id:
        raise Forbidden("forbidden", f"Thiết bị này không được gắn với quầy số {counter_row.number}.")


def rate(
    ctx: AppContext, actor: Actor, counter_id: int, body: schemas.RatingIn, idempotency_key: str | None
) -> schemas.RatingOut:
    if actor.kind == "device" and actor.role != "counter_panel":
        # Refused before the write transaction: a kiosk or display has no business here at all.
        raise Forbidden(*_NOT_A_RATER)
    reason = body.reason.strip()

    def run(uow: UnitOfWork) -> schemas.RatingOut:
        session = uow.session
        counter_row = session.get(tables.Counter, counter_id)
        if counter_row is None or (actor.centre_id is not None and counter_row.centre_id != actor.centre_id):
            raise NotFound("counter_not_found", "Không tìm thấy quầy.")
        _require_may_rate(actor, counter_row)
        centre_row = uow.lock_centre(counter_row.centre_id)
        ticket_row = session.get(tables.Ticket, body.ticket_id)
        if ticket_row is None or ticket_row.centre_id != centre_row.id:
            raise NotFound("ticket_not_found", "Không tìm thấy số thứ tự này.")
        uow.reread(ticket_row)
        already = session.exec(_RATING_OF, params={"ticket_id": ticket_row.id}).first() is not None
        event = engine.rate(views.ticket_engine(ticket_row), counter_id, body.level, centre_row.rating_levels, already, uow.now)
        chosen = engine.level_of(centre_row.rating_levels, body.level)
        # The rating counts for whoever served the citizen, whichever device sent it.
        officer_id = session.exec(_FINISHED_BY, params={"ticket_id": ticket_row.id}).first()
        row = tables.Rating(
            ticket_id=ticket_row.id,  # type: ignore[arg-type]
            centre_id=centre_row.id,  # type: ignore[arg-type]
            field_id=ticket_row.field_id,
            counter_id=counter_id,
            officer_id=officer_id,
            level=chosen.level,
            scale=centre_row.rating_levels,
            reason=reason,
            created_at=uow.now,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            # Only possible if the centre lock were bypassed; still a clean refusal, not a 500.
            raise Conflict("already_rated", f"Số {ticket_row.label} đã được đánh giá. Xin cảm ơn ông/bà!") from None
        recorded = uow.record(event, actor, ticket_row)
        recorded.officer_id = officer_id
        return schemas.RatingOut(
            ticket_id=row.ticket_id,
            ticket_label=ticket_row.label,
            counter_id=counter_id,
            field_id=row.field_id,
            officer_id=officer_id,
            level=chosen.level,
            scale=row.scale,
            label=chosen.label,
            satisfied=chosen.satisfied,
            reason=reason,
            created_at=row.created_at,
        )

    request = f"rating {counter_id} {as_json({**body.model_dump(), 'reason': reason})}"
    return run_command(ctx, actor, idempotency_key, request, schemas.RatingOut, run)


# --- the officer's own day ------------------------------------------------------------------------

_TODAY_KINDS = ("ticket.finished", "ticket.no_show", "ticket.transferred", "ticket.rated")
_MY_EVENTS = select(tables.Event.kind, tables.Event.data).where(
    tables.Event.officer_id == bindparam("officer_id"),
    col(tables.Event.kind).in_(_TODAY_KINDS),
    tables.Event.at >= bindparam("start"),
    tables.Event.at < bindparam("end"),
)


def officer_today(ctx: AppContext, actor: Actor) -> schemas.OfficerTodayOut:
    """What the officer did today, counted from the event log (the record), not from tickets,
    whose state moves on after the officer is done with them."""
    if actor.kind != "officer":
        raise Forbidden("officer_required", "Thao tác này cần cán bộ đăng nhập.")
    now = ctx.clock.now()
    with ctx.read() as session:
        centre = session.get(tables.Centre, actor.centre_id) if actor.centre_id is not None else None
        timezone = centre.timezone if centre is not None else ctx.settings.timezone
        scale = centre.rating_levels if centre is not None else engine.DEFAULT_SCALE
        start = numbering.local_time(now, timezone).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = session.exec(_MY_EVENTS, params={"officer_id": actor.id, "start": start, "end": start + timedelta(days=1)}).all()
    served = no_shows = transferred = rated = satisfied = 0
    service_seconds: list[float] = []
    by_label: Tally[str] = Tally()
    for kind, data in rows:
        if kind == "ticket.finished":
            served += 1
            if isinstance(data.get("service_seconds"), int | float):
                service_seconds.append(float(data["service_seconds"]))
        elif kind == "ticket.no_show":
            no_shows += 0 if data.get("requeued") else 1
        elif kind == "ticket.transferred":
            transferred += 1
        else:
            rated += 1
            satisfied += 1 if data.get("satisfied") else 0
            # By label, so a rating given before the centre changed its scale still lands on the
            # same words where the current scale has them.
            with contextlib.suppress(KeyError, TypeError, ValueError, Invalid):
                by_label[engine.level_of(int(data["scale"]), int(data["level"])).label] += 1
    return schemas.OfficerTodayOut(
        service_day=start.date(),
        served=served,
        no_shows=no_shows,
        transferred=transferred,
        average_service_seconds=round(sum(service_seconds) / len(service_seconds), 1) if service_seconds else None,
        rated=rated,
        satisfied=satisfied,
        satisfied_share=satisfied / rated if rated else None,
        ratings=[schemas.RatingCount(level=lv.level, label=lv.label, count=by_label[lv.label]) for lv in engine.levels(scale)],
    )
