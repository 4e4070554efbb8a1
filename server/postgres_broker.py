"""Live events across server processes through PostgreSQL LISTEN/NOTIFY.

A province server runs several uvicorn workers, perhaps on several machines, against one
PostgreSQL. A command's events are sent with NOTIFY inside the command's own transaction, so they
go out if and only if it commits; PostgreSQL hands notifications to every listening connection in
commit order, and a centre's commands commit in sequence-number order (each holds the centre's row
lock until it commits), so each worker's listener receives every centre's events in order.

The worker that ran the command does not publish to its own hub directly: it hears its own
notification like every other worker does, so every hub sees one stream in one order.

A notification carries at most 8000 bytes. Events are sent as ASCII JSON (so a character is a
byte) in chunks of CHUNK_CHARS with a header "<centre>|<key>|<index>|<total>|", and put together
again by the listener. A lost listener connection loses notifications: after reconnecting, the
hub forgets its sequence positions and every subscriber gets a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from server.realtime import Hub, Message

log = logging.getLogger(__name__)

CHANNEL = "hangdoi_events"
LISTENER_NAME = "hangdoi-listener"  # shown in pg_stat_activity
CHUNK_CHARS = 7000
# Between notifications the listener checks its connection with a query this often, so a
# connection that died silently is noticed within that time.
LIVENESS_SECONDS = 15.0
LIVENESS_TIMEOUT_SECONDS = 5.0
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 5.0

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def encode(centre_id: int, messages: Sequence[Message]) -> list[str]:
    """One command's events as NOTIFY payloads, each under PostgreSQL's 8000-byte limit."""
    body = json.dumps(list(messages), ensure_ascii=True, separators=(",", ":"))
    chunks = [body[i : i + CHUNK_CHARS] for i in range(0, len(body), CHUNK_CHARS)] or [""]
    key = secrets.token_hex(6)
    return [f"{centre_id}|{key}|{index}|{len(chunks)}|{chunk}" for index, chunk in enumerate(chunks)]


class Reassembler:
    """Puts chunked payloads back together; a complete one gives (centre_id, messages)."""

    def __init__(self) -> None:
        self._partial: dict[str, list[str]] = {}

    def feed(self, payload: str) -> tuple[int, list[Message]] | None:
        centre, key, index, total, chunk = payload.split("|", 4)
        if total == "1":
            return int(centre), json.loads(chunk)
        parts = self._partial.setdefault(key, [])
        if int(index) != len(parts):
            # Chunks of one transaction arrive together and in order; anything else means some
            # were lost, and the hub's gap handling takes over.
            self._partial.pop(key, None)
            log.warning("notification %s arrived out of order; dropped", key)
            return None
        parts.append(chunk)
        if len(parts) < int(total):
            return None
        del self._partial[key]
        return int(centre), json.loads("".join(parts))

    def clear(self) -> None:
        self._partial.clear()


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://…) as a libpq connection string."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBroker:
    """Sends a command's events with NOTIFY in its transaction; a listener task feeds this
    process's hub from the notifications of every process."""

    def __init__(self, hub: Hub, database_url: str) -> None:
        self.hub = hub
        self._conninfo = libpq_url(database_url)
        self._task: asyncio.Task[None] | None = None
        self._reassembler = Reassembler()

    def in_transaction(self, connection: Any, centre_id: int, messages: Sequence[Message]) -> None:
        for payload in encode(centre_id, messages):
            connection.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})

    def after_commit(self, centre_id: int, messages: Sequence[Message]) -> None:
        return None  # this process hears its own notification, in order with everyone else's

    async def start(self) -> None:
        """Listen before the server accepts its first websocket, so no subscriber can miss an
        event committed after its snapshot."""
        connection = await self._connect()
        self._task = asyncio.create_task(self._listen_forever(connection), name="hangdoi-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        connection = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            application_name=LISTENER_NAME,
            connect_timeout=10,
            # A connection dropped silently (a failover, a NAT or firewall forgetting an idle
            # connection) is noticed in seconds rather than after TCP's two hours.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=15000,
        )
        await connection.execute(f"LISTEN {CHANNEL}")
        return connection

    async def _listen_forever(self, connection: psycopg.AsyncConnection[Any] | None) -> None:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            try:
                if connection is None:
                    connection = await self._connect()
                    # Whatever was committed while nobody listened is lost: start afresh.
                    self._reassembler.clear()
                    self.hub.reset()
                    log.info("listening to PostgreSQL notifications again")
                delay = RECONNECT_FIRST_SECONDS
                await self._receive(connection)
            except asyncio.CancelledError:
                await _close(connection)
                raise
            except Exception as error:  # whatever it was, this process must not stop listening
                log.warning("lost the PostgreSQL notification connection (%r); reconnecting in %.1f s", error, delay)
                await _close(connection)
                connection = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _receive(self, connection: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notify in connection.notifies(timeout=LIVENESS_SECONDS):
                try:
                    complete = self._reassembler.feed(notify.payload)
                    if complete is not None:
                        self.hub.publish(*complete)
                except Exception:  # one bad notification (say, from a newer version) is skipped
                    log.exception("ignored a notification on %s that could not be delivered", CHANNEL)
            # Between notifications, make sure the connection is alive: a dead one raises here.
            await asyncio.wait_for(connection.execute("SELECT 1"), LIVENESS_TIMEOUT_SECONDS)


async def _close(connection: psycopg.AsyncConnection[Any] | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.close()
