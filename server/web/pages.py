"""The rating page (`/rating`) and its static files. Everything it needs, fonts included, comes
from this server: a centre's LAN may have no internet, and nothing should be fetched from outside."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from server import __version__

STATIC = Path(__file__).parent / "static"

# The page talks only to this server; a strict policy also proves no CDN slipped in.
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


def fonts_dir() -> Path:
    """The fonts the Qt apps bundle (client/fonts), shared rather than copied."""
    return Path(str(files("client") / "fonts"))


@cache
def _rating_html() -> str:
    # The version in the asset links makes a tablet fetch new scripts after an upgrade.
    return (STATIC / "rating.html").read_text(encoding="utf-8").replace("{{version}}", __version__)


@router.get("/rating", response_class=HTMLResponse)
def rating_page() -> HTMLResponse:
    """Đánh giá mức độ hài lòng: open as /rating#token=<the counter panel's device token>."""
    return HTMLResponse(_rating_html(), headers=SECURITY_HEADERS)


def install(app: FastAPI) -> None:
    app.include_router(router)
    # The more specific mount first: Starlette takes the first that matches.
    app.mount("/static/fonts", StaticFiles(directory=fonts_dir()), name="fonts")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
