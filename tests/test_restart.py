"""A server restart mid-morning loses nothing: numbering, the event sequence and idempotent
retries carry on from the database."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from websockets.sync.client import connect

from bench._server import running_server

pytestmark = pytest.mark.slow


def test_restart_mid_morning_continues_where_it_stopped() -> None:
    with running_server() as server:
        kiosk = httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {server.kiosk_token}"})
        key = str(uuid.uuid4())
        first = kiosk.post("/tickets", json={"field_id": 1}, headers={"Idempotency-Key": key}).json()
        kiosk.post("/tickets", json={"field_id": 1})
        with connect(server.ws_url) as ws:
            ws.send(json.dumps({"type": "subscribe", "scope": "centre", "token": server.display_token}))
            seq_before = json.loads(ws.recv(timeout=5))["seq"]

        server.stop()
        with pytest.raises(httpx.TransportError):
            kiosk.post("/tickets", json={"field_id": 1})
        server.start()

        # The kiosk's retry of a request it sent before the restart gets the same ticket back.
        retry = kiosk.post("/tickets", json={"field_id": 1}, headers={"Idempotency-Key": key})
        assert retry.status_code == 201 and retry.json()["ticket"]["id"] == first["ticket"]["id"]
        after = kiosk.post("/tickets", json={"field_id": 1}).json()
        assert after["ticket"]["label"] == "1003" and after["people_ahead"] == 2
        with connect(server.ws_url) as ws:
            ws.send(json.dumps({"type": "subscribe", "scope": "centre", "token": server.display_token}))
            snapshot = json.loads(ws.recv(timeout=5))
        assert snapshot["seq"] == seq_before + 1
        assert next(f for f in snapshot["state"]["fields"] if f["id"] == 1)["waiting"] == 3
        kiosk.close()
