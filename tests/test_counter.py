"""The counter app against a real server: sign-in, the counter choice, the six actions with their
keys, the live waiting list, the citizen's rating window, the panel above the counter, refusals,
a dropped connection and an expired sign-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot
from sqlmodel import select
from websockets.sync.client import ClientConnection

from bench._server import running_server
from client.connection import Connection, Reply
from counter.model import BUSY, CounterModel
from counter.panel import PanelWindow
from counter.rating_window import RatingWindow, face
from counter.window import CounterWindow, TransferDialog
from server.demo import DEMO_PASSWORD
from server.storage import tables
from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, NGUOI_CAO_TUOI, Live, receive, screenshot

WAIT = 10000


@dataclass
class App:
    window: CounterWindow
    model: CounterModel
    rating: RatingWindow

    @property
    def page(self) -> Any:
        return self.window.work_page

    def close(self) -> None:
        self.model.connection.stop()
        self.rating.close()
        self.window.close()


def open_app(qtbot: QtBot, server_url: str, state_file: Path, answer_seconds: float = 30.0) -> App:
    connection = Connection(server_url, None, scope="counter")
    model = CounterModel(connection, state_file)
    window = CounterWindow(model, server_url)
    window.resize(1280, 760)
    window.show()
    rating = RatingWindow(model, answer_seconds)
    rating.resize(1024, 640)
    model.rating_requested.connect(rating.ask)
    return App(window, model, rating)


def sign_in(qtbot: QtBot, app: App, username: str, password: str = DEMO_PASSWORD) -> None:
    page = app.window.sign_in_page
    page.username.setText(username)
    page.password.setText(password)
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


def sign_in_at(qtbot: QtBot, app: App, username: str, counter_number: int) -> None:
    """Sign in and take the counter (chosen on the choice page, or remembered)."""
    sign_in(qtbot, app, username)
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() in (app.window.choose_page, app.window.work_page), timeout=WAIT)
    if app.window.stack.currentWidget() is app.window.choose_page:
        qtbot.waitUntil(lambda: bool(app.window.choose_page.buttons), timeout=WAIT)
        counter_id = counter_number  # the demo creates counters 1..5 with ids 1..5
        qtbot.mouseClick(app.window.choose_page.buttons[counter_id], Qt.MouseButton.LeftButton)
    ready(qtbot, app)


def ready(qtbot: QtBot, app: App) -> None:
    qtbot.waitUntil(
        lambda: (
            app.window.stack.currentWidget() is app.window.work_page
            and app.model.online
            and not app.model.busy
            and app.model.rating_scale != []
            and app.model.today is not None
        ),
        timeout=WAIT,
    )


def press(qtbot: QtBot, app: App, key: Qt.Key) -> None:
    """A keyboard shortcut, then wait for the command's answer."""
    qtbot.keyClick(app.window, key)
    qtbot.waitUntil(lambda: not app.model.busy, timeout=WAIT)


def settle(qtbot: QtBot, app: App, waiting: int) -> None:
    qtbot.waitUntil(lambda: len(app.model.waiting) == waiting and app.page.table.rowCount() == waiting, timeout=WAIT)


def events_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message = receive(ws)
        if message.get("kind") == kind:
            return message


@pytest.fixture
def app(qtbot: QtBot, fonts: str, live: Live, tmp_path: Path) -> Iterator[App]:
    opened = open_app(qtbot, live.base_url, tmp_path / "counter.json")
    yield opened
    opened.close()


def ratings(live: Live) -> list[tables.Rating]:
    with live.ctx.read() as session:
        return list(session.exec(select(tables.Rating)).all())


def event_count(live: Live, kind: str) -> int:
    with live.ctx.read() as session:
        return len(session.exec(select(tables.Event).where(tables.Event.kind == kind)).all())


# --- signing in ---------------------------------------------------------------------------------


def test_sign_in_choose_a_counter_and_it_is_remembered(qtbot: QtBot, app: App, live: Live, tmp_path: Path) -> None:
    screenshot(app.window, "counter-sign-in")
    sign_in(qtbot, app, "lan.nt")
    choose = app.window.choose_page
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is choose and len(choose.buttons) == 5, timeout=WAIT)
    assert "Nguyễn Thị Lan" in choose.hello.text()
    assert "Hộ tịch, Chứng thực" in choose.buttons[1].text()
    screenshot(app.window, "counter-choose")
    qtbot.mouseClick(choose.buttons[1], Qt.MouseButton.LeftButton)
    ready(qtbot, app)
    assert app.page.counter_title.text() == "Quầy số 1"
    assert app.page.counter_fields.text() == "Hộ tịch · Chứng thực"
    assert app.page.officer_name.text() == "Nguyễn Thị Lan"
    assert json.loads((tmp_path / "counter.json").read_text()) == {"counter_id": 1}
    counter = live.admin().get("/counters/1/state").json()["counter"]
    assert counter["state"] == "open" and counter["officer"]["full_name"] == "Nguyễn Thị Lan"

    qtbot.mouseClick(app.page.sign_out, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is app.window.sign_in_page, timeout=WAIT)
    assert live.admin().get("/counters/1/state").json()["counter"]["state"] == "closed"
    # The next sign-in on this machine goes straight to the remembered counter.
    sign_in(qtbot, app, "lan.nt")
    ready(qtbot, app)
    assert app.model.counter_id == 1


def test_a_wrong_password_is_refused(qtbot: QtBot, app: App) -> None:
    sign_in(qtbot, app, "lan.nt", "sai-mat-khau")
    page = app.window.sign_in_page
    qtbot.waitUntil(lambda: "không đúng" in page.error.text(), timeout=WAIT)
    assert page.error.text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert app.window.stack.currentWidget() is page
    assert app.model.connection.token is None and page.password.text() == ""
    screenshot(app.window, "counter-sign-in-refused")


def test_an_expired_sign_in_goes_back_to_the_sign_in_screen(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    live.issue(HO_TICH)
    live.clock.advance(hours=live.ctx.settings.token_ttl_hours, minutes=1)
    press(qtbot, app, Qt.Key.Key_F1)
    page = app.window.sign_in_page
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is page, timeout=WAIT)
    assert "hết hạn" in page.error.text()
    assert not app.model.connection.online and app.model.connection.token is None
    # Nothing was called with the expired token.
    assert [t["label"] for t in live.admin().get(f"/fields/{HO_TICH}/queue").json()] == ["1001"]


# --- the six actions -------------------------------------------------------------------------------


def test_call_next_reaches_the_display_and_the_list_stays_live(qtbot: QtBot, app: App, live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(CHUNG_THUC)
    sign_in_at(qtbot, app, "lan.nt", 1)
    settle(qtbot, app, 2)
    # Issued after sign-in: the list follows without anyone pressing anything.
    live.issue(HO_TICH, NGUOI_CAO_TUOI)
    settle(qtbot, app, 3)
    assert [app.page.table.item(r, 0).text() for r in range(3)] == ["1002", "1001", "2001"]  # priority first
    assert app.page.table.item(0, 2).text() == "Người cao tuổi"
    assert app.page.waiting_title.text() == "Đang chờ: 3 người"

    display, _snapshot = live.subscribe()
    press(qtbot, app, Qt.Key.Key_F1)
    called = events_of(display, "ticket.called")
    assert called["ticket"]["label"] == "1002" and called["counter_number"] == 1
    assert app.page.ticket_number.text() == "1002"
    assert app.page.ticket_priority.text() == "Ưu tiên: Người cao tuổi"
    assert app.page.ticket_state.text() == "Đã gọi – chờ công dân đến quầy"
    settle(qtbot, app, 2)
    assert not app.page.call_next_button.isEnabled() and app.page.finish_button.isEnabled()
    screenshot(app.window, "counter-main")
    display.close()


def test_recall_and_no_show(qtbot: QtBot, app: App, live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH)
    sign_in_at(qtbot, app, "lan.nt", 1)
    display, _snapshot = live.subscribe()
    press(qtbot, app, Qt.Key.Key_F1)
    events_of(display, "ticket.called")
    press(qtbot, app, Qt.Key.Key_F2)
    recalled = events_of(display, "ticket.recalled")
    assert recalled["ticket"]["label"] == "1001" and recalled["ticket"]["recall_count"] == 1
    qtbot.waitUntil(lambda: "gọi lại 1 lần" in app.page.ticket_state.text(), timeout=WAIT)

    press(qtbot, app, Qt.Key.Key_F3)
    gone = events_of(display, "ticket.no_show")
    assert gone["ticket"]["label"] == "1001" and gone["ticket"]["state"] == "no_show"
    assert app.model.current is None and app.page.ticket_number.text() == "Chưa có số nào"
    qtbot.waitUntil(lambda: app.model.today is not None and app.model.today["no_shows"] == 1, timeout=WAIT)
    # The next one is called as usual.
    press(qtbot, app, Qt.Key.Key_F1)
    assert events_of(display, "ticket.called")["ticket"]["label"] == "1002"
    display.close()


def test_call_a_chosen_ticket_from_the_list(qtbot: QtBot, app: App, live: Live) -> None:
    for _ in range(3):
        live.issue(HO_TICH)
    sign_in_at(qtbot, app, "lan.nt", 1)
    settle(qtbot, app, 3)
    app.page.table.selectRow(2)
    assert app.page.call_selected_button.isEnabled()
    qtbot.mouseClick(app.page.call_selected_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.model.current is not None, timeout=WAIT)
    assert app.model.current["label"] == "1003"  # type: ignore[index]
    settle(qtbot, app, 2)


def test_transfer_keeps_the_number_and_moves_it_to_the_target(qtbot: QtBot, app: App, live: Live) -> None:
    live.issue(HO_TICH)
    sign_in_at(qtbot, app, "lan.nt", 1)
    press(qtbot, app, Qt.Key.Key_F1)
    assert app.model.current["label"] == "1001"  # type: ignore[index]

    def choose_dat_dai() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, TransferDialog)
        screenshot(dialog, "counter-transfer")
        names = [dialog.fields.item(i).text() for i in range(dialog.fields.count())]
        assert "Hộ tịch" not in names  # not to its own field
        dialog.fields.setCurrentRow(names.index("Đất đai"))
        assert dialog.target() == (DAT_DAI, None)
        dialog.ok.click()

    QTimer.singleShot(300, choose_dat_dai)
    qtbot.keyClick(app.window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not app.model.busy and app.model.current is None, timeout=WAIT)

    queue = live.admin().get("/counters/3/state").json()["waiting"]
    assert [(t["label"], t["field"]["name"], t["transfer_count"]) for t in queue] == [("1001", "Đất đai", 1)]
    # Counter 3 (Đất đai) calls it next, with its original number.
    officer = live.officer("mai.lt", 3)
    assert officer.post("/counters/3/call-next").json()["ticket"]["label"] == "1001"


def test_transfer_to_one_counter(qtbot: QtBot, app: App, live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH)
    sign_in_at(qtbot, app, "lan.nt", 1)
    press(qtbot, app, Qt.Key.Key_F1)
    app.model.transfer(counter_id=5)
    qtbot.waitUntil(lambda: not app.model.busy and app.model.current is None, timeout=WAIT)
    counter_5 = live.admin().get("/counters/5/state").json()["waiting"]
    assert [t["label"] for t in counter_5] == ["1001"]
    # It is counter 5's alone now: counter 1 calls the next one.
    settle(qtbot, app, 1)
    press(qtbot, app, Qt.Key.Key_F1)
    assert app.model.current["label"] == "1002"  # type: ignore[index]


def test_pause_and_resume(qtbot: QtBot, app: App, live: Live) -> None:
    live.issue(HO_TICH)
    sign_in_at(qtbot, app, "lan.nt", 1)
    press(qtbot, app, Qt.Key.Key_F6)
    assert app.model.state == "paused"
    assert app.page.paused.isVisible() and app.page.pause_button.title.text() == "Tiếp tục"
    assert not app.page.call_next_button.isEnabled()
    screenshot(app.window, "counter-paused")
    press(qtbot, app, Qt.Key.Key_F6)
    assert app.model.state == "open" and app.page.call_next_button.isEnabled()


# --- refusals --------------------------------------------------------------------------------------


def test_refused_actions_show_a_short_message_and_change_nothing(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    seq_before = live.admin().get("/centres/1/state").json()["seq"]
    press(qtbot, app, Qt.Key.Key_F1)  # nobody waiting
    notice = app.page.notice
    qtbot.waitUntil(lambda: notice.isVisible(), timeout=WAIT)
    assert notice.text() == "Hiện không có công dân nào đang chờ ở các lĩnh vực của quầy."
    assert app.model.current is None
    assert live.admin().get("/centres/1/state").json()["seq"] == seq_before
    screenshot(app.window, "counter-refused")

    live.issue(HO_TICH)
    press(qtbot, app, Qt.Key.Key_F1)
    # The call's answer must be in before Hoàn thành can be pressed (on a loaded machine it takes a while).
    qtbot.waitUntil(lambda: app.model.current is not None and app.page.finish_button.isEnabled(), timeout=WAIT)
    # A double press of Hoàn thành: every action waits for the first answer, so it acts once.
    sent: list[str] = []
    original_send = app.model.connection.send
    app.model.connection.send = lambda method, path, *a, **k: (sent.append(path), original_send(method, path, *a, **k))  # type: ignore[method-assign]
    qtbot.mouseClick(app.page.finish_button, Qt.MouseButton.LeftButton)
    assert app.model.busy and not app.page.finish_button.isEnabled() and not app.page.call_next_button.isEnabled()
    app.model.finish()  # what a second press would do if the button were still live
    assert notice.text() == BUSY
    qtbot.waitUntil(lambda: not app.model.busy, timeout=WAIT)
    app.model.connection.send = original_send  # type: ignore[method-assign]
    assert [p for p in sent if p.endswith("/finish")] == ["/counters/1/finish"]
    # And a finish sent again after the answer (a stale second screen, a script) is refused.
    app.model.finish()
    qtbot.waitUntil(lambda: not app.model.busy, timeout=WAIT)
    assert notice.text() == "Quầy số 1 hiện không phục vụ số nào."
    assert event_count(live, "ticket.finished") == 1


def test_another_officer_taking_the_counter_sends_this_one_back_to_the_choice(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    live.login("hung.tv", 1)
    choose = app.window.choose_page
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is choose, timeout=WAIT)
    assert choose.error.text() == "Quầy số 1 đã được cán bộ Trần Văn Hùng đăng nhập. Xin chọn lại quầy."


def test_two_counters_calling_at_once_get_different_tickets(qtbot: QtBot, fonts: str, live: Live, tmp_path: Path) -> None:
    for _ in range(2):
        live.issue(HO_TICH)
    first = open_app(qtbot, live.base_url, tmp_path / "one.json")
    second = open_app(qtbot, live.base_url, tmp_path / "two.json")
    try:
        sign_in_at(qtbot, first, "lan.nt", 1)
        sign_in_at(qtbot, second, "hung.tv", 2)
        first.model.call_next()
        second.model.call_next()
        qtbot.waitUntil(lambda: first.model.current is not None and second.model.current is not None, timeout=WAIT)
        labels = {first.model.current["label"], second.model.current["label"]}  # type: ignore[index]
        assert labels == {"1001", "1002"}
        settle(qtbot, first, 0)
        settle(qtbot, second, 0)
    finally:
        first.close()
        second.close()


def test_a_dropped_connection_comes_back_by_itself_with_the_servers_state(qtbot: QtBot, fonts: str, tmp_path: Path) -> None:
    with running_server() as server:
        kiosk = Connection(server.base_url, server.kiosk_token)
        app = open_app(qtbot, server.base_url, tmp_path / "counter.json")
        try:
            answers: list[Reply] = []
            for _ in range(2):
                kiosk.send("POST", "/tickets", {"field_id": HO_TICH}, on_done=answers.append)
            qtbot.waitUntil(lambda: len(answers) == 2, timeout=WAIT)
            assert all(a.ok for a in answers), answers
            sign_in_at(qtbot, app, "lan.nt", 1)
            press(qtbot, app, Qt.Key.Key_F1)
            assert app.model.current["label"] == "1001"  # type: ignore[index]

            server.stop()
            qtbot.waitUntil(lambda: app.page.offline.isVisible(), timeout=WAIT)
            assert not app.page.finish_button.isEnabled() and not app.page.recall_button.isEnabled()
            screenshot(app.window, "counter-offline")

            server.start()
            qtbot.waitUntil(lambda: app.model.online and not app.page.offline.isVisible(), timeout=15000)
            # The state is the server's: 1001 still at the desk, 1002 still waiting.
            assert app.model.current["label"] == "1001"  # type: ignore[index]
            settle(qtbot, app, 1)
            press(qtbot, app, Qt.Key.Key_F4)
            press(qtbot, app, Qt.Key.Key_F1)
            assert app.model.current["label"] == "1002"  # type: ignore[index]
        finally:
            app.close()
            kiosk.stop()


# --- rating ----------------------------------------------------------------------------------------


def finish_one(qtbot: QtBot, app: App, live: Live) -> dict[str, Any]:
    live.issue(HO_TICH)
    qtbot.waitUntil(lambda: len(app.model.waiting) >= 1, timeout=WAIT)
    press(qtbot, app, Qt.Key.Key_F1)
    ticket = app.model.current
    assert ticket is not None
    with qtbot.waitSignal(app.model.rating_requested, timeout=WAIT):
        press(qtbot, app, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: app.rating.isVisible() and app.rating.stack.currentWidget() is app.rating.ask_page, timeout=WAIT)
    return ticket


def level_button(app: App, text: str) -> QPushButton:
    return next(b for b in app.rating.level_buttons if b.title.text() == text)


def test_the_citizen_rates_once_and_the_officer_sees_it(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    ticket = finish_one(qtbot, app, live)
    assert [b.title.text() for b in app.rating.level_buttons] == ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"]
    assert app.rating.ticket_line.text() == "Số 1001 · Hộ tịch"
    screenshot(app.rating, "counter-rating")
    sent: list[int] = []
    original_rate = app.model.rate
    app.model.rate = lambda *args: (sent.append(args[1]), original_rate(*args))  # type: ignore[method-assign]
    with qtbot.waitSignal(app.rating.rated, timeout=WAIT) as rated:
        qtbot.mouseClick(level_button(app, "Rất hài lòng"), Qt.MouseButton.LeftButton)
        app.rating.choose(app.model.rating_scale[1])  # a second tap, even on a live button: ignored
    app.model.rate = original_rate  # type: ignore[method-assign]
    assert sent == [4]
    assert rated.args[0]["level"] == 4 and rated.args[0]["ticket_id"] == ticket["id"]
    assert app.rating.stack.currentWidget() is app.rating.thanks_page
    screenshot(app.rating, "counter-rating-thanks")
    stored = ratings(live)
    assert [(r.ticket_id, r.level, r.scale, r.counter_id, r.field_id) for r in stored] == [(ticket["id"], 4, 4, 1, HO_TICH)]
    assert stored[0].officer_id == app.model.officer["id"]  # type: ignore[index]

    # The same ticket rated again (the tablet's web page, a retry): refused, still one rating.
    answers: list[Reply] = []
    app.model.rate(ticket["id"], 1, "", answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=WAIT)
    assert answers[0].status == 409 and answers[0].code == "already_rated"
    assert len(ratings(live)) == 1 and event_count(live, "ticket.rated") == 1

    qtbot.waitUntil(lambda: app.model.today is not None and app.model.today["rated"] == 1, timeout=WAIT)
    text = app.page.figures.text()
    assert "đã phục vụ <b>1</b> lượt" in text and "<b>100%</b> hài lòng" in text
    screenshot(app.window, "counter-main-figures")


def test_an_unsatisfied_citizen_can_say_why(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    ticket = finish_one(qtbot, app, live)
    qtbot.mouseClick(level_button(app, "Không hài lòng"), Qt.MouseButton.LeftButton)
    assert app.rating.stack.currentWidget() is app.rating.reason_page
    assert len(app.rating.reason_buttons) >= 3
    first_reason = app.rating.reason_buttons[0]
    qtbot.mouseClick(first_reason, Qt.MouseButton.LeftButton)
    app.rating.reason_text.setText("Phòng chờ nóng")
    screenshot(app.rating, "counter-rating-reason")
    with qtbot.waitSignal(app.rating.rated, timeout=WAIT):
        qtbot.mouseClick(app.rating.send_button, Qt.MouseButton.LeftButton)
    (stored,) = ratings(live)
    assert stored.ticket_id == ticket["id"] and stored.level == 1
    assert stored.reason == f"{first_reason.text()}; Phòng chờ nóng"


def test_a_rating_nobody_answers_closes_quietly(qtbot: QtBot, fonts: str, live: Live, tmp_path: Path) -> None:
    app = open_app(qtbot, live.base_url, tmp_path / "counter.json", answer_seconds=1.0)
    try:
        sign_in_at(qtbot, app, "lan.nt", 1)
        finish_one(qtbot, app, live)
        with qtbot.waitSignal(app.rating.dismissed, timeout=WAIT):
            pass
        assert not app.rating.isVisible()
        assert ratings(live) == []
    finally:
        app.close()


def test_the_rating_scale_follows_the_centre(qtbot: QtBot, app: App, live: Live) -> None:
    assert live.admin().patch("/admin/centres/1", json={"rating_levels": 5}).status_code == 200
    sign_in_at(qtbot, app, "lan.nt", 1)
    finish_one(qtbot, app, live)
    assert [b.title.text() for b in app.rating.level_buttons] == [
        "Rất hài lòng",
        "Hài lòng",
        "Bình thường",
        "Không hài lòng",
        "Rất không hài lòng",
    ]
    screenshot(app.rating, "counter-rating-5")


def test_faces_are_drawn_without_any_emoji_font(qtbot: QtBot) -> None:
    happy, sad = face("#1b7f3b", 1.0, 96).toImage(), face("#b91c1c", 0.0, 96).toImage()

    # A smile's middle sits low, a frown's high: compare where the mouth's colour is in the centre column.
    def mouth_row(image: Any, colour: str) -> int:
        rows = [y for y in range(55, 90) if image.pixelColor(48, y).name() == colour]
        assert rows, colour
        return rows[0]

    assert mouth_row(happy, "#1b7f3b") > mouth_row(sad, "#b91c1c")


# --- the panel above the counter -------------------------------------------------------------------


def test_the_panel_shows_the_counter_the_number_and_the_officer(qtbot: QtBot, fonts: str, live: Live) -> None:
    created = live.admin().post("/admin/devices", json={"kind": "counter_panel", "name": "Màn hình quầy 3", "counter_id": 3})
    assert created.status_code == 201, created.text
    connection = Connection(live.base_url, created.json()["token"], scope="counter")
    model = CounterModel(connection)
    panel = PanelWindow(model)
    panel.resize(1024, 400)
    panel.show()
    model.start_panel()
    try:
        qtbot.waitUntil(lambda: model.online and panel.status.text() == "Quầy tạm đóng", timeout=WAIT)
        assert panel.counter_label.text() == "QUẦY 3"
        officer = live.officer("mai.lt", 3)
        qtbot.waitUntil(lambda: panel.status.text() == "Sẵn sàng phục vụ", timeout=WAIT)
        assert panel.officer.text() == "Cán bộ: Lê Thị Mai · Điện thoại: 0912 301 103"
        assert panel.fields.text() == "Lĩnh vực: Đất đai, Xây dựng – Đô thị"
        live.issue(DAT_DAI)
        assert officer.post("/counters/3/call-next").status_code == 200
        qtbot.waitUntil(lambda: panel.status.text() == "Đang phục vụ số 3001", timeout=WAIT)
        assert panel.detail.text() == "Đất đai"
        qtbot.waitUntil(lambda: panel.status.property("blink") is True, timeout=WAIT)  # a new call blinks
        qtbot.waitUntil(lambda: panel.status.property("blink") is False, timeout=WAIT)
        screenshot(panel, "counter-panel")
        assert officer.post("/counters/3/pause").status_code == 200
        assert officer.post("/counters/3/finish").status_code == 200
        qtbot.waitUntil(lambda: panel.status.text() == "Tạm dừng", timeout=WAIT)
        assert officer.post("/auth/logout").status_code == 204
        qtbot.waitUntil(lambda: panel.status.text() == "Quầy tạm đóng" and panel.officer.text() == "", timeout=WAIT)
    finally:
        connection.stop()
        panel.close()


def test_the_panel_refuses_to_start_without_a_device_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.cli import main

    monkeypatch.setenv("HANGDOI_COUNTER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("HANGDOI_COUNTER_TOKEN", raising=False)
    assert main(["counter", "--panel", "--windowed"]) == 2


def test_an_answer_for_the_previous_citizen_does_not_land_on_the_next_one(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    first = finish_one(qtbot, app, live)
    second = finish_one(qtbot, app, live)
    app.rating.ask(first)
    qtbot.mouseClick(level_button(app, "Hài lòng"), Qt.MouseButton.LeftButton)  # on its way…
    app.rating.ask(second)  # …while the next citizen is asked
    assert app.rating.ticket_line.text() == "Số 1002 · Hộ tịch"
    assert all(b.isEnabled() for b in app.rating.level_buttons)
    qtbot.waitUntil(lambda: len(ratings(live)) == 1, timeout=WAIT)
    qtbot.wait(300)
    assert app.rating.stack.currentWidget() is app.rating.ask_page  # no "thank you" meant for 1001
    with qtbot.waitSignal(app.rating.rated, timeout=WAIT):
        qtbot.mouseClick(level_button(app, "Rất hài lòng"), Qt.MouseButton.LeftButton)
    assert sorted((r.ticket_id, r.level) for r in ratings(live)) == [(first["id"], 3), (second["id"], 4)]


def test_an_unsatisfied_answer_is_kept_when_the_reasons_are_never_sent(
    qtbot: QtBot, fonts: str, live: Live, tmp_path: Path
) -> None:
    app = open_app(qtbot, live.base_url, tmp_path / "counter.json", answer_seconds=1.0)
    try:
        sign_in_at(qtbot, app, "lan.nt", 1)
        ticket = finish_one(qtbot, app, live)
        qtbot.mouseClick(level_button(app, "Không hài lòng"), Qt.MouseButton.LeftButton)
        qtbot.mouseClick(app.rating.reason_buttons[1], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not app.rating.isVisible(), timeout=WAIT)
        qtbot.waitUntil(lambda: len(ratings(live)) == 1, timeout=WAIT)
        (stored,) = ratings(live)
        assert (stored.ticket_id, stored.level, stored.reason) == (ticket["id"], 1, app.rating.reason_buttons[1].text())
    finally:
        app.close()


def test_change_counter_then_sign_out_and_another_officer_signs_in(qtbot: QtBot, app: App, live: Live) -> None:
    sign_in_at(qtbot, app, "lan.nt", 1)
    qtbot.mouseClick(app.page.change_counter, Qt.MouseButton.LeftButton)
    choose = app.window.choose_page
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is choose and bool(choose.buttons), timeout=WAIT)
    assert live.admin().get("/counters/1/state").json()["counter"]["state"] == "closed"
    assert choose.error.text() == ""  # leaving on purpose is not an error
    qtbot.mouseClick(choose.buttons[2], Qt.MouseButton.LeftButton)
    ready(qtbot, app)
    assert app.page.counter_title.text() == "Quầy số 2"

    qtbot.mouseClick(app.page.sign_out, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is app.window.sign_in_page, timeout=WAIT)
    assert app.window.sign_in_page.error.text() == ""
    sign_in(qtbot, app, "hung.tv")
    ready(qtbot, app)  # straight to counter 2, remembered by this machine
    assert app.page.officer_name.text() == "Trần Văn Hùng" and app.page.counter_title.text() == "Quầy số 2"
    assert "Trần Văn Hùng" in app.rating.idle_detail.text()


def test_a_revoked_panel_stops_showing_the_last_number(qtbot: QtBot, fonts: str, live: Live) -> None:
    admin = live.admin()
    created = admin.post("/admin/devices", json={"kind": "counter_panel", "name": "Màn hình quầy 3", "counter_id": 3}).json()
    connection = Connection(live.base_url, created["token"], scope="counter")
    model = CounterModel(connection)
    panel = PanelWindow(model)
    panel.resize(1024, 400)
    model.start_panel()
    try:
        officer = live.officer("mai.lt", 3)
        live.issue(DAT_DAI)
        officer.post("/counters/3/call-next")
        qtbot.waitUntil(lambda: panel.status.text() == "Đang phục vụ số 3001", timeout=WAIT)
        assert admin.delete(f"/admin/devices/{created['device']['id']}").status_code == 200
        connection.stop()
        connection.start()  # the next connection (after any drop) is refused
        qtbot.waitUntil(lambda: panel.status.text() == "Màn hình quầy chưa hoạt động", timeout=WAIT)
        assert panel.detail.text() == "Mã thiết bị không hợp lệ hoặc đã bị thu hồi."
        assert panel.officer.text() == "" and "3001" not in panel.status.text()
    finally:
        connection.stop()
        panel.close()
