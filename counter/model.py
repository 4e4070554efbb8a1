"""The counter app's one state object: who is signed in, at which counter, what the server last
said about that counter and its queue, and every command the officer sends.

State only ever comes from the server: a command's answer, then the counter-scope snapshot the
connection brings after each event that concerns this counter. The model never guesses the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from client.connection import Connection, Reply
from counter.settings import remember_counter, remembered_counter

log = logging.getLogger(__name__)

# A command that does not reach the server is sent again, with the same idempotency key, for this
# long; after that the officer is told and nothing has changed.
COMMAND_RETRY_SECONDS = 8.0
# Waiting times on screen are counted from the issue time locally; the list itself is refreshed
# from the server at least this often even when no event comes.
REFRESH_SECONDS = 60
# Events after which the officer's own figures for today change.
FIGURE_EVENTS = frozenset({"ticket.finished", "ticket.no_show", "ticket.transferred", "ticket.rated"})
SIGNED_OUT_CODES = frozenset({"invalid_token", "not_authenticated", "4401"})
# The server no longer has this officer at this counter (another sign-in took it).
COUNTER_LOST_CODES = frozenset({"not_signed_in_at_counter", "counter_taken_over"})

BUSY = "Đang thực hiện thao tác trước, xin chờ giây lát."
NO_COUNTER = "Tài khoản này không thuộc Trung tâm nào nên không làm việc tại quầy được."


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class CounterModel(QObject):
    changed = Signal()  # the counter, its queue or the officer's figures changed
    busy_changed = Signal(bool)  # a command is in flight: every action button waits
    notice = Signal(str)  # a short message for the officer, e.g. a refused command
    choose_counter = Signal(list)  # signed in: these are the centre's counters to choose from
    at_counter = Signal()  # signed in at a counter, the live feed running
    signed_out = Signal(str)  # back to the sign-in screen, with why ("" when the officer chose to)
    rating_requested = Signal(dict)  # a ticket was just finished here: ask the citizen

    def __init__(self, connection: Connection, state_file: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connection = connection
        self.state_file = state_file
        self.officer: dict[str, Any] | None = None
        self.centre_id: int | None = None
        self.counter_id: int | None = None
        self.counter: dict[str, Any] | None = None
        self.waiting: list[dict[str, Any]] = []
        self.fields: list[dict[str, Any]] = []
        self.rating_scale: list[dict[str, Any]] = []
        self.rating_reasons: list[str] = []
        self.today: dict[str, Any] | None = None
        self.centre_counters: list[dict[str, Any]] = []
        self.centre_fields: list[dict[str, Any]] = []
        self.busy = False
        # The last refusal of the live feed (a revoked panel token), shown until a snapshot comes.
        self.refusal = ""
        # Set while this officer leaves the counter: the snapshot showing it closed is expected.
        self._leaving = False
        # Server time minus this machine's time, learnt from event times: a counter PC's clock is
        # often minutes off, and "service time 00:00" must start when the server says it did.
        self.clock_offset = timedelta(0)
        self._refresh_pending = False
        connection.snapshot_received.connect(self._on_snapshot)
        connection.event_received.connect(self._on_event)
        connection.online_changed.connect(self._on_online)
        connection.refused.connect(self._on_refused)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_SECONDS * 1000)
        self._refresh_timer.timeout.connect(self._refresh_all)

    # --- what the screens read ---------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.connection.online

    @property
    def current(self) -> dict[str, Any] | None:
        return self.counter.get("current") if self.counter else None

    @property
    def state(self) -> str:
        return str(self.counter["state"]) if self.counter else "closed"

    @property
    def field_ids(self) -> list[int]:
        return list(self.counter["field_ids"]) if self.counter else []

    def server_now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def field_names(self) -> list[str]:
        names = {f["id"]: f["name"] for f in self.fields}
        return [names[i] for i in self.field_ids if i in names]

    # --- signing in and out --------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> None:
        if self.busy:
            return
        self.connection.stop()
        self.connection.token = None
        self._set_busy(True)
        body = {"username": username.strip(), "password": password}
        # Not retried: a sign-in creates a session, and the officer simply presses again.
        self.connection.send("POST", "/auth/login", body, on_done=self._signed_in)

    def _signed_in(self, reply: Reply) -> None:
        self._set_busy(False)
        if not reply.ok:
            self.notice.emit(reply.message)
            return
        self.connection.token = reply.data["token"]
        self.officer = reply.data["officer"]
        self.centre_id = self.officer.get("centre_id") if self.officer else None
        if self.centre_id is None:
            self.notice.emit(NO_COUNTER)
            return
        self.load_counters(take_remembered=True)

    def load_counters(self, take_remembered: bool = False) -> None:
        """Fetch the centre's counters (and fields, for transfers); with `take_remembered`, go
        straight to the counter this machine remembers if it still exists."""

        def loaded(reply: Reply) -> None:
            self._set_busy(False)
            if not reply.ok:
                self._refused(reply)
                if reply.status != 401 and self.officer is not None:
                    # Choose from the list known before; taking a counter asks the server anyway.
                    self.choose_counter.emit(self.centre_counters)
                return
            self.centre_counters = reply.data["counters"]
            self.centre_fields = reply.data["fields"]
            remembered = remembered_counter(self.state_file) if self.state_file else None
            counter = next((c for c in self.centre_counters if c["id"] == remembered), None)
            held_by_other = counter is not None and (counter.get("officer") or {}).get("id") not in (None, self.officer["id"])  # type: ignore[index]
            if take_remembered and counter is not None and not held_by_other:
                self.take_counter(counter["id"], remember=True)
            else:
                self.choose_counter.emit(self.centre_counters)

        self._set_busy(True)
        self.connection.send("GET", f"/centres/{self.centre_id}/state", on_done=loaded, retry_for=COMMAND_RETRY_SECONDS)

    def take_counter(self, counter_id: int, remember: bool = True) -> None:
        def taken(reply: Reply) -> None:
            self._set_busy(False)
            if not reply.ok:
                self._refused(reply)
                if reply.status != 401:
                    self.choose_counter.emit(self.centre_counters)
                return
            self.counter_id = counter_id
            if remember and self.state_file is not None:
                remember_counter(self.state_file, counter_id)
            self.counter = next((c for c in self.centre_counters if c["id"] == counter_id), None)
            self.waiting = []
            self.connection.stop()
            self.connection.scope = "counter"
            self.connection.counter_id = counter_id
            self.connection.start()
            self._refresh_timer.start()
            self.at_counter.emit()
            self.refresh_today()
            self.changed.emit()

        if self.busy:
            return
        self._set_busy(True)
        self.connection.send("POST", f"/auth/counter/{counter_id}", on_done=taken, retry_for=COMMAND_RETRY_SECONDS)

    def leave_counter(self) -> None:
        """Đổi quầy: close this counter and choose another."""

        def left(reply: Reply) -> None:
            self._set_busy(False)
            self._leaving = False
            # not_at_counter: an earlier try already left (its answer was lost) — done all the same.
            if not reply.ok and reply.code != "not_at_counter":
                self._refused(reply)
                return
            self._stop_live()
            if self.state_file is not None:
                remember_counter(self.state_file, None)
            self.load_counters()

        self._leaving = True
        self._run("DELETE", "/auth/counter", None, left)

    def sign_out(self) -> None:
        def done(reply: Reply) -> None:
            self._set_busy(False)
            self._leaving = False
            if reply.unreachable:
                # The server still holds the sign-in and the counter; leaving quietly would keep
                # the counter open in this officer's name.
                self.notice.emit("Không kết nối được máy chủ nên chưa đăng xuất được. Xin thử lại.")
                return
            self._forget_session("")

        self._leaving = True
        self._run("POST", "/auth/logout", None, done)

    def _forget_session(self, why: str) -> None:
        self._stop_live()
        self.connection.token = None
        self.officer = None
        self.centre_id = None
        self.signed_out.emit(why)
        self.changed.emit()

    def _stop_live(self) -> None:
        self.connection.stop()
        self._refresh_timer.stop()
        self._refresh_pending = False
        self.counter_id = None
        self.counter = None
        self.waiting = []
        self.fields = []
        self.today = None

    # --- counter commands --------------------------------------------------------------------

    def call_next(self) -> None:
        self._counter_command("call-next")

    def call_ticket(self, ticket_id: int) -> None:
        self._counter_command("call", {"ticket_id": ticket_id})

    def recall(self) -> None:
        self._counter_command("recall")

    def no_show(self, requeue: bool = False) -> None:
        self._counter_command("no-show", {"requeue": requeue})

    def finish(self) -> None:
        self._counter_command("finish", after=self._finished)

    def transfer(self, field_id: int | None = None, counter_id: int | None = None) -> None:
        self._counter_command("transfer", {"field_id": field_id, "counter_id": counter_id})

    def pause(self) -> None:
        self._counter_command("pause")

    def resume(self) -> None:
        self._counter_command("resume")

    def _finished(self, data: dict[str, Any]) -> None:
        if data.get("ticket"):
            self.rating_requested.emit(data["ticket"])
        self.refresh_today()

    def _counter_command(
        self, name: str, body: dict[str, Any] | None = None, after: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        if self.counter_id is None:
            return

        def done(reply: Reply) -> None:
            self._set_busy(False)
            if not reply.ok:
                if reply.code in COUNTER_LOST_CODES and self.officer is not None:
                    self._lose_counter(reply.message)
                    return
                self._refused(reply)
                # The server refused because it knows something this screen does not yet.
                self._refresh()
                return
            self.counter = reply.data["counter"]
            self.changed.emit()
            self._refresh()
            if after is not None:
                after(reply.data)

        self._run("POST", f"/counters/{self.counter_id}/{name}", body, done)

    def _run(self, method: str, path: str, body: dict[str, Any] | None, done: Callable[[Reply], None]) -> None:
        if self.busy:
            self.notice.emit(BUSY)
            return
        self._set_busy(True)
        self.connection.send(method, path, body, on_done=done, retry_for=COMMAND_RETRY_SECONDS)

    def rate(self, ticket_id: int, level: int, reason: str, on_done: Callable[[Reply], None]) -> None:
        """The citizen's answer. Not tied to `busy`: the officer may already be calling the next
        number while the citizen taps on the other screen."""
        if self.counter_id is None:
            # Always answer: the rating screen is waiting for it.
            on_done(Reply(None, code="not_at_counter", message="Quầy đã đóng."))
            return
        body = {"ticket_id": ticket_id, "level": level, "reason": reason}

        def done(reply: Reply) -> None:
            if reply.status == 401:
                self._refused(reply)
            on_done(reply)

        self.connection.send("POST", f"/counters/{self.counter_id}/rating", body, on_done=done, retry_for=COMMAND_RETRY_SECONDS)

    def refresh_today(self) -> None:
        def loaded(reply: Reply) -> None:
            if reply.ok:
                self.today = reply.data
                self.changed.emit()

        if self.connection.token and self.officer is not None:
            self.connection.send("GET", "/auth/me/today", on_done=loaded)

    # --- live state ----------------------------------------------------------------------------

    def start_panel(self) -> None:
        """The panel above the counter: a device token bound to its counter, read-only."""
        self.connection.scope = "counter"
        self.connection.start()
        self._refresh_timer.start()

    def _on_snapshot(self, state: dict[str, Any]) -> None:
        self._refresh_pending = False
        self.refusal = ""
        counter = state["counter"]
        self.counter = counter
        self.counter_id = counter["id"]
        self.waiting = state["waiting"]
        self.fields = state["fields"]
        self.rating_scale = state.get("rating_scale", [])
        self.rating_reasons = state.get("rating_reasons", [])
        if self.officer is not None and not self._leaving:
            at_desk = counter.get("officer") or {}
            if at_desk.get("id") != self.officer["id"]:
                # Another officer signed in at this counter (this one forgot to sign out, or
                # moved), or an admin closed it: commands from here would be refused.
                name = at_desk.get("full_name")
                if name:
                    self._lose_counter(f"Quầy số {counter['number']} đã được cán bộ {name} đăng nhập. Xin chọn lại quầy.")
                else:
                    self._lose_counter(f"Quầy số {counter['number']} đã đóng. Xin chọn lại quầy.")
                return
        self.changed.emit()

    def _lose_counter(self, why: str) -> None:
        """The server no longer has this officer at this counter: back to the choice, saying why."""
        self._stop_live()
        self.notice.emit(why)
        self.load_counters()

    def _on_event(self, event: dict[str, Any]) -> None:
        self._learn_time(event)
        if self._concerns_this_counter(event):
            self._refresh()
        if (event.get("counter_id") == self.counter_id and event["kind"] in FIGURE_EVENTS) or event["kind"] == "day.started":
            self.refresh_today()

    def _concerns_this_counter(self, event: dict[str, Any]) -> bool:
        if event["kind"] in ("config.updated", "day.started") or event.get("counter_id") == self.counter_id:
            return True
        mine = set(self.field_ids)
        data = event.get("data") or {}
        ticket = event.get("ticket") or {}
        return (
            event.get("field_id") in mine
            or data.get("from_field_id") in mine
            or (ticket.get("target_counter_id") is not None and ticket.get("target_counter_id") == self.counter_id)
        )

    def _refresh(self) -> None:
        """Ask for a fresh counter snapshot, once: the events that come while it is on its way
        are already in it."""
        if not self._refresh_pending and self.connection.online:
            self._refresh_pending = True
            self.connection.request_snapshot()

    def _refresh_all(self) -> None:
        self._refresh()
        self.refresh_today()

    def _on_online(self, online: bool) -> None:
        if not online:
            self._refresh_pending = False
        self.changed.emit()

    def _on_refused(self, code: str, message: str) -> None:
        if code in SIGNED_OUT_CODES and self.officer is not None:
            self._forget_session(message or "Phiên đăng nhập đã hết hạn. Xin đăng nhập lại.")
            return
        if self.officer is None:
            # A panel whose token was revoked must not keep showing the last number and officer.
            self.counter = None
            self.waiting = []
            self.refusal = message or "Máy chủ từ chối kết nối của màn hình này."
        self.notice.emit(message)
        self.changed.emit()

    def _refused(self, reply: Reply) -> None:
        if reply.status == 401 and self.officer is not None:
            self._forget_session(reply.message)
        else:
            self.notice.emit(reply.message)

    def _learn_time(self, event: dict[str, Any]) -> None:
        # An event arrives a few milliseconds after its time: close enough for a minute clock.
        moment = parse_time(event.get("at"))
        if moment is not None:
            self.clock_offset = moment - datetime.now(UTC)

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)
