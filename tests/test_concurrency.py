"""Concurrency against a real server process on a real SQLite file: numbers and calls are
exactly-once however many kiosks and counters press at the same instant."""

from __future__ import annotations

import threading
import uuid
from collections import Counter as Tally
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session, col, select

from bench._server import Server, running_server
from server.storage import tables
from server.storage.database import make_engine

pytestmark = pytest.mark.slow

ISSUERS = 8
TICKETS_PER_ISSUER = 250
FIELDS = [1, 2, 3, 4]  # Hộ tịch 1001…, Chứng thực 2001…, Đất đai 3001…, Xây dựng 4001…


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server() as running:
        yield running


def client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def database(server: Server) -> Session:
    return Session(make_engine(f"sqlite:///{server.data_dir / 'hangdoi.sqlite3'}"))


def login(server: Server, username: str, counter_id: int | None = None) -> str:
    body = {"username": username, "password": server.password, "counter_id": counter_id}
    answer = httpx.post(f"{server.base_url}/api/v1/auth/login", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_concurrent_kiosks_never_share_or_skip_a_number(server: Server) -> None:
    start = threading.Barrier(ISSUERS)

    def issuer(index: int) -> list[tuple[int, int]]:
        got = []
        with client(server, server.kiosk_token) as kiosk:
            start.wait()
            for i in range(TICKETS_PER_ISSUER):
                field_id = FIELDS[(index + i) % len(FIELDS)]
                answer = kiosk.post("/tickets", json={"field_id": field_id}, headers={"Idempotency-Key": str(uuid.uuid4())})
                assert answer.status_code == 201, answer.text
                got.append((field_id, answer.json()["ticket"]["number"]))
        return got

    with ThreadPoolExecutor(ISSUERS) as pool:
        results = [t for batch in pool.map(issuer, range(ISSUERS)) for t in batch]

    assert len(results) == ISSUERS * TICKETS_PER_ISSUER
    per_field = ISSUERS * TICKETS_PER_ISSUER // len(FIELDS)
    for field_id in FIELDS:
        numbers = sorted(n for f, n in results if f == field_id)
        first = field_id * 1000 + 1
        assert numbers == list(range(first, first + per_field)), f"field {field_id}: duplicates or gaps"
    with database(server) as session:
        rows = session.exec(select(tables.Ticket.issue_field_id, tables.Ticket.number)).all()
        assert len(rows) == len(set(rows)) == len(results)
        seqs = session.exec(select(tables.Event.seq).order_by(col(tables.Event.seq))).all()
        assert seqs == list(range(1, len(seqs) + 1)), "event sequence numbers must have no gap"


def call_until_empty(officer: httpx.Client, counter_id: int) -> list[int]:
    """An officer calling and finishing as fast as the server answers, until the queue is empty:
    the ids of the tickets this counter called."""
    called = []
    while True:
        answer = officer.post(f"/counters/{counter_id}/call-next", headers={"Idempotency-Key": str(uuid.uuid4())})
        if answer.status_code == 409 and answer.json()["error"]["code"] == "queue_empty":
            return called
        assert answer.status_code == 200, answer.text
        assert answer.json()["ticket"]["counter_id"] == counter_id
        called.append(answer.json()["ticket"]["id"])
        assert officer.post(f"/counters/{counter_id}/finish").status_code == 200


def test_concurrent_counters_never_call_the_same_ticket(server: Server) -> None:
    admin = client(server, login(server, "quantri"))
    # Four counters competing for the same two fields.
    for counter_id in (1, 2, 3, 4):
        answer = admin.patch(f"/admin/counters/{counter_id}", json={"field_ids": [5, 6]})
        assert answer.status_code == 200, answer.text
    with client(server, server.kiosk_token) as kiosk:
        issued = [kiosk.post("/tickets", json={"field_id": 5 + i % 2}).json()["ticket"]["id"] for i in range(300)]
    officers = {1: "lan.nt", 2: "hung.tv", 3: "mai.lt", 4: "duc.pm"}
    tokens = {counter_id: login(server, username, counter_id) for counter_id, username in officers.items()}
    start = threading.Barrier(len(tokens))

    def counter(counter_id: int) -> list[int]:
        with client(server, tokens[counter_id]) as officer:
            start.wait()
            return call_until_empty(officer, counter_id)

    with ThreadPoolExecutor(len(tokens)) as pool:
        calls = [list(batch) for batch in pool.map(counter, tokens)]

    everything = [t for batch in calls for t in batch]
    assert sorted(everything) == sorted(issued), "every ticket called exactly once"
    assert all(len(batch) > 0 for batch in calls), "every counter got work"
    with database(server) as session:
        called_events = session.exec(
            select(tables.Event.ticket_id).where(tables.Event.kind == "ticket.called", col(tables.Event.ticket_id).in_(issued))
        ).all()
        assert Tally(called_events) == Tally(issued)


def test_simultaneous_retries_with_one_key_give_one_ticket(server: Server) -> None:
    key = str(uuid.uuid4())
    start = threading.Barrier(6)

    def attempt(_: int) -> dict:
        with client(server, server.kiosk_token) as kiosk:
            start.wait()
            answer = kiosk.post("/tickets", json={"field_id": 7}, headers={"Idempotency-Key": key})
            assert answer.status_code == 201, answer.text
            return answer.json()

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(attempt, range(6)))
    assert len({a["ticket"]["id"] for a in answers}) == 1
    with database(server) as session:
        assert len(session.exec(select(tables.Ticket).where(tables.Ticket.field_id == 7)).all()) == 1
