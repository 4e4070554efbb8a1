"""Issuing tickets (kiosk) and reading them."""

from __future__ import annotations

from fastapi import APIRouter

from server import schemas
from server.api.common import ISSUE_REFUSALS, refusals
from server.api.deps import Ctx, CurrentActor, IdempotencyKey
from server.engine.estimate import order_key
from server.services import commands, views
from server.services.errors import NotFound
from server.storage import tables

router = APIRouter(tags=["tickets"])


@router.post("/tickets", status_code=201, response_model=schemas.IssuedTicketOut, responses=ISSUE_REFUSALS)
def issue_ticket(body: schemas.IssueTicketIn, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> schemas.IssuedTicketOut:
    """Take a number (Lấy số) in a field, optionally in a priority group. Send an Idempotency-Key so
    a retry after a timeout returns the same ticket instead of a second one."""
    return commands.issue_ticket(ctx, actor, body, key)


@router.get("/tickets/{ticket_id}", response_model=schemas.TicketOut, responses=refusals(401, 404, 422))
def get_ticket(ticket_id: int, ctx: Ctx, actor: CurrentActor) -> schemas.TicketOut:
    with ctx.read() as session:
        ticket = session.get(tables.Ticket, ticket_id)
        if ticket is None or (actor.centre_id is not None and ticket.centre_id != actor.centre_id):
            raise NotFound("ticket_not_found", "Không tìm thấy số thứ tự này.")
        return views.ticket_out(session, ticket)


@router.get("/public/tickets/{code}", response_model=schemas.PublicTicketStatus, responses=refusals(404, 422), tags=["public"])
def public_ticket(code: str, ctx: Ctx) -> schemas.PublicTicketStatus:
    """The status behind a ticket's QR code. No sign-in; the code is the only key."""
    with ctx.read() as session:
        return views.public_status(session, code, ctx.clock.now())


@router.get("/fields/{field_id}/queue", response_model=list[schemas.TicketOut], responses=refusals(401, 403, 404))
def field_queue(field_id: int, ctx: Ctx, actor: CurrentActor) -> list[schemas.TicketOut]:
    """Today's waiting tickets of a field, in the order a citizen sees them (priority, then time)."""
    if actor.kind != "officer":
        raise NotFound("field_not_found", "Không tìm thấy lĩnh vực này.")
    with ctx.read() as session:
        field = session.get(tables.ProcedureField, field_id)
        if field is None or (actor.centre_id is not None and field.centre_id != actor.centre_id):
            raise NotFound("field_not_found", "Không tìm thấy lĩnh vực này.")
        centre = session.get(tables.Centre, field.centre_id)
        assert centre is not None
        rows = views.waiting_tickets(session, field.centre_id, views.today(centre, ctx.clock.now()), [field_id])
        rows.sort(key=lambda t: order_key(views.ticket_engine(t)))
        return [views.ticket_out(session, t) for t in rows]


@router.get("/centres/{centre_id}/state", response_model=schemas.CentreState, responses=refusals(401, 404, 422))
def centre_state(centre_id: int, ctx: Ctx, actor: CurrentActor) -> schemas.CentreState:
    """What a kiosk or waiting-room screen shows (the same as the websocket snapshot)."""
    if actor.centre_id is not None and actor.centre_id != centre_id:
        raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
    with ctx.read() as session:
        return views.centre_state(session, centre_id, ctx.clock.now())
