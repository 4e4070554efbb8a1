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
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from server.realtime import Hub, Message, Subscription
from server.services import auth, views
from server.services.context import AppContext
from server.services.errors import Forbidden, Invalid, NotFound, QueueError, Unauthorized
from server.storage import tables

log = logging.getLogger(__name__)
router = APIRouter()

SUBSCRIBE_TIMEOUT = 10.0
CLOSE_CODES = {"Unauthorized": 4401, "Forbidden": 4403, "NotFound": 4404, "Invalid": 4422}


class SubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["subscribe"]
    scope: Literal["centre", "counter", "ticket"]
    token: str | None = Field(default=None, max_length=200)
    centre_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    counter_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    code: str | None = Field(default=None, max_length=64)


class Watch:
    """What one websocket follows: which centre's events, and how to build its snapshot."""

    def __init__(self, ctx: AppContext, request: SubscribeIn) -> None:
        self.ctx = ctx
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

    def snapshot(self) -> Message:
        """Runs in a worker thread. One read transaction, so the state matches `seq` exactly."""
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
        return {"type": "snapshot", "scope": self.scope, "seq": data["seq"], "state": data}

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


class CredentialChecks:
    """Once a heartbeat every live feed makes sure its token still holds (a revoked device, a
    signed-out officer or an expired session loses the feed). The checks of all the feeds of this
    process that fall within BATCH_SECONDS of each other are made with one read: a province
    server with thousands of screens does a few reads a second, not one per screen."""

    BATCH_SECONDS = 0.2

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._waiting: dict[str, list[asyncio.Future[QueueError | None]]] = {}
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def check(self, token: str | None) -> None:
        """Raises the refusal if the token no longer holds."""
        if not token:
            raise Unauthorized("not_authenticated", auth.BAD_TOKEN)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[QueueError | None] = loop.create_future()
        self._waiting.setdefault(token, []).append(answer)
        if not self._scheduled:
            self._scheduled = True
            loop.call_later(self.BATCH_SECONDS, self._start_batch)
        refusal = await answer
        if refusal is not None:
            raise refusal

    def _start_batch(self) -> None:
        task = asyncio.create_task(self._run())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self) -> None:
        batch, self._waiting, self._scheduled = self._waiting, {}, False
        try:
            results = await run_in_threadpool(auth.check_tokens, self.ctx, list(batch))
        except Exception as error:  # the database is unreachable: every feed in the batch ends, as before
            for answers in batch.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(error)
            return
        for token, answers in batch.items():
            for answer in answers:
                if not answer.done():
                    answer.set_result(results.get(token))


async def _send_error(websocket: WebSocket, error: QueueError) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_json({"type": "error", "code": error.code, "message": error.message})
        await websocket.close(code=CLOSE_CODES.get(type(error).__name__, 4400), reason=error.code)


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
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
    watch = Watch(ctx, request)
    try:
        await run_in_threadpool(watch.authorise)
    except QueueError as error:
        await _send_error(websocket, error)
        return
    # Subscribe before the snapshot is read, so no event committed in between is missed; the
    # sender drops the events the snapshot already contains.
    subscription = hub.subscribe(watch.centre_id)
    try:
        await _serve(websocket, ctx, watch, subscription)
    finally:
        hub.unsubscribe(subscription)


async def _serve(websocket: WebSocket, ctx: AppContext, watch: Watch, subscription: Subscription) -> None:
    heartbeat = ctx.settings.heartbeat_seconds
    credentials: CredentialChecks = websocket.app.state.credential_checks
    last_heard = time.monotonic()

    async def send_snapshot() -> int:
        snapshot = await run_in_threadpool(watch.snapshot)
        await websocket.send_text(json.dumps(snapshot, ensure_ascii=False))
        return int(snapshot["seq"])

    async def sender() -> None:
        last_seq = await send_snapshot()
        while True:
            message, text = await subscription.queue.get()
            if message["type"] == "resync":
                subscription.resync_pending = False
                last_seq = await send_snapshot()
                continue
            if message["seq"] <= last_seq:
                continue  # already in the snapshot this client has
            if watch.scope == "ticket":
                # A citizen's phone learns nothing about other tickets (not their numbers, counters
                # or ratings), but still sees every sequence number, so it never takes one for a
                # gap; when its own queue moved, it gets its ticket's new status.
                text = json.dumps(watch.public_event(message, None), ensure_ascii=False)
                if watch.concerns_ticket(message):
                    status = await run_in_threadpool(watch.ticket_status)
                    text = json.dumps(watch.public_event(message, status), ensure_ascii=False)
            await websocket.send_text(text)
            last_seq = message["seq"]

    async def receiver() -> None:
        nonlocal last_heard
        while True:
            try:
                raw = await websocket.receive_text()
            except KeyError:
                continue  # a binary frame: not part of the protocol, ignored
            last_heard = time.monotonic()
            try:
                kind = json.loads(raw).get("type")
            except (json.JSONDecodeError, AttributeError):
                kind = None
            if kind == "snapshot":
                subscription.request_resync()
            elif kind == "ping":
                await websocket.send_text('{"type":"pong"}')

    async def pinger() -> None:
        while True:
            await asyncio.sleep(heartbeat)
            if time.monotonic() - last_heard > 3 * heartbeat:
                log.info("websocket silent for %.0f s; closing", time.monotonic() - last_heard)
                await websocket.close(code=4408, reason="heartbeat_timeout")
                return
            # A revoked device, a signed-out officer or an expired token loses the feed too.
            if watch.scope != "ticket":
                await credentials.check(watch.request.token)
            await websocket.send_text('{"type":"ping"}')

    tasks = [asyncio.create_task(t()) for t in (sender, receiver, pinger)]
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
