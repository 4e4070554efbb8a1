"""The day's end, with the server's clock moved across local midnight (Asia/Ho_Chi_Minh, UTC+7):
numbering restarts, the tickets left open from the day before are closed as expired (and stay in
the log and the reports), counters holding one are freed, the screens are told, and every client
connected across midnight keeps working: the kiosk, the display and the counter app, and the
officer's sign-in of the evening before."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlmodel import col, select
from websockets.sync.client import ClientConnection

from client.connection import Connection
from display.model import Call, DisplayModel
from server.config import Settings
from server.storage import tables
from tests.conftest import CHUNG_THUC, HO_TICH, NGUOI_CAO_TUOI, Live, Template, make_settings, nothing_more, receive
from tests.test_counter import open_app, press, sign_in_at
from tests.test_kiosk import close_kiosk, open_kiosk

# Monday 23 November 2026 in Hà Nội: 16:00, 23:59:50, then Tuesday 00:00:05, 02:00 and 07:45.
MONDAY_1600 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MONDAY_2359 = datetime(2026, 11, 23, 16, 59, 50, tzinfo=UTC)
TUESDAY_0000 = datetime(2026, 11, 23, 17, 0, 5, tzinfo=UTC)
TUESDAY_0200 = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
TUESDAY_0745 = datetime(2026, 11, 24, 0, 45, tzinfo=UTC)

# The server looks for a passed midnight this often here (15 s in production).
DAY_CHECK_SECONDS = 0.2


@pytest.fixture
def settings(tmp_path: Path, database: Template) -> Settings:
    return make_settings(tmp_path, database, day_check_seconds=DAY_CHECK_SECONDS)


def events_until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Every event up to and including the first of `kind`."""
    events = []
    while True:
        message = receive(ws)
        assert message["type"] == "event", message
        events.append(message)
        if message["kind"] == kind:
            return events


def tickets(live: Live) -> dict[str, tables.Ticket]:
    with live.ctx.read() as session:
        return {f"{t.service_day:%d}/{t.label}": t for t in session.exec(select(tables.Ticket)).all()}


def counter_row(live: Live, counter_id: int) -> tables.Counter:
    with live.ctx.read() as session:
        row = session.get(tables.Counter, counter_id)
        assert row is not None
        return row


def day_events(live: Live, kind: str) -> list[tables.Event]:
    with live.ctx.read() as session:
        return list(session.exec(select(tables.Event).where(tables.Event.kind == kind).order_by(col(tables.Event.seq))).all())


def a_monday(live: Live) -> tuple[Any, Any]:
    """Monday's leftovers at 23:59: two waiting in Hộ tịch, one waiting priority, one in Chứng
    thực, one called at counter 1 and never finished; one served at counter 2."""
    for _ in range(4):
        live.issue(HO_TICH)
    live.issue(HO_TICH, NGUOI_CAO_TUOI)
    live.issue(CHUNG_THUC)
    # Signed in in the afternoon: the 12-hour sign-in lasts until 04:00 on Tuesday.
    live.clock.set(MONDAY_1600)
    lan = live.officer("lan.nt", 1)
    hung = live.officer("hung.tv", 2)
    assert hung.post("/counters/2/call-next").json()["ticket"]["label"] == "2001"
    assert hung.post("/counters/2/finish").status_code == 200
    called = lan.post("/counters/1/call-next").json()["ticket"]
    assert called["label"] == "1005" and called["priority_group"] == "Người cao tuổi"
    live.clock.set(MONDAY_2359)
    return lan, hung


@pytest.mark.both_databases
def test_midnight_expires_what_was_left_and_numbering_restarts(live: Live) -> None:
    lan, _hung = a_monday(live)
    ws, snapshot = live.subscribe()
    assert snapshot["state"]["service_day"] == "2026-11-23"

    live.clock.set(TUESDAY_0000)
    # The server notices midnight by itself: nobody has to press anything.
    events = events_until(ws, "day.started")
    assert [e["seq"] for e in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events)))
    expired = [e for e in events if e["kind"] == "ticket.expired"]
    assert sorted(e["ticket"]["label"] for e in expired) == ["1001", "1002", "1003", "1004", "1005"]
    assert [e["kind"] for e in events] == ["ticket.expired"] * 5 + ["day.started"]
    at_counter = next(e for e in expired if e["ticket"]["label"] == "1005")
    assert at_counter["from_state"] == "called" and at_counter["counter_id"] == 1
    started = events[-1]
    assert started["data"] == {"service_day": "2026-11-24", "expired": 5}
    # Every field's queue is empty on the new day; the screens take a fresh snapshot from here.
    assert {q["waiting"] for q in started["queues"]} == {0}
    assert nothing_more(ws)

    rows = tickets(live)
    for label in ("1001", "1002", "1003", "1004", "1005"):
        ticket = rows[f"23/{label}"]
        assert ticket.state == "expired" and ticket.finished_at == TUESDAY_0000
    assert rows["23/2001"].state == "done"
    counter = counter_row(live, 1)
    # The officer who stayed signed in keeps the counter, which no longer holds yesterday's citizen.
    assert counter.current_ticket_id is None and counter.state == "open" and counter.priority_streak == 0

    state = live.kiosk().get("/centres/1/state").json()
    assert state["service_day"] == "2026-11-24" and state["recent_calls"] == []
    assert {f["issued_today"] for f in state["fields"]} == {0} and {f["waiting"] for f in state["fields"]} == {0}

    # After midnight the evening's sign-in still works, the same socket keeps delivering, and
    # numbers start again at 1001.
    live.clock.set(TUESDAY_0200)
    assert lan.post("/counters/1/call-next").json()["error"]["code"] == "queue_empty"
    issued = live.issue(HO_TICH)
    assert issued["ticket"]["label"] == "1001" and issued["people_ahead"] == 0
    assert receive(ws)["kind"] == "ticket.issued"
    called = lan.post("/counters/1/call-next").json()["ticket"]
    assert called["label"] == "1001" and called["service_day"] == "2026-11-24"
    assert receive(ws)["kind"] == "ticket.called"
    ws.close()

    # Yesterday's tickets stay in Monday's report: issued 6, served 1, and 5 left unserved.
    report = live.admin().get("/reports", params={"date_from": "2026-11-23", "date_to": "2026-11-23"}).json()
    assert report["overall"]["issued"] == 6 and report["overall"]["served"] == 1
    assert report["overall"]["expired"] == 5
    # The phone following an expired ticket says so.
    status = live.client().get(f"/public/tickets/{rows['23/1002'].code}").json()
    assert status["state"] == "expired" and status["state_text"] == "Đã hết hạn"


@pytest.mark.both_databases
def test_the_first_command_of_the_day_closes_yesterday_if_the_server_has_not_yet(live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH)
    # As if the server was off at midnight, or its check has not come round: the kiosk's first
    # ticket of the day does it, in its own transaction, before numbering.
    live.ctx.settings.day_check_seconds = 3600
    ws, _snapshot = live.subscribe()
    live.clock.set(TUESDAY_0745)
    # The watch may still run once on its old period; whichever comes first starts the day, once.
    issued = live.issue(HO_TICH)
    assert issued["ticket"]["label"] == "1001"
    kinds = [e["kind"] for e in events_until(ws, "ticket.issued")]
    assert kinds == ["ticket.expired", "ticket.expired", "day.started", "ticket.issued"]
    assert len(day_events(live, "day.started")) == 1
    ws.close()


@pytest.mark.both_databases
def test_many_kiosks_at_the_first_minute_start_the_day_once(live: Live) -> None:
    for _ in range(3):
        live.issue(HO_TICH)
    live.ctx.settings.day_check_seconds = 3600
    live.clock.set(TUESDAY_0745)
    labels: list[str] = []
    barrier = threading.Barrier(8)

    def kiosk() -> None:
        barrier.wait()
        labels.append(live.issue(HO_TICH)["ticket"]["label"])

    threads = [threading.Thread(target=kiosk) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(labels) == [str(n) for n in range(1001, 1009)]
    assert len(day_events(live, "day.started")) == 1
    assert len(day_events(live, "ticket.expired")) == 3
    with live.ctx.read() as session:
        seqs = session.exec(select(tables.Event.seq).order_by(col(tables.Event.seq))).all()
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.both_databases
def test_a_clock_put_back_does_not_start_a_day_again(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    live.issue(HO_TICH)
    live.clock.set(TUESDAY_0745)
    assert live.issue(HO_TICH)["ticket"]["label"] == "1001"
    # Someone sets a PC clock that ran a day ahead back to Monday night: nothing expires again and
    # no second day starts; the server carries on with the clock it has (Monday's numbering goes
    # on), and says in its log that the clock was put back, so someone sets it right.
    live.clock.set(MONDAY_2359)
    with caplog.at_level("ERROR", logger="hangdoi"):
        after = live.issue(HO_TICH)["ticket"]
        live.issue(HO_TICH)
    assert after["label"] == "1002" and after["service_day"] == "2026-11-23"
    assert len(day_events(live, "day.started")) == 1
    assert len(day_events(live, "ticket.expired")) == 1
    warnings = [r.getMessage() for r in caplog.records if "was put back" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once in a while, not at every command
    assert "set the clock right" in warnings[0]


# --- the apps, connected across midnight --------------------------------------------------------


@pytest.fixture
def apps(qtbot: QtBot, fonts: str, live: Live, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from tests.fake_printer import FakePrinter

    with FakePrinter() as printer:
        kiosk = open_kiosk(qtbot, live.base_url, live.devices["kiosk"], printer.spec)
        display_connection = Connection(live.base_url, live.devices["display"])
        display = DisplayModel(display_connection)
        calls: list[Call] = []
        display.announce.connect(calls.append)
        display_connection.start()
        counter = open_app(qtbot, live.base_url, tmp_path / "counter.json")
        try:
            yield {"kiosk": kiosk, "display": display, "calls": calls, "counter": counter}
        finally:
            counter.close()
            display_connection.stop()
            close_kiosk(kiosk)


def test_the_apps_carry_on_across_midnight(qtbot: QtBot, live: Live, apps: dict[str, Any]) -> None:
    kiosk, display, calls, app = apps["kiosk"], apps["display"], apps["calls"], apps["counter"]
    live.clock.set(MONDAY_1600)
    sign_in_at(qtbot, app, "lan.nt", 1)
    qtbot.waitUntil(lambda: display.connection.online, timeout=10000)
    kiosk.tap(qtbot, HO_TICH)
    qtbot.waitUntil(lambda: len(app.model.waiting) == 1, timeout=10000)
    live.issue(HO_TICH)
    press(qtbot, app, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: app.model.current is not None and app.model.current["label"] == "1001", timeout=10000)
    qtbot.waitUntil(lambda: [c.label for c in calls] == ["1001"], timeout=10000)
    assert [c.label for c in display.recent] == ["1001"]

    live.clock.set(TUESDAY_0000)
    # Each app takes the new day from the server: yesterday's citizen leaves the desk and the
    # board, the kiosk's counts start again, and nobody was told anything twice.
    qtbot.waitUntil(lambda: app.model.current is None and app.model.waiting == [], timeout=10000)
    qtbot.waitUntil(
        lambda: display.recent == [] and all(c.get("current") is None for c in display.counters.values()), timeout=10000
    )
    qtbot.waitUntil(lambda: kiosk.window.model.service_day == "2026-11-24", timeout=10000)
    ho_tich = kiosk.window.model.field(HO_TICH)
    assert ho_tich is not None and ho_tich["issued_today"] == 0 and ho_tich["waiting"] == 0
    assert app.model.online and display.connection.online and kiosk.connection.online

    # Tuesday's first citizen: the kiosk prints 1001 again, the officer calls it, the board says it.
    kiosk.tap(qtbot, HO_TICH)
    qtbot.waitUntil(lambda: len(app.model.waiting) == 1, timeout=10000)
    assert app.model.waiting[0]["label"] == "1001" and app.model.waiting[0]["service_day"] == "2026-11-24"
    press(qtbot, app, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: [c.label for c in calls] == ["1001", "1001"], timeout=10000)
    assert calls[0].seq < calls[1].seq and calls[1].counter_number == 1
    with live.ctx.read() as session:
        today = session.exec(select(tables.Ticket).where(tables.Ticket.state == "called")).one()
    assert str(today.service_day) == "2026-11-24"
