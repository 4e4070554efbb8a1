"""Shared fixtures: a migrated demo database (made once, copied per test) and a real uvicorn
server on 127.0.0.1 serving it, with a clock the tests can move."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from websockets.sync.client import ClientConnection, connect

from server.app import create_app
from server.cli import WS_MAX_MESSAGE_BYTES
from server.clock import SettableClock
from server.config import Settings
from server.demo import DEMO_PASSWORD, create_demo
from server.services.auth import create_officer
from server.services.context import AppContext
from server.storage.database import make_engine
from server.storage.migrate import upgrade

# The browser fixtures (browser, browse) for the web pages' tests.
pytest_plugins = ["tests.web"]

# Qt tests draw offscreen: no display server needed, the same on a laptop and in CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ARTIFACTS = Path(__file__).parent / "artifacts"

# Monday 23 November 2026, 08:30 in Hà Nội.
MONDAY_0830 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
PROVINCE_ADMIN = ("admin", "tinh-admin-2026")

# Demo ids (created in this order by server.demo).
HO_TICH, CHUNG_THUC, DAT_DAI = 1, 2, 3
NGUOI_CAO_TUOI = 1


POSTGRES_URL = os.environ.get("HANGDOI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run the module's server tests on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "postgresql: run the module's server tests on PostgreSQL only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        if marked("both_databases"):
            backends = ["sqlite", "postgresql"]
        else:
            backends = ["postgresql"] if marked("postgresql") else ["sqlite"]
        metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Template:
    """A migrated database holding the demo centre and a province administrator."""

    url: str
    devices: dict[str, str]


def seed(url: str) -> dict[str, str]:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        demo = create_demo(session)
        create_officer(session, None, PROVINCE_ADMIN[0], "Quản trị cấp tỉnh", "admin", PROVINCE_ADMIN[1])
        session.commit()
    engine.dispose()  # on SQLite the last connection closing folds the WAL into the file
    return demo.devices


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'hangdoi.sqlite3'}"
    return Template(url, seed(url))


def _postgres_admin() -> Engine:
    """A connection to the PostgreSQL server outside any test database (to create and drop them)."""
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc.orig})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(f"{reason}; set HANGDOI_TEST_POSTGRES_URL or run deploy/dev/run-tests.sh, which starts one")
    return engine


def _with_database(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[Template]:
    admin = _postgres_admin()
    name = f"hangdoi_template_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_database(name)
    try:
        yield Template(url, seed(url))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Template]:
    """A fresh copy of the seeded template for one test."""
    if backend == "sqlite":
        template: Template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hangdoi.sqlite3"
        shutil.copy(make_url(template.url).database or "", path)
        yield Template(f"sqlite:///{path}", template.devices)
        return
    template = request.getfixturevalue("postgres_template")
    name = f"hangdoi_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template.url).database}"'))
    try:
        yield Template(_with_database(name), template.devices)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Live:
    """A running server and handy clients for it."""

    def __init__(self, app: FastAPI, port: int, clock: SettableClock, devices: dict[str, str]) -> None:
        self.app = app
        self.ctx: AppContext = app.state.ctx
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/api/v1/ws"
        self.clock = clock
        self.devices = devices
        self._clients: list[httpx.Client] = []

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=f"{self.base_url}/api/v1", headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def kiosk(self) -> httpx.Client:
        return self.client(self.devices["kiosk"])

    def login(self, username: str, counter_id: int | None = None, password: str = DEMO_PASSWORD) -> str:
        body: dict[str, Any] = {"username": username, "password": password}
        if counter_id is not None:
            body["counter_id"] = counter_id
        answer = self.client().post("/auth/login", json=body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def officer(self, username: str, counter_id: int | None = None) -> httpx.Client:
        return self.client(self.login(username, counter_id))

    def admin(self) -> httpx.Client:
        return self.officer("quantri")

    def province_admin(self) -> httpx.Client:
        return self.client(self.login(PROVINCE_ADMIN[0], password=PROVINCE_ADMIN[1]))

    def issue(self, field_id: int = HO_TICH, priority_group_id: int | None = None) -> dict[str, Any]:
        answer = self.kiosk().post("/tickets", json={"field_id": field_id, "priority_group_id": priority_group_id})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def subscribe(self, scope: str = "centre", token: str | None = None, **extra: Any) -> tuple[ClientConnection, dict[str, Any]]:
        ws = connect(self.ws_url, open_timeout=10).__enter__()
        if scope != "ticket" and token is None:
            token = self.devices["display"]
        ws.send(json.dumps({"type": "subscribe", "scope": scope, "token": token, **extra}))
        snapshot = receive(ws)
        assert snapshot["type"] == "snapshot", snapshot
        return ws, snapshot

    def close(self) -> None:
        for client in self._clients:
            client.close()


def receive(ws: ClientConnection, timeout: float = 5.0, skip_pings: bool = True) -> dict[str, Any]:
    """The next message, skipping heartbeats."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if skip_pings and message.get("type") in ("ping", "pong"):
            continue
        return message


def nothing_more(ws: ClientConnection, wait: float = 0.3) -> bool:
    try:
        message = receive(ws, timeout=wait)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected message: {message}")


def start_server(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", ws_max_size=WS_MAX_MESSAGE_BYTES, ws_per_message_deflate=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return server, thread, port


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(MONDAY_0830)


def make_settings(tmp_path: Path, database: Template, **overrides: Any) -> Settings:
    """The test server's settings; a module changes some by overriding the `settings` fixture."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": database.url,
        "public_base_url": "https://hangdoi.example.vn",
        "heartbeat_seconds": 15,
        # Tests issue many tickets with one kiosk token at one frozen instant; the kiosk's rate
        # limit is tested on its own (tests/test_abuse.py).
        "kiosk_tickets_per_minute": 100_000,
        "kiosk_tickets_per_15_minutes": 100_000,
        "kiosk_tickets_per_hour": 100_000,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database: Template) -> Settings:
    return make_settings(tmp_path, database)


@pytest.fixture
def live(settings: Settings, clock: SettableClock, database: Template) -> Iterator[Live]:
    app = create_app(settings, clock)
    server, thread, port = start_server(app)
    helper = Live(app, port, clock, database.devices)
    try:
        yield helper
    finally:
        helper.close()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def fonts(qapp: Any) -> str:
    """The bundled font, so screenshots show Vietnamese text rather than empty boxes."""
    from client.theme import install_fonts

    return install_fonts(qapp)


def screenshot(widget: Any, name: str) -> Path:
    """Saves what a widget shows to tests/artifacts/<name>.png, to be looked at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert widget.grab().save(str(path)), path
    return path
