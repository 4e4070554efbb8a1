"""The waiting-room display against a real server: the board follows calls, announcements are
spoken in order from a real espeak-ng voice pack through QtMultimedia, a recall is spoken again,
a reconnect repeats nothing, and calls made while away are spoken once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from client.connection import Connection
from display.announcer import Announcement, Announcer
from display.model import Call, DisplayModel
from display.voicepack import CHIME, VoicePack, build_pack
from display.window import DisplayWindow
from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, Live, screenshot

KINH_DOANH = 5


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    return build_pack(tmp_path_factory.mktemp("voice") / "vi")


@dataclass
class Display:
    window: DisplayWindow
    model: DisplayModel
    connection: Connection
    announcer: Announcer
    spoken: list[str]  # labels, in the order their announcements started
    calls: list[Call]

    def close(self) -> None:
        self.connection.stop()
        self.window.close()  # stops the announcer too
        assert self.announcer.idle


def open_display(qtbot: QtBot, live: Live, pack: VoicePack, counters: list[int] | None = None) -> Display:
    connection = Connection(live.base_url, live.devices["display"])
    model = DisplayModel(connection, counter_numbers=counters)
    announcer = Announcer(pack, repeat=1, playback_rate=4.0)
    window = DisplayWindow(model, announcer, highlight_seconds=2)
    window.resize(1920, 1080)
    window.show()
    display = Display(window, model, connection, announcer, [], [])
    announcer.started.connect(lambda a: display.spoken.append(a.label))
    model.announce.connect(display.calls.append)
    connection.start()
    qtbot.waitUntil(lambda: connection.online, timeout=10000)
    return display


@pytest.fixture
def display(qtbot: QtBot, fonts: str, live: Live, pack: VoicePack) -> Iterator[Display]:
    opened = open_display(qtbot, live, pack)
    yield opened
    opened.close()


def call_next(live: Live, counter: int, officer: str) -> dict[str, object]:
    answer = live.officer(officer, counter).post(f"/counters/{counter}/call-next")
    assert answer.status_code == 200, answer.text
    return answer.json()["ticket"]


def test_a_call_updates_the_board_and_is_announced(qtbot: QtBot, display: Display, live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(DAT_DAI)
    live.issue(DAT_DAI)
    call_next(live, 3, "mai.lt")
    qtbot.waitUntil(lambda: display.window.call_number.text() == "3001", timeout=10000)
    window = display.window
    assert window.call_counter.text() == "ĐẾN QUẦY SỐ 3"
    assert window.call_field.text() == "Đất đai"
    assert "3001  →  Quầy 3" in window.recent_labels[0].text()
    board = {row[0].text(): row[1].text() for row in window._counter_rows[1:] if row[0].text()}
    assert board["Quầy 3"] == "3001"
    assert display.spoken == ["3001"]
    # Readable from eight metres: the called number is at least an eighth of the screen tall.
    assert window.call_number.fontMetrics().capHeight() >= 1080 / 8
    call_next(live, 1, "lan.nt")
    qtbot.waitUntil(lambda: window.call_number.text() == "1001", timeout=10000)
    qtbot.wait(300)
    screenshot(window, "display-board")
    qtbot.waitUntil(lambda: display.announcer.idle, timeout=20000)
    assert display.spoken == ["3001", "1001"]


def test_calls_at_once_are_spoken_one_after_another_in_order(qtbot: QtBot, display: Display, live: Live) -> None:
    for field in (HO_TICH, CHUNG_THUC, DAT_DAI, KINH_DOANH):
        live.issue(field)
    sequence: list[tuple[str, str]] = []
    display.announcer.started.connect(lambda a: sequence.append(("start", a.label)))
    display.announcer.finished.connect(lambda a: sequence.append(("end", a.label)))
    called = [
        call_next(live, counter, officer)["label"]
        for counter, officer in ((1, "lan.nt"), (2, "hung.tv"), (3, "mai.lt"), (4, "duc.pm"))
    ]
    qtbot.waitUntil(lambda: len([s for s in sequence if s[0] == "end"]) == 4, timeout=30000)
    assert display.spoken == called
    # Never two at once: each announcement ends before the next starts.
    assert sequence == [(kind, label) for label in called for kind in ("start", "end")]


def test_a_recall_is_announced_again(qtbot: QtBot, display: Display, live: Live) -> None:
    live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    assert officer.post("/counters/1/call-next").status_code == 200
    assert officer.post("/counters/1/recall").status_code == 200
    qtbot.waitUntil(lambda: len(display.spoken) == 2, timeout=20000)
    assert display.spoken == ["1001", "1001"]
    assert [c.recall for c in display.calls] == [False, True]


def test_the_centres_voice_options_rule_every_screen(qtbot: QtBot, display: Display, live: Live) -> None:
    """The admin console's voice options reach the display through the snapshot: how a call is read,
    how often, and whether it is read at all."""
    admin = live.admin()
    played: list[tuple[str, ...]] = []
    display.announcer.started.connect(lambda a: played.append(a.clips))
    style = {"voice_repeat": 1, "voice_digit_by_digit": True, "voice_odd_word": "lẻ"}
    assert admin.patch("/admin/centres/1", json=style).status_code == 200
    qtbot.waitUntil(lambda: display.model.centre.get("voice_digit_by_digit") is True, timeout=10000)
    live.issue(HO_TICH)
    call_next(live, 1, "lan.nt")
    qtbot.waitUntil(lambda: len(played) == 1, timeout=10000)
    assert played[0] == (CHIME, "mời công dân có số", "một", "không", "không", "một", "đến quầy số", "một")

    assert admin.patch("/admin/centres/1", json={"voice_enabled": False}).status_code == 200
    qtbot.waitUntil(lambda: display.model.voice_enabled is False, timeout=10000)
    live.issue(HO_TICH)
    call_next(live, 2, "hung.tv")
    qtbot.waitUntil(lambda: display.window.call_number.text() == "1002", timeout=10000)
    qtbot.waitUntil(lambda: display.announcer.idle, timeout=20000)
    assert display.spoken == ["1001"]  # shown on the board, not read out


def test_a_reconnect_repeats_nothing_and_says_missed_calls_once(qtbot: QtBot, display: Display, live: Live) -> None:
    for _ in range(3):
        live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    assert officer.post("/counters/1/call-next").status_code == 200
    qtbot.waitUntil(lambda: display.spoken == ["1001"], timeout=10000)

    # The network drops and comes back: a fresh snapshot, nothing said again.
    assert display.connection._socket is not None
    display.connection._socket.abort()
    qtbot.waitUntil(lambda: display.window.offline.isVisible(), timeout=5000)
    screenshot(display.window, "display-board-offline")
    qtbot.waitUntil(lambda: display.connection.online, timeout=10000)
    qtbot.wait(500)
    assert display.spoken == ["1001"]

    # Away while two calls are made: both are said once, in order, when it is back.
    display.connection.stop()
    assert officer.post("/counters/1/finish").status_code == 200
    assert officer.post("/counters/1/call-next").status_code == 200
    assert officer.post("/counters/1/recall").status_code == 200
    assert display.window.offline.isVisible() and display.window.call_number.text() == "1001"  # keeps its last state
    display.connection.start()
    qtbot.waitUntil(lambda: len(display.spoken) == 3, timeout=20000)
    assert display.spoken == ["1001", "1002", "1002"]
    assert display.window.call_number.text() == "1002"
    display.connection._socket.abort()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: display.connection.online, timeout=10000)
    qtbot.wait(500)
    assert display.spoken == ["1001", "1002", "1002"]


def test_every_call_missed_while_away_is_said_once_even_many(qtbot: QtBot, display: Display, live: Live) -> None:
    """More calls than a board lists (ten) made while the display was away: each is said once, in order."""
    for _ in range(12):
        live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    qtbot.wait(300)  # the display's snapshot after the counter opened
    display.connection.stop()
    for _ in range(12):
        assert officer.post("/counters/1/call-next").status_code == 200
        assert officer.post("/counters/1/finish").status_code == 200
    display.connection.start()
    qtbot.waitUntil(lambda: len(display.calls) == 12, timeout=10000)
    qtbot.wait(300)
    assert [c.label for c in display.calls] == [str(n) for n in range(1001, 1013)]


def test_missed_calls_are_judged_recent_by_the_servers_clock(qapp: object) -> None:
    """A display PC whose clock is days off still says the calls it missed (a reconnect, or a
    resync that drops the events on their way), and only those the server made in the last minute."""
    model = DisplayModel(Connection("http://127.0.0.1:9", None), missed_call_seconds=60)
    announced: list[Call] = []
    model.announce.connect(announced.append)
    server_now = datetime(2020, 3, 2, 2, 0, tzinfo=UTC)  # years before this machine's clock

    def state(seq: int, calls: list[tuple[int, int]]) -> dict[str, object]:
        recent = [
            {
                "seq": s,
                "kind": "ticket.called",
                "at": (server_now - timedelta(seconds=age)).isoformat(),
                "ticket_label": f"10{s:02}",
                "field_id": 1,
                "counter_id": 1,
                "counter_number": 1,
            }
            for s, age in calls
        ]
        centre = {"timezone": "Asia/Ho_Chi_Minh"}
        return {"seq": seq, "now": server_now.isoformat(), "centre": centre, "fields": [], "counters": [], "recent_calls": recent}

    model.apply_snapshot(state(1, []))
    model.apply_snapshot(state(4, [(2, 90), (3, 10), (4, 1)]))
    assert [c.seq for c in announced] == [3, 4]


def test_after_a_restore_the_display_says_the_new_calls(qapp: object) -> None:
    """A backup restored puts the centre's sequence numbers back (the 12:15 copy at 14:00): the
    calls after it reuse numbers the display already handled, and must still be said."""
    model = DisplayModel(Connection("http://127.0.0.1:9", None))
    announced: list[Call] = []
    model.announce.connect(announced.append)
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    centre = {"timezone": "Asia/Ho_Chi_Minh"}
    snapshot = {"now": now.isoformat(), "centre": centre, "fields": [], "counters": [], "recent_calls": []}
    model.apply_snapshot({**snapshot, "seq": 180})
    model.apply_snapshot({**snapshot, "seq": 120})  # the server came back with the restored database
    ticket = {"id": 7, "label": "1031", "field_id": 1, "state": "called", "counter_id": 1}
    event = {"seq": 121, "kind": "ticket.called", "at": now.isoformat(), "ticket": ticket, "counter_id": 1, "counter_number": 1}
    model.apply_event(event)
    assert [(c.seq, c.label) for c in announced] == [(121, "1031")]


def test_a_display_for_one_room_shows_only_its_counters(qtbot: QtBot, fonts: str, live: Live, pack: VoicePack) -> None:
    display = open_display(qtbot, live, pack, counters=[1, 2])
    try:
        live.issue(HO_TICH)
        live.issue(DAT_DAI)
        call_next(live, 3, "mai.lt")
        call_next(live, 1, "lan.nt")
        qtbot.waitUntil(lambda: display.window.call_number.text() == "1001", timeout=10000)
        qtbot.wait(300)
        assert display.spoken == ["1001"]
        shown = [row[0].text() for row in display.window._counter_rows[1:] if row[0].text()]
        assert "Quầy 3" not in shown
    finally:
        display.close()


def clips_of(qtbot: QtBot, announcer: Announcer, label: str, counter: int) -> tuple[list[str], list[str]]:
    played: list[str] = []
    missing: list[str] = []
    announcer.clip_played.connect(played.append)
    announcer.clip_missing.connect(missing.append)
    with qtbot.waitSignal(announcer.finished, timeout=20000, check_params_cb=lambda a: isinstance(a, Announcement)):
        announcer.say_call(label, counter)
    return played, missing


def test_the_exact_clips_of_a_call(qtbot: QtBot, pack: VoicePack) -> None:
    announcer = Announcer(pack, repeat=2, playback_rate=4.0)
    played, missing = clips_of(qtbot, announcer, "1005", 3)
    call = ["mời công dân có số", "một", "nghìn", "không", "trăm", "linh", "năm", "đến quầy số", "ba"]
    assert played == ["chime", *call, *call]
    assert missing == []
    announcer.stop()


def test_a_missing_clip_is_reported_and_the_rest_still_plays(qtbot: QtBot, pack: VoicePack, tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(pack.folder, copy)
    broken = VoicePack.load(copy)
    path = broken.path_for("năm")
    assert path is not None
    path.unlink()
    assert broken.missing() == ["năm"]
    announcer = Announcer(broken, repeat=1, playback_rate=4.0)
    played, missing = clips_of(qtbot, announcer, "1005", 3)
    announcer.stop()
    assert missing == ["năm"]
    assert played == ["chime", "mời công dân có số", "một", "nghìn", "không", "trăm", "linh", "đến quầy số", "ba"]
