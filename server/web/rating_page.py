"""The rating tablet at a counter (`/rating`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from server.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/rating", response_class=HTMLResponse)
def rating_page() -> HTMLResponse:
    """Đánh giá mức độ hài lòng: open as /rating#token=<the counter panel's device token>."""
    return render("rating.html")
