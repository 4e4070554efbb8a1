"""A centre's service day: when its numbering moves on to a new local day.

The move happens inside whichever transaction locks the centre first on the new day: a kiosk's
first ticket, an officer's first call, or the server's own check a few seconds after local
midnight (`start_due_days`). Doing it under the centre lock makes it exactly-once, however many
workers and servers share the database, and a server that was off overnight catches up on its
first command.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import col, select

from server.engine import model, numbering
from server.engine import queue as engine
from server.services import views
from server.storage import tables
from server.storage.convert import write_back

if TYPE_CHECKING:
    from server.services.context import AppContext, UnitOfWork

log = logging.getLogger(__name__)

OPEN_STATES = [model.TicketState.WAITING.value, model.TicketState.CALLED.value, model.TicketState.SERVING.value]


def start_day_if_due(uow: UnitOfWork, centre: tables.Centre) -> None:
    """Called with the centre locked. On a new local day: close the tickets of earlier days that
    are still open as expired, free their counters, and record day.started. A clock that went
    back (a corrected PC clock) never moves the day back."""
    today = views.today(centre, uow.now)
    if centre.service_day is not None and centre.service_day >= today:
        return
    session = uow.session
    rows = session.exec(
        select(tables.Ticket).where(
            tables.Ticket.centre_id == centre.id,
            col(tables.Ticket.service_day) < today,
            col(tables.Ticket.state).in_(OPEN_STATES),
        )
    ).all()
    first_day = centre.service_day is None
    centre.service_day = today
    if first_day and not rows:
        return  # a new centre (or the first start after the upgrade): nothing to tell the screens
    counter_rows = views.centre_counters(session, centre.id)  # type: ignore[arg-type]
    counters = [views.counter_engine(row, []) for row in counter_rows]
    tickets = {row.id: (row, views.ticket_engine(row)) for row in rows}
    events = engine.roll_over([obj for _, obj in tickets.values()], counters, today, uow.now)
    for counter, row in zip(counters, counter_rows, strict=True):
        write_back(counter, row, skip=("field_ids",))
    for row, obj in tickets.values():
        write_back(obj, row)
    session.flush()
    for event in events:
        ticket_row = tickets[event.ticket.id][0] if event.ticket is not None else None
        uow.record(event, None, ticket_row)


def start_due_days(ctx: AppContext) -> int:
    """Start the new day of every centre whose local midnight has passed, so screens left on
    overnight are told even if nobody takes a number; returns how many centres moved on."""
    now = ctx.clock.now()
    with ctx.read() as session:
        centres = session.exec(select(tables.Centre.id, tables.Centre.timezone, tables.Centre.service_day)).all()
    due = [centre_id for centre_id, timezone, day in centres if day is None or day < numbering.service_day(now, timezone)]
    started = 0
    for centre_id in due:
        try:
            with ctx.unit_of_work() as uow:
                uow.lock_centre(centre_id)  # starts the day
                uow.commit()
            started += 1
        except Exception:  # one centre's trouble must not keep the others in yesterday
            log.exception("could not start the new service day of centre %s", centre_id)
    return started
