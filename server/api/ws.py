"""The live websocket: subscribe to a centre, a counter or one ticket; get a snapshot, then every
event in sequence order; heartbeats both ways.

Client → server:  {"type": "subscribe", "scope": "centre"|"counter"|"ticket", "token": …,
                   "centre_id": …, "counter_id": …, "code": …}   (first message, within 10 s)
                  {"type": "snapshot"}   ask for a fresh snapshot (after a gap)
                  {"type": "ping"} / {"type": "pong"}
Server → client:  {"type": "snapshot", "scope": …, "seq": N, "state": {…}}
                  {"type": "event", "seq": N+1, …}   (+ "status" for a ticket subscription)
                  {"type": "ping"} / {"type": "pong"}
                  {"type": "error", "code": …, "message": …} then close
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute

from server.realtime import Delivery, Hub, Message, Subscription
from server.schemas import Text
from server.services import auth, views
from server.services.context import AppContext
from server.services.errors import Forbidden, Invalid, NotFound, QueueError, Unauthorized
from server.storage import tables

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 10.0
CLOSE_CODES = {"Unauthorized": 4401, "Forbidden": 4403, "NotFound": 4404, "Invalid": 4422}


class SubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["subscribe"]
    scope: Literal["centre", "counter", "ticket"]
    token: Text | None = Field(default=None, max_length=200)
    centre_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    counter_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    code: Text | None = Field(default=None, max_length=64)


class CentreSnapshots:
    """The centre snapshot, read once and shared. After a restart every screen a server serves
    reconnects within seconds, most of them following a centre: each centre's snapshot is then
    built once, not once a screen. A snapshot is reused while the centre's sequence number has
    not moved, for at most MAX_AGE_SECONDS (so its `now` is never staler than that)."""

    MAX_AGE_SECONDS = 2.0

    def __init__(self) -> None:
        # Written and read from worker threads: one dict assignment or lookup is atomic.
        self._latest: dict[int, tuple[int, float, str]] = {}

    def get(self, centre_id: int, seq: int) -> str | None:
        latest = self._latest.get(centre_id)
        if latest is None or latest[0] != seq or time.monotonic() - latest[1] > self.MAX_AGE_SECONDS:
            return None
        return latest[2]

    def put(self, centre_id: int, seq: int, text: str) -> None:
        latest = self._latest.get(centre_id)
        if latest is None or seq >= latest[0]:  # two builds may finish out of order
            self._latest[centre_id] = (seq, time.monotonic(), text)


_CENTRE_SEQ = select(tables.Centre.event_seq).where(tables.Centre.id == bindparam("centre_id"))


class Watch:
    """What one websocket follows: which centre's events, and how to build its snapshot."""

    def __init__(self, ctx: AppContext, request: SubscribeIn, snapshots: CentreSnapshots | None = None) -> None:
        self.ctx = ctx
        self.snapshots = snapshots
        self.request = request
        self.scope = request.scope
        self.centre_id = 0
        self.ticket_id: int | None = None
        self.ticket_field_id: int | None = None

    def authorise(self) -> None:
        """Runs in a worker thread: it reads the database."""
        request = self.request
        if request.scope == "ticket":
            if not request.code:
                raise NotFound("ticket_not_found", "Không tìm thấy phiếu số thứ tự này.")
            with self.ctx.read() as session:
                ticket = session.exec(select(tables.Ticket).where(tables.Ticket.code == request.code)).first()
            if ticket is None:
                raise NotFound("ticket_not_found", "Không tìm thấy phiếu số thứ tự này.")
            self.centre_id, self.ticket_id, self.ticket_field_id = ticket.centre_id, ticket.id, ticket.field_id
            return
        actor = auth.authenticate(self.ctx, request.token)
        if request.scope == "centre":
            centre_id = request.centre_id if request.centre_id is not None else actor.centre_id
            if centre_id is None or (actor.centre_id is not None and actor.centre_id != centre_id):
                raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
            self.centre_id = centre_id
            return
        counter_id = request.counter_id if request.counter_id is not None else actor.counter_id
        with self.ctx.read() as session:
            counter = session.get(tables.Counter, counter_id) if counter_id is not None else None
        if counter is None or (actor.centre_id is not None and counter.centre_id != actor.centre_id):
            raise NotFound("counter_not_found", "Không tìm thấy quầy.")
        if actor.kind == "device" and not (actor.role == "counter_panel" and actor.counter_id == counter.id):
            raise Forbidden("forbidden", "Thiết bị này không được gắn với quầy đó.")
        self.centre_id = counter.centre_id
        self.request = request.model_copy(update={"counter_id": counter.id})

    def snapshot(self) -> tuple[int, str]:
        """Runs in a worker thread: the snapshot's sequence number and its JSON text. One read
        transaction, so the state matches `seq` exactly."""
        if self.scope == "centre" and self.snapshots is not None:
            with self.ctx.read() as session:
                seq = session.exec(_CENTRE_SEQ, params={"centre_id": self.centre_id}).first()
            shared = self.snapshots.get(self.centre_id, seq) if seq is not None else None
            if shared is not None and seq is not None:
                return seq, shared
        now = self.ctx.clock.now()
        with self.ctx.read_snapshot() as session, session.begin():
            if self.scope == "centre":
                state: BaseModel = views.centre_state(session, self.centre_id, now)
            elif self.scope == "counter":
                assert self.request.counter_id is not None
                state = views.counter_state(session, self.request.counter_id, now)
            else:
                assert self.request.code is not None
                state = views.public_status(session, self.request.code, now)
        data = state.model_dump(mode="json")
        text = json.dumps({"type": "snapshot", "scope": self.scope, "seq": data["seq"], "state": data}, ensure_ascii=False)
        if self.scope == "centre" and self.snapshots is not None:
            self.snapshots.put(self.centre_id, data["seq"], text)
        return int(data["seq"]), text

    def concerns_ticket(self, message: Message) -> bool:
        ticket = message.get("ticket") or {}
        data = message.get("data") or {}
        return (
            ticket.get("id") == self.ticket_id
            or message.get("field_id") == self.ticket_field_id
            or data.get("from_field_id") == self.ticket_field_id
            or message.get("kind") == "config.updated"
        )

    def public_event(self, message: Message, status: dict[str, Any] | None) -> Message:
        """What a phone following one ticket gets of an event: all of it if the event is about
        that ticket, only its sequence number (and the ticket's new status) otherwise."""
        own = (message.get("ticket") or {}).get("id") == self.ticket_id
        if not own:
            public: Message = {"type": "event", "seq": message["seq"], "kind": "other"}
        else:
            public = {key: message[key] for key in ("type", "seq", "kind", "at", "ticket", "counter_number") if key in message}
        if status is not None:
            public["status"] = status
        return public

    def ticket_status(self) -> dict[str, Any]:
        with self.ctx.read() as session:
            assert self.request.code is not None
            status = views.public_status(session, self.request.code, self.ctx.clock.now())
            # A transfer moves the ticket to another field: follow that field from now on.
            field_id = session.exec(select(tables.Ticket.field_id).where(tables.Ticket.code == self.request.code)).first()
            self.ticket_field_id = field_id if field_id is not None else self.ticket_field_id
        return status.model_dump(mode="json")


# What the heartbeat puts on a feed's queue, for its sender to act on.
PING: Delivery = ({"type": "ping"}, '{"type":"ping"}')
SILENT: Delivery = ({"type": "silent"}, "")


@dataclass(eq=False)
class Feed:
    """One live websocket, as the heartbeat sees it."""

    watch: Watch
    subscription: Subscription
    last_heard: float
    due: float  # when its next heartbeat is


class Heartbeats:
    """The one heartbeat of all this process's live feeds. Each feed, once a period: closed if
    its client has been silent for three periods; closed if its token no longer holds (a revoked
    device, a signed-out officer, an expired session); otherwise pinged. Feeds are due at
    different moments (a period after they opened), and the credentials of all the feeds due in
    one tick are checked with one read: thousands of screens cost a few reads a second, and no
    task or timer of their own."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.feeds: set[Feed] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def period(self) -> float:
        return self.ctx.settings.heartbeat_seconds

    def add(self, watch: Watch, subscription: Subscription) -> Feed:
        now = time.monotonic()
        feed = Feed(watch, subscription, last_heard=now, due=now + self.period)
        self.feeds.add(feed)
        return feed

    def discard(self, feed: Feed) -> None:
        self.feeds.discard(feed)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hangdoi-heartbeats")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        tick = min(1.0, self.period / 4)
        while True:
            await asyncio.sleep(tick)
            try:
                await self.beat(time.monotonic())
            except Exception:  # one failed beat must not stop the next
                log.exception("heartbeat failed")

    async def beat(self, now: float) -> None:
        due = [feed for feed in self.feeds if feed.due <= now]
        if not due:
            return
        for feed in due:
            feed.due = now + self.period
        tokens = {f.watch.request.token for f in due if f.watch.scope != "ticket" and f.watch.request.token}
        refusals: dict[str, Unauthorized | None] = {}
        if tokens:
            try:
                refusals = await run_in_threadpool(auth.check_tokens, self.ctx, tokens)
            except Exception as error:  # the database is away: keep the screens as they are
                log.warning("could not check the live feeds' credentials: %r", error)
        for feed in due:
            refusal = refusals.get(feed.watch.request.token or "") if feed.watch.scope != "ticket" else None
            if now - feed.last_heard > 3 * self.period:
                log.info("websocket silent for %.0f s; closing", now - feed.last_heard)
                feed.subscription.control(SILENT)
            elif refusal is not None:
                # Each feed raises its own copy: one exception object shared by many tasks
                # would collect all their tracebacks.
                feed.subscription.control(({"type": "refused", "error": Unauthorized(refusal.code, refusal.message)}, ""))
            else:
                feed.subscription.control(PING)


async def _send_error(websocket: WebSocket, error: QueueError) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_json({"type": "error", "code": error.code, "message": error.message})
        await websocket.close(code=CLOSE_CODES.get(type(error).__name__, 4400), reason=error.code)


async def live(websocket: WebSocket) -> None:
    """/api/v1/ws, mounted as a plain Starlette route (install()): a feed lives all day, and
    FastAPI's per-request machinery would stay in memory with it."""
    ctx: AppContext = websocket.app.state.ctx
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), timeout=SUBSCRIBE_TIMEOUT)
        request = SubscribeIn.model_validate_json(raw)
    except (TimeoutError, ValidationError, json.JSONDecodeError, KeyError):
        await _send_error(
            websocket, Invalid("subscribe_expected", "Tin nhắn đầu tiên phải là yêu cầu theo dõi (subscribe) hợp lệ.")
        )
        return
    except WebSocketDisconnect:
        return
    watch = Watch(ctx, request, websocket.app.state.centre_snapshots)
    try:
        await run_in_threadpool(watch.authorise)
    except QueueError as error:
        await _send_error(websocket, error)
        return
    # Subscribe before the snapshot is read, so no event committed in between is missed; the
    # sender drops the events the snapshot already contains.
    subscription = hub.subscribe(watch.centre_id)
    heartbeats: Heartbeats = websocket.app.state.heartbeats
    feed = heartbeats.add(watch, subscription)
    try:
        await _serve(websocket, watch, feed)
    finally:
        heartbeats.discard(feed)
        hub.unsubscribe(subscription)


async def _serve(websocket: WebSocket, watch: Watch, feed: Feed) -> None:
    subscription = feed.subscription

    async def send_snapshot() -> int:
        seq, text = await run_in_threadpool(watch.snapshot)
        await websocket.send_text(text)
        return seq

    async def sender() -> None:
        last_seq = await send_snapshot()
        while True:
            message, text = await subscription.next()
            kind = message["type"]
            if kind == "ping":
                await websocket.send_text(text)
                continue
            if kind == "silent":
                await websocket.close(code=4408, reason="heartbeat_timeout")
                return
            if kind == "refused":
                raise message["error"]
            if kind == "resync":
                subscription.resync_pending = False
                last_seq = await send_snapshot()
                continue
            if message["seq"] <= last_seq:
                continue  # already in the snapshot this client has
            if watch.scope == "ticket":
                # A citizen's phone learns nothing about other tickets (not their numbers, counters
                # or ratings), but still sees every sequence number, so it never takes one for a
                # gap; when its own queue moved, it gets its ticket's new status.
                status = await run_in_threadpool(watch.ticket_status) if watch.concerns_ticket(message) else None
                text = json.dumps(watch.public_event(message, status), ensure_ascii=False)
            await websocket.send_text(text)
            last_seq = message["seq"]

    async def receiver() -> None:
        while True:
            try:
                raw = await websocket.receive_text()
            except KeyError:
                continue  # a binary frame: not part of the protocol, ignored
            feed.last_heard = time.monotonic()
            try:
                kind = json.loads(raw).get("type")
            except (ValueError, RecursionError, AttributeError):  # not JSON, too deeply nested, not an object
                kind = None
            if kind == "snapshot":
                subscription.request_resync()
            elif kind == "ping":
                await websocket.send_text('{"type":"pong"}')

    tasks = [asyncio.create_task(t()) for t in (sender, receiver)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, (WebSocketDisconnect, RuntimeError)):
                if isinstance(error, QueueError):
                    await _send_error(websocket, error)
                else:
                    log.warning("websocket ended: %r", error)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await websocket.close()


def install(app: FastAPI, path: str) -> None:
    app.router.routes.append(WebSocketRoute(path, live))
