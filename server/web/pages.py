"""The web pages and their static files. Everything a page needs, fonts included, comes from this
server: a centre's LAN may have no internet, and nothing should be fetched from outside.

Pages are plain HTML files in `static/` with `{{name}}` placeholders, filled here; their scripts are
plain JavaScript with no build step. `static/live.js` is the one live connection every page uses.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from server import __version__

STATIC = Path(__file__).parent / "static"

# The pages talk only to this server; a strict policy also proves no CDN slipped in.
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def fonts_dir() -> Path:
    """The fonts the Qt apps bundle (client/fonts), shared rather than copied."""
    return Path(str(files("client") / "fonts"))


@cache
def _template(name: str) -> str:
    # The version in the asset links makes a browser fetch new scripts after an upgrade.
    return (STATIC / name).read_text(encoding="utf-8").replace("{{version}}", __version__)


def render(name: str, status_code: int = 200, **values: str) -> HTMLResponse:
    """The page `static/<name>` with each `{{key}}` replaced by its value, HTML-escaped."""
    text = _template(name)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value))
    return HTMLResponse(text, status_code=status_code, headers=SECURITY_HEADERS)


def install(app: FastAPI) -> None:
    # Imported here: the page modules import `render` from this one.
    from server.web import admin_pages, board_page, rating_page, ticket_page

    for module in (rating_page, ticket_page, board_page, admin_pages):
        app.include_router(module.router)
    # The more specific mount first: Starlette takes the first that matches.
    app.mount("/static/fonts", StaticFiles(directory=fonts_dir()), name="fonts")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
