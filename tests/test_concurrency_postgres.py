"""Province scale, for real: `hangdoi server --workers 4` processes on the real PostgreSQL, hammered
from threads. Numbers and calls stay exactly-once across workers, and a screen connected to one
worker or server receives every event made through the others, in order, with no gap."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select
from websockets.sync.client import ClientConnection, connect

from bench._server import UNLIMITED_KIOSK, Server
from server.demo import DEMO_PASSWORD
from server.storage import tables
from server.storage.database import make_engine
from tests.conftest import Template
from tests.test_concurrency import call_until_empty

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

WORKERS = 4
ISSUERS = 16
TICKETS_PER_ISSUER = 500
ISSUE_FIELDS = [1, 2, 3, 4]
COUNTERS = 8
CALL_FIELDS = [5, 6]


@contextmanager
def server_process(database: Template, data_dir: Path, workers: int) -> Iterator[Server]:
    """`hangdoi server --workers N` on the test's own PostgreSQL database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **_clean_environment(),
        "HANGDOI_DATA_DIR": str(data_dir),
        "HANGDOI_DATABASE_URL": database.url,
        "HANGDOI_LOG_LEVEL": "warning",
        **UNLIMITED_KIOSK,
        # PostgreSQL allows 100 connections here: 4 workers x (8 + 4 + 1 listener) leaves room.
        "HANGDOI_DB_POOL_SIZE": "8",
        "HANGDOI_DB_POOL_OVERFLOW": "4",
    }
    server = Server(data_dir, env, {"devices": database.devices, "password": DEMO_PASSWORD}, workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HANGDOI_")}


def api(server: Server, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{server.base_url}/api/v1", headers=headers, timeout=60)


def login(server: Server, username: str, counter_id: int | None = None) -> str:
    with api(server) as client:
        answer = client.post("/auth/login", json={"username": username, "password": DEMO_PASSWORD, "counter_id": counter_id})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


class Screen:
    """A waiting-room screen's websocket, read by its own thread as fast as events come."""

    def __init__(self, server: Server, token: str) -> None:
        self.ws: ClientConnection = connect(server.ws_url, open_timeout=10).__enter__()
        self.ws.send(json.dumps({"type": "subscribe", "scope": "centre", "token": token}))
        snapshot = json.loads(self.ws.recv(timeout=10))
        assert snapshot["type"] == "snapshot", snapshot
        self.start_seq = int(snapshot["seq"])
        self.messages: list[dict[str, Any]] = []
        self._enough: Callable[[list[dict[str, Any]]], bool] = lambda _: False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while not self._done.is_set():
                message = json.loads(self.ws.recv(timeout=120))
                if message["type"] == "ping":
                    self.ws.send('{"type":"pong"}')
                    continue
                self.messages.append(message)
                if message["type"] != "event" or self._enough(self.messages):
                    self._done.set()
        except Exception as error:  # the test reads what arrived; a timeout or close ends it
            if not self._done.is_set():
                self.messages.append({"type": "reader-stopped", "error": repr(error)})
                self._done.set()

    def wait_for(self, enough: Callable[[list[dict[str, Any]]], bool], timeout: float = 180) -> list[dict[str, Any]]:
        self._enough = enough
        if enough(self.messages):
            self._done.set()
        self._done.wait(timeout)
        self._done.set()
        self.ws.close()
        self._thread.join(5)
        return self.messages


def finished(messages: list[dict[str, Any]]) -> int:
    return sum(m.get("kind") == "ticket.finished" for m in messages)


def assert_in_order_without_gap(screen: Screen, messages: list[dict[str, Any]], count: int) -> None:
    assert all(m["type"] == "event" for m in messages), [m for m in messages if m["type"] != "event"][:3]
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(screen.start_seq + 1, screen.start_seq + 1 + count)), "events out of order or missing"


def test_sixteen_kiosks_on_four_workers_never_share_or_skip_a_number(database: Template, tmp_path: Path) -> None:
    with server_process(database, tmp_path / "a", WORKERS) as server:
        with api(server, login(server, "quantri")) as admin:
            # 8,000 tickets over four fields: ranges of 3,000 numbers each.
            for field_id in ISSUE_FIELDS:
                first = field_id * 10000 + 1
                answer = admin.patch(f"/admin/fields/{field_id}", json={"number_start": first, "number_end": first + 2999})
                assert answer.status_code == 200, answer.text
        # Screens on whichever workers the kernel gives them: each must see all 8,000 events.
        screens = [Screen(server, database.devices["display"]) for _ in range(4)]
        start = threading.Barrier(ISSUERS)

        def issuer(index: int) -> list[tuple[int, int]]:
            got = []
            with api(server, database.devices["kiosk"]) as kiosk:
                start.wait()
                for i in range(TICKETS_PER_ISSUER):
                    field_id = ISSUE_FIELDS[(index + i) % len(ISSUE_FIELDS)]
                    answer = kiosk.post("/tickets", json={"field_id": field_id}, headers={"Idempotency-Key": str(uuid.uuid4())})
                    assert answer.status_code == 201, answer.text
                    got.append((field_id, answer.json()["ticket"]["number"]))
            return got

        with ThreadPoolExecutor(ISSUERS) as pool:
            results = [t for batch in pool.map(issuer, range(ISSUERS)) for t in batch]
        total = ISSUERS * TICKETS_PER_ISSUER
        received = [screen.wait_for(lambda messages: len(messages) >= total) for screen in screens]

    assert len(results) == total
    per_field = total // len(ISSUE_FIELDS)
    for field_id in ISSUE_FIELDS:
        numbers = sorted(n for f, n in results if f == field_id)
        first = field_id * 10000 + 1
        assert numbers == list(range(first, first + per_field)), f"field {field_id}: duplicates or gaps"
    engine = make_engine(database.url)
    with Session(engine) as session:
        rows = session.exec(select(tables.Ticket.issue_field_id, tables.Ticket.number)).all()
        assert len(rows) == len(set(rows)) == total
        seqs = session.exec(select(tables.Event.seq).order_by(col(tables.Event.seq))).all()
        assert seqs == list(range(1, len(seqs) + 1)), "event sequence numbers must have no gap"
    engine.dispose()
    for screen, messages in zip(screens, received, strict=True):
        assert_in_order_without_gap(screen, messages, total)
        assert {m["ticket"]["number"] for m in messages} == {n for _, n in results}


def test_eight_counters_on_four_workers_never_call_the_same_ticket(database: Template, tmp_path: Path) -> None:
    with server_process(database, tmp_path / "a", WORKERS) as server:
        usernames = {1: "lan.nt", 2: "hung.tv", 3: "mai.lt", 4: "duc.pm", 5: "huong.vt"}
        with api(server, login(server, "quantri")) as admin:
            for number in range(6, COUNTERS + 1):
                created = admin.post("/admin/counters", json={"number": number, "field_ids": CALL_FIELDS})
                assert created.status_code == 201, created.text
                username = f"canbo{number}"
                officer = {"username": username, "full_name": f"Cán bộ quầy {number}", "password": DEMO_PASSWORD}
                assert admin.post("/admin/officers", json=officer).status_code == 201
                usernames[created.json()["id"]] = username
            for counter_id in range(1, 6):
                answer = admin.patch(f"/admin/counters/{counter_id}", json={"field_ids": CALL_FIELDS})
                assert answer.status_code == 200, answer.text
        with api(server, database.devices["kiosk"]) as kiosk:
            issued = [kiosk.post("/tickets", json={"field_id": CALL_FIELDS[i % 2]}).json()["ticket"]["id"] for i in range(480)]
        tokens = {counter_id: login(server, username, counter_id) for counter_id, username in usernames.items()}
        assert len(tokens) == COUNTERS
        screen = Screen(server, database.devices["display"])
        start = threading.Barrier(COUNTERS)

        def counter(counter_id: int) -> list[int]:
            with api(server, tokens[counter_id]) as officer:
                start.wait()
                return call_until_empty(officer, counter_id)

        with ThreadPoolExecutor(COUNTERS) as pool:
            calls = [list(batch) for batch in pool.map(counter, tokens)]
        messages = screen.wait_for(lambda got: finished(got) >= len(issued))

    everything = [t for batch in calls for t in batch]
    assert sorted(everything) == sorted(issued), "every ticket called exactly once"
    assert all(len(batch) > 0 for batch in calls), "every counter got work"
    engine = make_engine(database.url)
    with Session(engine) as session:
        called_events = session.exec(
            select(tables.Event.ticket_id).where(tables.Event.kind == "ticket.called", col(tables.Event.ticket_id).in_(issued))
        ).all()
        assert Tally(called_events) == Tally(issued)
    engine.dispose()
    assert_in_order_without_gap(screen, messages, len(messages))
    assert Tally(m["ticket"]["id"] for m in messages if m["kind"] == "ticket.called") == Tally(issued)


def test_a_screen_on_one_server_sees_every_event_made_through_another(database: Template, tmp_path: Path) -> None:
    """Two server processes (as on two machines) on one database: the screen is on A, the kiosk
    and the counters use B and a third process C with two workers."""
    with (
        server_process(database, tmp_path / "a", 1) as a,
        server_process(database, tmp_path / "b", 1) as b,
        server_process(database, tmp_path / "c", 2) as c,
    ):
        screen = Screen(a, database.devices["display"])
        with api(b, database.devices["kiosk"]) as kiosk_b, api(c, database.devices["kiosk"]) as kiosk_c:
            issued = [(kiosk_b if i % 2 else kiosk_c).post("/tickets", json={"field_id": 1}).json()["ticket"] for i in range(40)]
        with api(b, login(b, "lan.nt", 1)) as officer:
            for _ in range(10):
                assert officer.post("/counters/1/call-next").status_code == 200
                assert officer.post("/counters/1/finish").status_code == 200
        messages = screen.wait_for(lambda got: finished(got) >= 10)

    assert_in_order_without_gap(screen, messages, len(messages))
    assert [m["ticket"]["id"] for m in messages[:40]] == [t["id"] for t in issued]
    calls = [m["kind"] for m in messages[40:] if m["kind"].startswith("ticket.")]
    assert calls == ["ticket.called", "ticket.finished"] * 10
