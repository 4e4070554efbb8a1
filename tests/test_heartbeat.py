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


def test_one_beat_pings_the_living_and_ends_the_silent_and_the_revoked(live: Live) -> None:
    """The process-wide heartbeat, one beat at a time: every feed due gets exactly one of ping,
    silent (closed) or refused, the credentials all checked together."""
    import asyncio

    from server.api.ws import PING, SILENT, Heartbeats, SubscribeIn, Watch
    from server.realtime import Subscription

    admin = live.admin()
    kiosk_id = next(d["id"] for d in admin.get("/admin/devices").json() if d["kind"] == "kiosk")
    assert admin.delete(f"/admin/devices/{kiosk_id}").status_code == 200

    def feed_for(heartbeats: Heartbeats, token: str | None, scope: str = "centre") -> Subscription:
        watch = Watch(live.ctx, SubscribeIn(type="subscribe", scope=scope, token=token, code="x" if token is None else None))
        return heartbeats.add(watch, Subscription(1)).subscription

    async def scenario() -> dict[str, list[object]]:
        heartbeats = Heartbeats(live.ctx)
        display = feed_for(heartbeats, live.devices["display"])
        revoked = feed_for(heartbeats, live.devices["kiosk"])
        phone = feed_for(heartbeats, None, scope="ticket")
        silent = feed_for(heartbeats, live.devices["display"])
        now = time.monotonic()
        next(f for f in heartbeats.feeds if f.subscription is silent).last_heard = now - 10
        await heartbeats.beat(now)  # nobody is due yet: a period has not passed
        assert all(not s.ready() for s in (display, revoked, phone, silent))
        await heartbeats.beat(now + 0.25)
        return {
            name: sub.ready() for name, sub in [("display", display), ("revoked", revoked), ("phone", phone), ("silent", silent)]
        }

    got = asyncio.run(scenario())
    assert got["display"] == [PING] and got["phone"] == [PING] and got["silent"] == [SILENT]
    [(refusal, _)] = got["revoked"]
    assert refusal["type"] == "refused" and refusal["error"].code == "invalid_token"  # type: ignore[index]
