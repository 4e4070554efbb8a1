"""Heartbeats: the server pings, and closes a client that has gone silent."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from server.config import Settings
from tests.conftest import HO_TICH, Live, receive


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Fast heartbeats for this module only.
    return settings.model_copy(update={"heartbeat_seconds": 0.2})


def test_server_pings_and_closes_a_silent_client(live: Live) -> None:
    ws, _ = live.subscribe("centre")
    with ws:
        assert json.loads(ws.recv(timeout=2))["type"] == "ping"
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)  # never answer
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
        assert time.monotonic() - started < 3


def test_a_client_that_answers_pings_stays_connected(live: Live) -> None:
    ws, _ = live.subscribe("centre")
    with ws:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=2))
            if message["type"] == "ping":
                ws.send('{"type": "pong"}')
        ws.send('{"type": "ping"}')
        assert receive(ws, skip_pings=False)["type"] in ("pong", "ping")
        live.issue(HO_TICH)
        assert receive(ws)["kind"] == "ticket.issued"


def test_a_revoked_device_loses_its_live_feed(live: Live) -> None:
    ws, _ = live.subscribe("centre")
    with ws:
        admin = live.admin()
        display_id = next(d["id"] for d in admin.get("/admin/devices").json() if d["kind"] == "display")
        admin.delete(f"/admin/devices/{display_id}")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                message = json.loads(ws.recv(timeout=5))
                if message["type"] == "ping":
                    ws.send('{"type": "pong"}')
                if message["type"] == "error":
                    assert message["code"] == "invalid_token"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
