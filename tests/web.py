"""Browser fixtures for the web pages: Debian's chromium driven by Playwright, never a downloaded
browser. conftest.py loads this module as a plugin, so every test module can ask for `browser` and `browse`."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, Request, ViewportSize, sync_playwright

from tests.conftest import ARTIFACTS, Live

CHROMIUM = Path(os.environ.get("HANGDOI_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # Date inputs and number formats as a Vietnamese browser shows them (dd/mm/yyyy).
    "--lang=vi-VN",
    # A TV browser is set to play sound unprompted; the board page still offers a button for those that are not.
    "--autoplay-policy=no-user-gesture-required",
]
PHONE: ViewportSize = {"width": 360, "height": 760}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
TV: ViewportSize = {"width": 1920, "height": 1080}
PORTRAIT: ViewportSize = {"width": 800, "height": 1280}
LANDSCAPE: ViewportSize = {"width": 1280, "height": 800}

# browse(path, viewport=DESKTOP) -> a page opened at live.base_url + path in a fresh context.
Browse = Callable[..., Page]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"no chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browse(browser: Browser, live: Live) -> Iterator[Browse]:
    """Opens a page of the live server in a fresh browser context (fresh storage). After the test,
    checks that no page fetched anything from anywhere but this server (no CDN, no font service)."""
    contexts: list[BrowserContext] = []
    outside: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith((live.base_url, live.base_url.replace("http", "ws", 1), "data:", "blob:")):
            outside.append(request.url)

    def opener(path: str, viewport: ViewportSize = DESKTOP, accept_downloads: bool = False) -> Page:
        context = browser.new_context(
            viewport=viewport,
            device_scale_factor=1,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            accept_downloads=accept_downloads,
        )
        contexts.append(context)
        page = context.new_page()
        page.on("request", watch)
        page.goto(f"{live.base_url}{path}")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert outside == []


def shot(page: Page, name: str, full_page: bool = False) -> Path:
    """Saves what the page shows to tests/artifacts/<name>.png, to be looked at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def free_port() -> int:
    """A port nothing listens on now, for a server that will be stopped and started on it again."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def serve_on(app: FastAPI, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """A real server on a given port: a page's reconnect tests restart it on the same address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    return server, thread
