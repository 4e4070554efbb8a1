"""The PostgreSQL broker: events leave with NOTIFY inside the command's transaction, so only a
commit sends them; any size arrives whole; a lost listener connection comes back and every screen
gets a fresh snapshot."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from server.postgres_broker import CHUNK_CHARS, LISTENER_NAME, PostgresBroker, Reassembler, encode
from server.realtime import Hub, Message
from tests.conftest import HO_TICH, Live, Template, receive

pytestmark = pytest.mark.postgresql


def event(seq: int, **extra: Any) -> Message:
    return {"type": "event", "seq": seq, "kind": "ticket.issued", **extra}


def test_chunks_of_a_large_event_are_put_back_together() -> None:
    notice = "Công dân vui lòng chờ đến lượt. " * 900  # about 29,000 characters, beyond one NOTIFY
    messages = [event(7, data={"notice": notice}), event(8)]
    payloads = encode(3, messages)
    assert len(payloads) > 1 and all(len(p.encode()) < 8000 for p in payloads)
    assert all(len(p.split("|", 4)[4]) <= CHUNK_CHARS for p in payloads)
    reassembler = Reassembler()
    results = [reassembler.feed(p) for p in payloads]
    assert results[:-1] == [None] * (len(payloads) - 1)
    assert results[-1] == (3, messages)


def test_a_chunk_out_of_order_is_dropped_not_misread() -> None:
    payloads = encode(3, [event(1, data={"x": "đ" * 20000})])
    reassembler = Reassembler()
    assert reassembler.feed(payloads[1]) is None
    assert reassembler.feed(payloads[0]) is None  # a fresh start, still waiting for the rest
    assert [reassembler.feed(p) for p in payloads[1:]][-1] is not None


def test_notify_goes_out_only_when_the_transaction_commits(database: Template) -> None:
    """Two 'processes' (two brokers, each with its own hub) on one database: what one sends in a
    rolled-back transaction reaches nobody; what it commits reaches both, large or small."""
    engine = create_engine(database.url)
    big = "Phiếu số 1001 mời đến quầy 1. " * 1000

    async def scenario() -> list[list[Message]]:
        hubs = [Hub(), Hub()]
        brokers = [PostgresBroker(hub, database.url) for hub in hubs]
        for hub, broker in zip(hubs, brokers, strict=True):
            hub.attach(asyncio.get_running_loop())
            await broker.start()
        subs = [hub.subscribe(5) for hub in hubs]

        def send(messages: list[Message], commit: bool) -> None:
            with engine.connect() as connection, connection.begin() as transaction:
                brokers[0].in_transaction(connection, 5, messages)
                if commit:
                    transaction.commit()
                else:
                    transaction.rollback()

        await asyncio.to_thread(send, [event(1, data={"lost": True})], False)
        await asyncio.to_thread(send, [event(1), event(2, data={"text": big})], True)
        received = []
        for sub in subs:
            got = [(await asyncio.wait_for(sub.next(), 10))[0] for _ in range(2)]
            await asyncio.sleep(0.3)
            assert sub.ready() == [], "a rolled-back notification was delivered"
            received.append(got)
        for broker in brokers:
            await broker.stop()
        return received

    try:
        for got in asyncio.run(scenario()):
            assert [m["seq"] for m in got] == [1, 2]
            assert "lost" not in got[0].get("data", {})
            assert got[1]["data"]["text"] == big
    finally:
        engine.dispose()


def _terminate_listeners(url: str) -> int:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": LISTENER_NAME},
                ).all()
            )
    finally:
        engine.dispose()


def test_a_lost_listener_reconnects_and_screens_get_a_fresh_snapshot(live: Live) -> None:
    ws, snapshot = live.subscribe()
    live.issue(HO_TICH)
    message = receive(ws)
    assert message["type"] == "event" and message["seq"] == snapshot["seq"] + 1

    assert _terminate_listeners(live.ctx.settings.database_url) == 1
    # Issued while the listener may be down: its event can be lost, but not the ticket.
    second = live.issue(HO_TICH)["ticket"]
    deadline = time.monotonic() + 15
    while True:
        message = receive(ws, timeout=max(deadline - time.monotonic(), 0.1))
        if message["type"] == "snapshot":
            break
    # The feed goes on from the snapshot with no gap, and the ticket issued during the outage is
    # either in the snapshot or among the events that follow it.
    resumed_from = message["seq"]
    third = live.issue(HO_TICH)["ticket"]
    events = []
    while not events or events[-1]["ticket"]["id"] != third["id"]:
        events.append(receive(ws, timeout=10))
        assert events[-1]["type"] == "event", events[-1]
    assert [e["seq"] for e in events] == list(range(resumed_from + 1, resumed_from + 1 + len(events)))
    assert resumed_from >= snapshot["seq"] + 2 or second["id"] in [e["ticket"]["id"] for e in events]
    ws.close()


def test_simultaneous_retries_with_one_key_send_one_event(live: Live) -> None:
    """The twin that loses the race on the idempotency key rolls back, and its notification with
    it: screens see one ticket.issued, not two."""
    ws, snapshot = live.subscribe()
    key = str(uuid.uuid4())
    start = threading.Barrier(6)
    token = live.devices["kiosk"]

    def attempt(_: int) -> int:
        kiosk = live.client(token)
        start.wait()
        answer = kiosk.post("/tickets", json={"field_id": HO_TICH}, headers={"Idempotency-Key": key})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["ticket"]["id"])

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(attempt, range(6)))
    assert len(ids) == 1
    message = receive(ws)
    assert message["seq"] == snapshot["seq"] + 1 and message["ticket"]["id"] in ids
    live.issue(HO_TICH)  # a marker: the next event must be this one, with the next number
    marker = receive(ws)
    assert marker["seq"] == snapshot["seq"] + 2 and marker["ticket"]["id"] not in ids
    ws.close()


def test_a_notification_that_cannot_be_delivered_is_skipped_and_listening_goes_on(live: Live) -> None:
    """A malformed or unexpected notification on the channel (a bug, a newer version during an
    upgrade) must not stop this process from delivering the next real event."""
    ws, snapshot = live.subscribe()
    engine = create_engine(live.ctx.settings.database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for payload in ("nonsense", "1|k|0|1|{not json", '1|k|0|1|[{"type": "event"}]'):
            connection.execute(text("SELECT pg_notify('hangdoi_events', :payload)"), {"payload": payload})
    engine.dispose()
    ticket = live.issue(HO_TICH)["ticket"]
    message = receive(ws, timeout=10)
    assert message["seq"] == snapshot["seq"] + 1 and message["ticket"]["id"] == ticket["id"]
    ws.close()
