"""The public ticket page behind a ticket's QR code (`/t/<code>`): a citizen follows their turn on a phone.

The page is rendered here with the ticket's current status, so it is useful before its script runs
(or on a phone whose browser never runs it); `static/ticket.js` then keeps it live over the websocket.
No sign-in and nothing personal: the code in the address is the only key, and it is written nowhere
in the page itself (the script reads it from the address).
"""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from server import schemas
from server.engine.numbering import local_time
from server.services import views
from server.services.context import AppContext
from server.services.errors import NotFound
from server.storage import tables
from server.web.pages import render

router = APIRouter(include_in_schema=False)

# Codes are secrets.token_urlsafe output and fit the column (32 characters); anything else is not
# a ticket and never reaches the database.
CODE_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,32}")

# The address is the key to one citizen's ticket: no shared cache may keep it, no search engine list it.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def label_size(label: str) -> str:
    """The number's type size class, so a prefixed or long label still fits a 360 px screen."""
    if len(label) <= 4:
        return "size-s"
    return "size-m" if len(label) <= 6 else "size-l"


def page_title(status: schemas.PublicTicketStatus) -> str:
    # The same words as ticket.js's pageTitle: a called ticket is named in the browser tab too.
    if status.state == "called" and status.counter_number is not None:
        return f"Mời đến Quầy số {status.counter_number} – Số {status.label}"
    return f"Số {status.label} – {status.state_text}"


def missing_page() -> HTMLResponse:
    """A friendly page for an unknown or malformed code: the same look, HTTP 404, nothing technical."""
    response = render("ticket-missing.html", status_code=404)
    response.headers.update(PRIVATE_HEADERS)
    return response


def _time(moment: datetime | None, timezone: str, pattern: str) -> str:
    return local_time(moment, timezone).strftime(pattern) if moment is not None else ""


@router.get("/t", response_class=HTMLResponse)
@router.get("/t/{code:path}", response_class=HTMLResponse)
def ticket_page(request: Request, code: str = "") -> HTMLResponse:
    """Phiếu số thứ tự: the status of the ticket whose QR code was scanned, kept live."""
    if not CODE_SHAPE.fullmatch(code):
        return missing_page()
    ctx: AppContext = request.app.state.ctx
    with ctx.read() as session:
        try:
            status = views.public_status(session, code, ctx.clock.now())
        except NotFound:
            return missing_page()
        # Shown in the centre's time zone, whatever the phone's own is set to.
        timezone = session.exec(
            select(tables.Centre.timezone)
            .join(tables.Ticket, col(tables.Centre.id) == col(tables.Ticket.centre_id))
            .where(tables.Ticket.code == code)
        ).one()
    called_at = status.called_at
    response = render(
        "ticket.html",
        title=page_title(status),
        timezone=timezone,
        state=status.state,
        priority="true" if status.priority else "false",
        next="true" if status.people_ahead == 0 else "false",
        serving="some" if status.now_serving else "none",
        centre_name=status.centre_name,
        field_name=status.field_name,
        label=status.label,
        label_size=label_size(status.label),
        state_text=status.state_text,
        counter_number=str(status.counter_number) if status.counter_number is not None else "",
        called_at=_time(called_at, timezone, "%H:%M"),
        called_hidden="" if called_at is not None else "hidden",
        people_ahead=str(status.people_ahead),
        wait_minutes=str(max(status.wait_minutes, 1)),
        now_serving=" · ".join(status.now_serving),
        issued_at=_time(status.issued_at, timezone, "%H:%M · %d/%m/%Y"),
    )
    response.headers.update(PRIVATE_HEADERS)
    return response
