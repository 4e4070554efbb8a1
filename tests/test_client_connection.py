"""The apps' one connection class against a real server: snapshot then events in order, commands
with idempotency keys and retries, refusal of a bad token, and recovery from a server restart."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from bench._server import running_server
from client.connection import Connection, Reply
from tests.conftest import HO_TICH, Live


def send_and_wait(qtbot: QtBot, connection: Connection, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
    replies: list[Reply] = []
    connection.send(method, path, body, on_done=replies.append, **kwargs)
    qtbot.waitUntil(lambda: bool(replies), timeout=15000)
    return replies[0]


def test_snapshot_then_events_in_order(qtbot: QtBot, live: Live) -> None:
    connection = Connection(live.base_url, live.devices["display"])
    events: list[dict[str, Any]] = []
    connection.event_received.connect(events.append)
    with qtbot.waitSignal(connection.snapshot_received, timeout=10000) as snapshot:
        connection.start()
    state = snapshot.args[0]
    assert state["centre"]["name"].startswith("Trung tâm")
    assert connection.online and connection.seq == state["seq"]

    live.issue()
    live.issue()
    qtbot.waitUntil(lambda: len(events) == 2, timeout=10000)
    assert [e["kind"] for e in events] == ["ticket.issued", "ticket.issued"]
    assert [e["seq"] for e in events] == [state["seq"] + 1, state["seq"] + 2]
    assert connection.seq == state["seq"] + 2
    connection.stop()


def test_commands_return_data_or_a_vietnamese_refusal(qtbot: QtBot, live: Live) -> None:
    connection = Connection(live.base_url, live.devices["kiosk"])
    issued = send_and_wait(qtbot, connection, "POST", "/tickets", {"field_id": HO_TICH}, idempotency_key="tap-1")
    assert issued.ok and issued.status == 201 and issued.data["ticket"]["label"] == "1001"
    again = send_and_wait(qtbot, connection, "POST", "/tickets", {"field_id": HO_TICH}, idempotency_key="tap-1")
    assert again.data["ticket"]["id"] == issued.data["ticket"]["id"]  # a retry acts once

    wrong = send_and_wait(qtbot, connection, "POST", "/tickets", {"field_id": 999})
    assert wrong.status == 404 and wrong.code == "field_not_found" and "lĩnh vực" in wrong.message


def test_unreachable_server_gives_a_clear_reply_after_retrying(qtbot: QtBot) -> None:
    connection = Connection("http://127.0.0.1:9", "token")  # port 9 (discard): nothing listens
    reply = send_and_wait(qtbot, connection, "POST", "/tickets", {"field_id": 1}, retry_for=1.0)
    assert reply.unreachable and "Không kết nối được máy chủ" in reply.message


def test_a_bad_token_is_refused_and_reported(qtbot: QtBot, live: Live) -> None:
    connection = Connection(live.base_url, "not-a-token")
    with qtbot.waitSignal(connection.refused, timeout=10000) as refused:
        connection.start()
    code, message = refused.args
    assert code == "invalid_token" and message
    assert not connection.online
    connection.stop()


@pytest.mark.slow
def test_reconnects_and_resyncs_after_a_server_restart(qtbot: QtBot) -> None:
    with running_server() as server:
        connection = Connection(server.base_url, server.display_token)
        snapshots: list[dict[str, Any]] = []
        connection.snapshot_received.connect(snapshots.append)
        connection.start()
        qtbot.waitUntil(lambda: connection.online, timeout=10000)

        server.stop()
        qtbot.waitUntil(lambda: not connection.online, timeout=10000)
        kiosk = Connection(server.base_url, server.kiosk_token)
        server.start()
        # Made while the display was away: the new snapshot must contain it.
        issued = send_and_wait(qtbot, kiosk, "POST", "/tickets", {"field_id": HO_TICH}, retry_for=10)
        assert issued.ok, issued
        # Whether the display came back before or after that ticket, it ends up at its seq: in
        # the fresh snapshot or as the event that follows it.
        target = snapshots[0]["seq"] + 1
        qtbot.waitUntil(lambda: connection.online and connection.seq == target, timeout=10000)
        assert len(snapshots) >= 2
        connection.stop()
        kiosk.stop()
        # Deleted inside the event loop while Python still holds them, not by the garbage collector
        # at some later moment with Qt events still queued for them.
        for finished in (connection, kiosk):
            finished.deleteLater()
        qtbot.wait(200)
