"""The hub that fans committed events out to websocket subscribers, and the brokers that feed it.

Events reach the hub after their transaction commits. Two commits can finish in one order and
reach the hub in the other, so the hub re-orders each centre's events by sequence number before
delivering them; a number that never arrives (a crashed worker) is skipped after a short wait, and
the subscribers, seeing the gap, ask for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

Message = dict[str, Any]
# A message with its JSON text, encoded once however many subscribers send it.
Delivery = tuple[Message, str]

# Put on a subscriber's queue instead of events when it fell too far behind, or when the client
# asks: the sender then sends a fresh snapshot.
RESYNC: Delivery = ({"type": "resync"}, "")


BACKLOG_LIMIT = 1000


class Subscription:
    """What one live websocket is waiting to send, in order. Thousands of these live on a
    province server all day, so it is a deque and one waiter rather than an asyncio.Queue (a
    third of the memory)."""

    __slots__ = ("_control", "_items", "_waiter", "centre_id", "limit", "resync_pending")

    def __init__(self, centre_id: int, limit: int = BACKLOG_LIMIT) -> None:
        self.centre_id = centre_id
        self.limit = limit
        # At most one resync waits, however often a client asks for one.
        self.resync_pending = False
        self._items: deque[Delivery] = deque()
        # The heartbeat's word (ping, close): ahead of any backlog, and never dropped with it.
        self._control: Delivery | None = None
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, delivery: Delivery) -> None:
        if len(self._items) >= self.limit:
            # A subscriber this far behind is better served by a fresh snapshot than by a backlog.
            self._items.clear()
            self.resync_pending = False
            self.request_resync()
            return
        self._items.append(delivery)
        self._wake()

    def request_resync(self) -> None:
        if not self.resync_pending:
            self.resync_pending = True
            self._items.append(RESYNC)
            self._wake()

    def control(self, delivery: Delivery) -> None:
        """A heartbeat message; a later one replaces one not yet sent (a close beats a ping)."""
        self._control = delivery
        self._wake()

    async def next(self) -> Delivery:
        """The next delivery, waiting for one if there is none."""
        while not self._items and self._control is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._control is not None:
            control, self._control = self._control, None
            return control
        return self._items.popleft()

    def ready(self) -> list[Delivery]:
        """Everything waiting now, without waiting (for tests and diagnostics)."""
        items = ([self._control] if self._control is not None else []) + list(self._items)
        self._control = None
        self._items.clear()
        return items

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Hub:
    def __init__(self, gap_timeout: float = 1.0) -> None:
        self._gap_timeout = gap_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: dict[int, set[Subscription]] = {}
        self._next_seq: dict[int, int] = {}
        self._pending: dict[int, dict[int, Message]] = {}
        self._gap_timers: dict[int, asyncio.TimerHandle] = {}

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, centre_id: int) -> Subscription:
        sub = Subscription(centre_id)
        self._subscribers.setdefault(centre_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subscribers.get(sub.centre_id)
        if subs is not None:
            subs.discard(sub)

    def publish(self, centre_id: int, messages: Sequence[Message]) -> None:
        """Hand committed events to the hub. Safe to call from any thread."""
        if not messages or self._loop is None:
            return
        batch = list(messages)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._accept(centre_id, batch)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._accept, centre_id, batch)

    def _accept(self, centre_id: int, messages: list[Message]) -> None:
        pending = self._pending.setdefault(centre_id, {})
        next_seq = self._next_seq.get(centre_id)
        for message in messages:
            seq = int(message["seq"])
            if next_seq is None:
                next_seq = seq
            if seq >= next_seq:
                pending[seq] = message
        if next_seq is None:
            return
        self._next_seq[centre_id] = next_seq
        self._flush(centre_id)

    def _flush(self, centre_id: int) -> None:
        pending = self._pending[centre_id]
        seq = self._next_seq[centre_id]
        while seq in pending:
            self._deliver(centre_id, pending.pop(seq))
            seq += 1
        self._next_seq[centre_id] = seq
        timer = self._gap_timers.pop(centre_id, None)
        if timer is not None:
            timer.cancel()
        if pending and self._loop is not None:
            self._gap_timers[centre_id] = self._loop.call_later(self._gap_timeout, self._skip_gap, centre_id)

    def _skip_gap(self, centre_id: int) -> None:
        self._gap_timers.pop(centre_id, None)
        pending = self._pending.get(centre_id)
        if not pending:
            return
        missing_from = self._next_seq[centre_id]
        self._next_seq[centre_id] = min(pending)
        log.warning("centre %s: events %s..%s never arrived; subscribers will resync", centre_id, missing_from, min(pending) - 1)
        self._flush(centre_id)

    def reset(self) -> None:
        """Forget every centre's sequence position and send every subscriber a fresh snapshot:
        for when events may have been lost (the broker lost its connection)."""
        for timer in self._gap_timers.values():
            timer.cancel()
        self._gap_timers.clear()
        self._next_seq.clear()
        self._pending.clear()
        for subs in self._subscribers.values():
            for sub in subs:
                sub.request_resync()

    def _deliver(self, centre_id: int, message: Message) -> None:
        subscribers = self._subscribers.get(centre_id)
        if not subscribers:
            return
        delivery = (message, json.dumps(message, ensure_ascii=False))
        for sub in list(subscribers):
            sub.offer(delivery)


class Broker(Protocol):
    """How a committed command's events reach every server process's hub: the in-process broker
    for SQLite (one process), PostgresBroker (LISTEN/NOTIFY) for several."""

    def in_transaction(self, connection: Any, centre_id: int, messages: Sequence[Message]) -> None: ...

    def after_commit(self, centre_id: int, messages: Sequence[Message]) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessBroker:
    """One server process (the SQLite default): events go straight to this process's hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def in_transaction(self, connection: Any, centre_id: int, messages: Sequence[Message]) -> None:
        return None

    def after_commit(self, centre_id: int, messages: Sequence[Message]) -> None:
        self.hub.publish(centre_id, messages)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
