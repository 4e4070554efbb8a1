"""What every service function works with: the app context, the actor, and the unit of work."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.clock import Clock
from server.config import Settings
from server.engine.model import Event as EngineEvent
from server.realtime import Broker, Message
from server.services import service_day, views
from server.services.errors import Invalid, NotFound
from server.storage import tables
from server.storage.database import writer

M = TypeVar("M", bound=BaseModel)


# Statements every command runs, built once (building costs more than running them on SQLite).
# populate_existing: a centre already in the session must be read again under the lock, or its
# event_seq could be stale and two events would claim one number.
_LOCK_CENTRE = (
    select(tables.Centre)
    .where(tables.Centre.id == bindparam("centre_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_EARLIER_ANSWER = select(tables.IdempotencyRecord).where(
    tables.IdempotencyRecord.actor == bindparam("actor"), tables.IdempotencyRecord.key == bindparam("key")
)


# A server clock this far behind the centre's last event was put back (a fast clock corrected by
# hand or by NTP, a dead RTC battery). Nothing can be trusted to order by time until it catches
# up, and freezing time would stop every rule that counts in minutes (the kiosk's rate limit,
# waits, estimates): the server carries on with the clock it has and says so in its log, once
# in a while, so that someone sets the clock right.
CLOCK_WENT_BACK = timedelta(seconds=60)
CLOCK_WARNING_EVERY = 600.0
log = logging.getLogger("hangdoi")


def _warn_clock_went_back(ctx: AppContext, centre: tables.Centre, now: datetime) -> None:
    assert centre.id is not None and centre.last_event_at is not None
    last = ctx.clock_warned_at.get(centre.id)
    if last is not None and time.monotonic() - last < CLOCK_WARNING_EVERY:
        return
    ctx.clock_warned_at[centre.id] = time.monotonic()
    log.error(
        "the server's clock (%s) is %s behind the last event of centre %s (%s): it was put back. Tickets issued "
        "now may queue ahead of earlier ones until it catches up; set the clock right (timedatectl, NTP).",
        now.isoformat(timespec="seconds"),
        centre.last_event_at - now,
        centre.id,
        centre.last_event_at.isoformat(timespec="seconds"),
    )


@dataclass(frozen=True)
class Actor:
    """Who sends a request: a signed-in officer or an authenticated device."""

    kind: str  # "officer" or "device"
    id: int
    centre_id: int | None  # None only for a province administrator
    role: str  # officers: "admin" or "officer"; devices: "kiosk", "display" or "counter_panel"
    name: str
    counter_id: int | None = None  # the counter an officer is signed in at, or a panel's counter
    session_id: int | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.kind == "officer" and self.role == "admin"


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    clock: Clock
    broker: Broker
    # SQLite takes one writer at a time anyway; queueing writers on a lock here is fair, where
    # SQLite's busy handler retries with sleeps and lets a few requests wait for seconds.
    # None on PostgreSQL, where row locks order the writers.
    write_lock: threading.Lock | None = None
    # When the log last said, per centre, that the clock was put back (monotonic seconds).
    clock_warned_at: dict[int, float] = field(default_factory=dict)

    def read(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def read_snapshot(self) -> Session:
        """A read whose statements all see one moment, so a snapshot matches its `seq`. SQLite's
        read transactions already do (WAL); PostgreSQL needs REPEATABLE READ for it."""
        if self.engine.dialect.name == "sqlite":
            return self.read()
        return Session(self.engine.execution_options(isolation_level="REPEATABLE READ"), expire_on_commit=False)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)


class UnitOfWork:
    """One command's transaction. Events recorded here get the centre's next sequence numbers and
    are handed to the broker only once the transaction has committed."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.session = Session(writer(ctx.engine), expire_on_commit=False)
        self.now: datetime = ctx.clock.now()
        self._locked = False
        self._events: list[tuple[tables.Event, tables.Ticket | None]] = []
        self._centre: tables.Centre | None = None

    def __enter__(self) -> UnitOfWork:
        if self.ctx.write_lock is not None:
            self.ctx.write_lock.acquire()
            self._locked = True
        # Read the clock once the turn has come, so event times grow with sequence numbers.
        self.now = self.ctx.clock.now()
        self.session.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.session.in_transaction():
                self.session.rollback()
            self.session.close()
        finally:
            if self._locked:
                self._locked = False
                self.ctx.write_lock.release()  # type: ignore[union-attr]

    def lock_centre(self, centre_id: int) -> tables.Centre:
        """Lock the centre row first in every command: this is how numbering and calling stay
        exactly-once on PostgreSQL, with any number of workers and servers.

        Which: a row lock (SELECT … FOR UPDATE on the centre), held until commit. Every command of
        a centre runs after the previous one committed, so two kiosks cannot read the same "last
        number" and two counters cannot pick the same waiting ticket.
        Why not SKIP LOCKED: a counter skipping a locked ticket would call the next one out of
        queue order, and the centre's event sequence numbers (which the screens use to notice a
        lost event) must still be handed out one at a time, in commit order, which needs exactly
        this lock. Why not compare-and-set: under a Monday-morning rush the losers retry the
        whole command, wasting more time than waiting would. The cost is small: a centre's
        command holds the lock for a few milliseconds, and different centres never wait for each
        other's locks (PostgreSQL does put transactions that sent NOTIFY through their commit one
        at a time, server-wide: a brief step, but it bounds events per second by commit speed).
        On SQLite BEGIN IMMEDIATE has already serialised all writers.
        Taking this lock first, always, means two commands never wait on each other in opposite
        orders (no deadlock)."""
        centre = self.session.exec(_LOCK_CENTRE, params={"centre_id": centre_id}).first()
        if centre is None:
            raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
        if self.ctx.write_lock is None:
            # On PostgreSQL the turn comes with this lock: read the clock now, so queue times and
            # event times grow with numbers and sequence numbers.
            self.now = self.ctx.clock.now()
        self._centre = centre
        if centre.last_event_at is not None and self.now < centre.last_event_at - CLOCK_WENT_BACK:
            _warn_clock_went_back(self.ctx, centre, self.now)
        # The first command of a new local day closes the day before, before doing its own work.
        service_day.start_day_if_due(self, centre)
        return centre

    def reread(self, row: Any) -> None:
        """Read again a row loaded before lock_centre(). SQLite held the write lock from BEGIN, so
        nothing can have changed there; on PostgreSQL another command may have committed."""
        if self.ctx.write_lock is None:
            self.session.refresh(row)

    def record(self, event: EngineEvent, actor: Actor | None, ticket_row: tables.Ticket | None = None) -> tables.Event:
        """Append one engine event to the log with the centre's next sequence number."""
        centre = self._centre
        assert centre is not None, "lock_centre() first"
        centre.event_seq += 1
        centre.last_event_at = max(event.at, centre.last_event_at or event.at)
        row = tables.Event(
            centre_id=centre.id,  # type: ignore[arg-type]
            seq=centre.event_seq,
            kind=event.kind,
            at=event.at,
            ticket_id=ticket_row.id if ticket_row is not None else None,
            counter_id=event.counter_id,
            field_id=event.field_id,
            officer_id=actor.id if actor is not None and actor.kind == "officer" else None,
            device_id=actor.id if actor is not None and actor.kind == "device" else None,
            from_state=event.from_state,
            to_state=event.to_state,
            data=event.data,
        )
        self.session.add(row)
        self._events.append((row, ticket_row))
        return row

    def _touched_fields(self) -> list[int] | None:
        """The fields whose queue figures the command may have changed (None: all of them)."""
        touched: set[int] = set()
        counters: set[int] = set()
        for row, _ticket in self._events:
            if row.kind in ("config.updated", "day.started"):
                return None
            for field_id in (row.field_id, row.data.get("from_field_id"), row.data.get("to_field_id")):
                if field_id is not None:
                    touched.add(field_id)
            if row.kind.startswith("counter.") and row.counter_id is not None:
                counters.add(row.counter_id)  # opening or pausing changes its fields' estimates
        if counters:
            for field_ids in views.counter_field_ids(self.session, counters).values():
                touched.update(field_ids)
        return sorted(touched)

    def commit(self) -> None:
        self.session.flush()
        messages: list[Message] = []
        if self._events:
            centre = self._centre
            assert centre is not None
            for row, ticket in self._events:
                if ticket is not None and row.ticket_id is None:
                    row.ticket_id = ticket.id
            self.session.flush()
            queues = views.queue_summaries(self.session, centre, self.now, self._touched_fields())
            messages = [views.event_message(self.session, row, ticket, queues) for row, ticket in self._events]
            self.ctx.broker.in_transaction(self.session.connection(), centre.id, messages)  # type: ignore[arg-type]
        self.session.commit()
        if messages:
            assert self._centre is not None
            self.ctx.broker.after_commit(self._centre.id, messages)  # type: ignore[arg-type]


def run_command(
    ctx: AppContext,
    actor: Actor,
    idempotency_key: str | None,
    request: str,
    result_type: type[M],
    body: Callable[[UnitOfWork], M],
) -> M:
    """Run one command in its own transaction. With an idempotency key, a retry of the same request
    by the same actor gets the first answer back instead of running again."""
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 100):
        raise Invalid("idempotency_key_invalid", "Khóa chống lặp (Idempotency-Key) phải dài từ 1 đến 100 ký tự.")
    # Only a digest is kept: enough to tell a genuine retry from a different request with the key.
    request = hashlib.sha256(request.encode()).hexdigest()
    for _attempt in range(2):
        with ctx.unit_of_work() as uow:
            if idempotency_key is not None:
                earlier = _earlier_answer(uow.session, actor, idempotency_key, request, result_type)
                if earlier is not None:
                    return earlier
            result = body(uow)
            if idempotency_key is not None:
                uow.session.add(
                    tables.IdempotencyRecord(
                        actor=actor.key,
                        key=idempotency_key,
                        request=request,
                        status_code=200,
                        response=result.model_dump(mode="json"),
                        created_at=uow.now,
                    )
                )
            try:
                uow.commit()
            except IntegrityError:
                # A concurrent twin with the same key (PostgreSQL) committed first: the second
                # pass returns its answer. Any other integrity error is a real fault.
                if idempotency_key is None or _attempt == 1:
                    raise
                continue
            return result
    raise AssertionError("not reached")


def _earlier_answer(session: Session, actor: Actor, key: str, request: str, result_type: type[M]) -> M | None:
    record = session.exec(_EARLIER_ANSWER, params={"actor": actor.key, "key": key}).first()
    if record is None:
        return None
    if record.request != request:
        raise Invalid(
            "idempotency_key_reused",
            "Khóa chống lặp (Idempotency-Key) này đã được dùng cho một yêu cầu khác.",
        )
    return result_type.model_validate(record.response)


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
