"""The waiting-room board for a TV's browser (/board) in a real browser (Debian's chromium, driven by
Playwright) against a real server and a real espeak-ng voice pack: the same board, the same clips
and the same announce-once rules as the Qt display (tests/test_display.py)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize, expect

from display.voicepack import CHIME, VoicePack, build_pack, clips_for_call
from server.app import create_app
from server.clock import SettableClock
from server.config import Settings
from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, Live, Template
from tests.web import CHROMIUM, CHROMIUM_ARGS, TV, Browse, free_port, serve_on, shot

SMALL_TV: ViewportSize = {"width": 1280, "height": 720}
REVOKED = "Mã thiết bị không hợp lệ hoặc đã bị thu hồi."
WRONG_KIND = "Mã này không phải của màn hình chờ. Hãy dùng mã thiết bị loại “màn hình chờ”."
# Clips play four times faster here (Announcer's playback_rate in tests/test_display.py), to stay quick.
FAST = "rate=4"

Opener = Callable[..., Page]


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    missing = [p for p in ("espeak-ng", "sox") if shutil.which(p) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt install espeak-ng sox)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return build_pack(tmp_path_factory.mktemp("voice") / "vi")


def install_pack(pack: VoicePack, data_dir: Path) -> VoicePack:
    """The server's own pack: <data_dir>/voice/vi, where `hangdoi voice build` puts it."""
    folder = data_dir / "voice" / "vi"
    shutil.copytree(pack.folder, folder)
    return VoicePack.load(folder)


@pytest.fixture
def voice(pack: VoicePack, settings: Settings) -> VoicePack:
    return install_pack(pack, settings.data_dir)


@pytest.fixture
def open_board(browse: Browse, live: Live) -> Iterator[Opener]:
    """Opens /board at a TV's size with the display's device token in the address's fragment;
    afterwards, checks that no script error happened on any board opened."""
    errors: list[str] = []

    def opener(query: str = "", token: str | None = "display", viewport: ViewportSize = TV) -> Page:
        fragment = f"#token={live.devices.get(token or '', token)}" if token else ""
        page = browse(f"/board{'?' + query if query else ''}{fragment}", viewport=viewport)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield opener
    assert errors == []


def spoken(label: str, counter: int, repeat: int = 2) -> list[str]:
    """What the Qt display's Announcer plays for a call: the chime once, then the call `repeat` times."""
    call = clips_for_call(label, counter)
    assert call[0] == CHIME
    return [CHIME, *(call[1:] * repeat)]


class ClipRequests:
    """The clip files a page asks the server for, as voice-pack keys, in order."""

    def __init__(self, page: Page, pack: VoicePack) -> None:
        self.keys_by_file = {file_name: key for key, file_name in pack.clips.items()}
        self.keys: list[str] = []
        page.on("request", self._seen)

    def _seen(self, request: Any) -> None:
        path = urlsplit(request.url).path
        if path.startswith("/voice/clips/"):
            self.keys.append(self.keys_by_file[unquote(path.removeprefix("/voice/clips/"))])


def board_log(page: Page, name: str) -> list[Any]:
    return list(page.evaluate(f"() => window.HangdoiBoard.{name}"))


def announced(page: Page) -> list[tuple[str, str, int]]:
    return [(a["label"], a["kind"], a["counter"]) for a in board_log(page, "announced")]


def wait_for_clips(page: Page, count: int) -> None:
    page.wait_for_function("n => window.HangdoiBoard.clips.length >= n", arg=count, timeout=20000)


def counter_rows(page: Page) -> dict[str, str]:
    rows = page.locator("#counter-rows tr")
    return {
        rows.nth(i).locator(".counter-number").inner_text(): rows.nth(i).locator(".counter-ticket").inner_text()
        for i in range(rows.count())
    }


def wait_inside(page: Page, selector: str, container: str) -> None:
    """Nothing cut off: waits until the element lies wholly within its panel (the board refits its
    panels a moment after a resize)."""
    page.wait_for_function(
        """([selector, container]) => {
            const inner = document.querySelector(selector).getBoundingClientRect();
            const outer = document.querySelector(container).getBoundingClientRect();
            return outer.top <= inner.top && inner.bottom <= outer.bottom
                && outer.left <= inner.left && inner.right <= outer.right;
        }""",
        arg=[selector, container],
        timeout=5000,
    )


def test_the_board_shows_the_demo_centre(live: Live, voice: VoicePack, open_board: Opener) -> None:
    for field in (HO_TICH, HO_TICH, CHUNG_THUC):
        live.issue(field)
    for username, counter in (("lan.nt", 1), ("hung.tv", 2), ("mai.lt", 3), ("duc.pm", 4), ("huong.vt", 5)):
        live.officer(username, counter)
    page = open_board()
    expect(page.locator("#centre-name")).to_have_text("Trung tâm Phục vụ hành chính công phường Ba Đình")
    assert "token" not in page.url  # kept in the browser, out of the address bar
    # The centre's time from the server's clock (Monday 23/11/2026 08:30 in Hà Nội), not the TV's.
    expect(page.locator("#clock")).to_have_text("08:30")
    expect(page.locator("#date")).to_have_text("Thứ Hai, 23/11/2026")
    expect(page.locator("#call-number")).to_have_text("—")
    expect(page.locator("#counter-rows tr")).to_have_count(5)
    assert counter_rows(page) == {f"Quầy {n}": "—" for n in range(1, 6)}
    expect(page.locator('#counter-rows tr[data-counter="4"] .counter-field')).to_have_text("Kinh doanh")
    waiting = page.locator("#waiting tr")
    expect(waiting).to_have_count(7)
    expect(page.locator('#waiting tr[data-field="HT"] .waiting-count')).to_have_text("2")
    expect(page.locator('#waiting tr[data-field="CT"] .waiting-count')).to_have_text("1")
    expect(waiting.first.locator(".waiting-name")).to_have_text("Hộ tịch")
    live.issue(CHUNG_THUC)
    expect(page.locator('#waiting tr[data-field="CT"] .waiting-count')).to_have_text("2")  # live
    expect(page.locator("#offline")).to_be_hidden()
    expect(page.locator("#voice-note")).to_be_hidden()  # the pack is complete
    expect(page.locator("#sound-on")).to_be_hidden()  # this browser may play sound
    loaded = page.evaluate(
        "() => document.fonts.ready.then(() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.weight))"
    )
    assert sorted(loaded) == ["400", "700"]
    for viewport, name in ((TV, "board-web-idle-1920"), (SMALL_TV, "board-web-idle-1280")):
        page.set_viewport_size(viewport)
        expect(page.locator("#clock")).to_have_text("08:30")
        wait_inside(page, "#counter-rows tr:last-child", ".counters-panel")
        wait_inside(page, "#waiting tr:last-child", ".waiting-panel")
        shot(page, name)


def test_the_notice_scrolls_along_the_bottom(live: Live, voice: VoicePack, open_board: Opener) -> None:
    page = open_board()
    expect(page.locator("#notice-text")).to_have_text(
        "Công dân vui lòng lấy số thứ tự và chờ đến lượt. Xin cảm ơn!"
    )  # the demo's
    assert live.admin().patch("/admin/centres/1", json={"notice_text": ""}).status_code == 200
    expect(page.locator("#notice")).to_be_hidden()
    short = "Xin vui lòng giữ trật tự."
    assert live.admin().patch("/admin/centres/1", json={"notice_text": short}).status_code == 200
    expect(page.locator("#notice-text")).to_have_text(short)  # config.updated → a fresh snapshot
    expect(page.locator("#notice")).not_to_have_class("notice scrolling")
    long = (
        "Trung tâm làm việc từ 7 giờ 30 đến 17 giờ, từ thứ Hai đến thứ Sáu. Công dân vui lòng lấy số thứ tự tại máy "
        "lấy số và chờ đến lượt; người cao tuổi, người khuyết tật và phụ nữ mang thai được ưu tiên."
    )
    assert live.admin().patch("/admin/centres/1", json={"notice_text": long}).status_code == 200
    expect(page.locator("#notice-text")).to_have_text(long)
    expect(page.locator("#notice")).to_have_class("notice scrolling")
    shot(page, "board-web-notice-scrolling")
    box = page.locator("#notice").bounding_box()
    assert box is not None and box["y"] + box["height"] == TV["height"]


def test_a_call_appears_live_and_is_announced(live: Live, voice: VoicePack, open_board: Opener) -> None:
    for field in (HO_TICH, HO_TICH, DAT_DAI):
        live.issue(field)
    lan = live.officer("lan.nt", 1)
    mai = live.officer("mai.lt", 3)
    page = open_board(FAST)
    requests = ClipRequests(page, voice)
    expect(page.locator("#counter-rows tr")).to_have_count(2)

    assert lan.post("/counters/1/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("1001")
    expect(page.locator("#call-counter")).to_have_text("ĐẾN QUẦY SỐ 1")
    expect(page.locator("#call-field")).to_have_text("Hộ tịch")
    expect(page.locator("#call")).to_have_attribute("data-fresh", "true")
    expect(page.locator("#recent li").first).to_have_text("1001→Quầy 1")
    assert counter_rows(page)["Quầy 1"] == "1001"
    expect(page.locator('#waiting tr[data-field="HT"] .waiting-count')).to_have_text("1")
    # Readable from eight metres: the called number is at least an eighth of the screen tall.
    number = page.locator("#call-number").bounding_box()
    assert number is not None and number["height"] >= TV["height"] / 8
    expect(page.locator("#call")).to_have_css("background-color", "rgb(255, 212, 0)")  # blinking yellow
    shot(page, "board-web-call-1920")

    # The chime, then the call twice (the centre's default), exactly the Qt display's clips; each
    # file asked for once, in playing order, and the repeat played from the decoded copy.
    expected = spoken("1001", 1)
    wait_for_clips(page, len(expected))
    assert board_log(page, "clips") == expected
    assert requests.keys == list(dict.fromkeys(expected))
    assert board_log(page, "missing") == []

    # A recall is said again; another counter's call follows it, never on top of it.
    assert lan.post("/counters/1/recall").status_code == 200
    assert mai.post("/counters/3/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("3001")
    expect(page.locator("#call-counter")).to_have_text("ĐẾN QUẦY SỐ 3")
    expect(page.locator("#recent li")).to_have_text(["3001→Quầy 3", "1001→Quầy 1", "1001→Quầy 1"])
    everything = expected + spoken("1001", 1) + spoken("3001", 3)
    wait_for_clips(page, len(everything))
    assert board_log(page, "clips") == everything
    assert board_log(page, "spoken") == ["1001", "1001", "3001"]
    # Never two at once: on the audio clock, each announcement starts after the previous one ended.
    timeline = board_log(page, "timeline")
    assert [t["label"] for t in timeline] == ["1001", "1001", "3001"]
    assert all(later["from"] >= earlier["to"] for earlier, later in pairwise(timeline))
    assert announced(page) == [("1001", "ticket.called", 1), ("1001", "ticket.recalled", 1), ("3001", "ticket.called", 3)]
    new_words = [key for key in dict.fromkeys(spoken("3001", 3)) if key not in expected]
    assert requests.keys == list(dict.fromkeys(expected)) + new_words

    page.set_viewport_size(SMALL_TV)
    assert lan.post("/counters/1/finish").status_code == 200
    assert lan.post("/counters/1/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("1002")
    expect(page.locator("#call")).to_have_css("background-color", "rgb(255, 212, 0)")
    number = page.locator("#call-number").bounding_box()
    assert number is not None and number["height"] >= SMALL_TV["height"] / 8
    shot(page, "board-web-call-1280")


def test_the_centre_voice_options_are_followed(live: Live, voice: VoicePack, open_board: Opener) -> None:
    admin = live.admin()
    answer = admin.patch("/admin/centres/1", json={"voice_repeat": 1, "voice_digit_by_digit": True})
    assert answer.status_code == 200, answer.text
    live.issue(DAT_DAI)
    mai = live.officer("mai.lt", 3)
    page = open_board(FAST)
    expect(page.locator("#centre-name")).to_be_visible()
    assert mai.post("/counters/3/call-next").status_code == 200
    expected = [CHIME, *clips_for_call("3001", 3, digit_by_digit=True)[1:]]
    assert expected[2:6] == ["ba", "không", "không", "một"]
    wait_for_clips(page, len(expected))
    assert board_log(page, "clips") == expected

    # Voice off for the centre: the call is shown, nothing is said. (The notice shows when the board
    # has the snapshot that follows config.updated, so the call below comes after it.)
    answer = admin.patch("/admin/centres/1", json={"voice_enabled": False, "notice_text": "Loa đang tắt."})
    assert answer.status_code == 200, answer.text
    expect(page.locator("#notice-text")).to_have_text("Loa đang tắt.")
    live.issue(DAT_DAI)
    assert mai.post("/counters/3/finish").status_code == 200
    assert mai.post("/counters/3/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("3002")
    assert [a[0] for a in announced(page)] == ["3001", "3002"]

    # Voice on again: the next call is said, and 3002 never was (it would have been said first).
    answer = admin.patch("/admin/centres/1", json={"voice_enabled": True, "notice_text": "Loa đã bật."})
    assert answer.status_code == 200, answer.text
    expect(page.locator("#notice-text")).to_have_text("Loa đã bật.")
    live.issue(DAT_DAI)
    assert mai.post("/counters/3/finish").status_code == 200
    assert mai.post("/counters/3/call-next").status_code == 200
    expected_next = [CHIME, *clips_for_call("3003", 3, digit_by_digit=True)[1:]]
    wait_for_clips(page, len(expected) + len(expected_next))
    assert board_log(page, "spoken") == ["3001", "3003"]
    assert board_log(page, "clips") == expected + expected_next


def test_calls_made_before_the_page_opened_are_not_announced(live: Live, voice: VoicePack, open_board: Opener) -> None:
    for _ in range(2):
        live.issue(HO_TICH)
    lan = live.officer("lan.nt", 1)
    assert lan.post("/counters/1/call-next").status_code == 200
    page = open_board(FAST)
    requests = ClipRequests(page, voice)
    # The latest call is on the board, quietly.
    expect(page.locator("#call-number")).to_have_text("1001")
    expect(page.locator("#call-counter")).to_have_text("ĐẾN QUẦY SỐ 1")
    expect(page.locator("#call")).not_to_have_attribute("data-fresh", "true")
    assert lan.post("/counters/1/finish").status_code == 200
    assert lan.post("/counters/1/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("1002")
    wait_for_clips(page, len(spoken("1002", 1)))
    # Only the call made while the page was open was said.
    assert announced(page) == [("1002", "ticket.called", 1)]
    assert board_log(page, "clips") == spoken("1002", 1)
    assert requests.keys == list(dict.fromkeys(spoken("1002", 1)))


def test_a_board_for_one_room(live: Live, voice: VoicePack, open_board: Opener) -> None:
    """?counters=1,2 shows and says only those counters; ?recent and ?waiting=0 as the Qt display's settings."""
    for field in (HO_TICH, DAT_DAI, CHUNG_THUC):
        live.issue(field)
    for username, counter in (("lan.nt", 1), ("hung.tv", 2), ("mai.lt", 3)):
        live.officer(username, counter)
    page = open_board(f"counters=1,2&recent=2&waiting=0&{FAST}")
    expect(page.locator("#counter-rows tr")).to_have_count(2)
    assert list(counter_rows(page)) == ["Quầy 1", "Quầy 2"]
    expect(page.locator("#waiting-panel")).to_be_hidden()
    mai = live.officer("mai.lt", 3)
    lan = live.officer("lan.nt", 1)
    assert mai.post("/counters/3/call-next").status_code == 200
    assert lan.post("/counters/1/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("1001")
    assert announced(page) == [("1001", "ticket.called", 1)]  # counter 3's call came first and was left out
    expect(page.locator("#recent li")).to_have_text(["1001→Quầy 1"])
    assert lan.post("/counters/1/recall").status_code == 200
    assert lan.post("/counters/1/recall").status_code == 200
    expect(page.locator("#recent li")).to_have_count(2)  # ?recent=2
    shot(page, "board-web-one-room")

    other = open_board(f"fields=DD&voice=0&{FAST}")
    voice_requests: list[str] = []
    other.on("request", lambda request: voice_requests.append(request.url) if "/voice/" in request.url else None)
    expect(other.locator("#call-number")).to_have_text("3001")  # the latest call of its field
    assert list(counter_rows(other)) == ["Quầy 3"]
    expect(other.locator("#waiting tr")).to_have_count(1)
    expect(other.locator('#waiting tr[data-field="DD"] .waiting-name')).to_have_text("Đất đai")
    live.issue(DAT_DAI)
    assert mai.post("/counters/3/finish").status_code == 200
    assert mai.post("/counters/3/call-next").status_code == 200
    expect(other.locator("#call-number")).to_have_text("3002")
    assert [a[0] for a in announced(other)] == ["3002"]
    live.issue(DAT_DAI)  # one more event after the call, so a request it caused would have been seen
    expect(other.locator('#waiting tr[data-field="DD"] .waiting-count')).to_have_text("1")
    assert voice_requests == []  # ?voice=0: this screen stays silent, and asks for no clip
    assert board_log(other, "spoken") == []
    expect(other.locator("#sound-on")).to_be_hidden()


def test_setup_asks_for_the_display_token(live: Live, voice: VoicePack, open_board: Opener) -> None:
    page = open_board(token=None)
    expect(page.get_by_role("heading", name="Cài đặt màn hình gọi số")).to_be_visible()
    expect(page.locator("#setup-error")).to_be_hidden()
    page.locator("#setup-token").fill("hdd_not-a-real-token")
    page.get_by_role("button", name="Lưu và kết nối").click()
    expect(page.locator("#setup-error")).to_have_text(REVOKED)
    shot(page, "board-web-setup-1920")
    page.set_viewport_size(SMALL_TV)
    shot(page, "board-web-setup-1280")
    box = page.get_by_role("button", name="Lưu và kết nối").bounding_box()
    assert box is not None and box["y"] + box["height"] <= SMALL_TV["height"]
    # A kiosk's token would follow the centre too, but a board must be a display.
    page.locator("#setup-token").fill(live.devices["kiosk"])
    page.get_by_role("button", name="Lưu và kết nối").click()
    expect(page.locator("#setup-error")).to_have_text(WRONG_KIND)
    page.locator("#setup-token").fill(live.devices["display"])
    page.get_by_role("button", name="Lưu và kết nối").click()
    expect(page.locator("#centre-name")).to_have_text("Trung tâm Phục vụ hành chính công phường Ba Đình")
    page.reload()  # the token was kept
    expect(page.locator("#centre-name")).to_have_text("Trung tâm Phục vụ hành chính công phường Ba Đình")


def test_a_revoked_display_token_brings_back_the_setup(live: Live, voice: VoicePack, open_board: Opener) -> None:
    live.ctx.settings.heartbeat_seconds = 0.5  # the server checks the token once a heartbeat
    page = open_board()
    expect(page.locator("#centre-name")).to_be_visible()
    admin = live.admin()
    [display] = [d for d in admin.get("/admin/devices").json() if d["kind"] == "display"]
    assert admin.delete(f"/admin/devices/{display['id']}").status_code == 200
    expect(page.get_by_role("heading", name="Cài đặt màn hình gọi số")).to_be_visible(timeout=10000)
    expect(page.locator("#setup-error")).to_have_text(REVOKED)
    page.reload()  # the stored token is refused at once
    expect(page.locator("#setup-error")).to_have_text(REVOKED)


def test_without_a_voice_pack_the_board_works_silently(live: Live, open_board: Opener) -> None:
    live.issue(HO_TICH)
    page = open_board(FAST)
    expect(page.locator("#voice-note")).to_have_text(
        "Chưa có gói giọng đọc trên máy chủ – màn hình không đọc số (tạo bằng lệnh: hangdoi voice build)."
    )
    assert live.officer("lan.nt", 1).post("/counters/1/call-next").status_code == 200
    expect(page.locator("#call-number")).to_have_text("1001")
    assert [a[0] for a in announced(page)] == ["1001"]
    page.wait_for_function("() => !window.HangdoiBoard.clips.length && document.querySelector('#voice-note').textContent")
    note = page.locator("#voice-note").bounding_box()
    assert note is not None and note["height"] < TV["height"] / 15  # discreet: small print in the header
    assert page.locator("#voice-note").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") < TV["height"] / 50
    shot(page, "board-web-no-voice-pack")
    expect(page.locator("#sound-on")).to_be_hidden()


def test_a_missing_clip_is_skipped_and_the_rest_plays(live: Live, voice: VoicePack, open_board: Opener) -> None:
    path = voice.path_for("năm")
    assert path is not None
    path.unlink()
    for _ in range(5):
        live.issue(HO_TICH)
    lan = live.officer("lan.nt", 1)
    for _ in range(4):
        assert lan.post("/counters/1/call-next").status_code == 200
        assert lan.post("/counters/1/finish").status_code == 200
    page = open_board(FAST)
    expect(page.locator("#call-number")).to_have_text("1004")
    assert lan.post("/counters/1/call-next").status_code == 200  # 1005: một nghìn không trăm linh năm
    expected = [key for key in spoken("1005", 1, repeat=2) if key != "năm"]
    wait_for_clips(page, len(expected))
    assert board_log(page, "clips") == expected
    assert board_log(page, "missing") == ["năm"]
    expect(page.locator("#voice-note")).to_have_text("Gói giọng đọc thiếu: năm.")


def test_the_voice_routes(live: Live, voice: VoicePack) -> None:
    web = httpx.Client(base_url=live.base_url, timeout=30)
    try:
        plan = web.get("/voice/call", params={"label": "A012", "counter": 3, "repeat": 3}).json()
        assert plan["available"] is True and plan["missing"] == []
        assert [c["key"] for c in plan["clips"]] == [
            CHIME,
            *(["mời công dân có số", "a", "mười", "hai", "đến quầy số", "ba"] * 3),
        ]
        first = plan["clips"][0]["url"]
        clip = web.get(first)
        assert clip.status_code == 200 and clip.content[:4] == b"RIFF"
        assert clip.content == (voice.folder / voice.clips[CHIME]).read_bytes()
        lẻ = web.get("/voice/call", params={"label": "105", "counter": 1, "odd_word": "lẻ"}).json()
        assert [c["key"] for c in lẻ["clips"]][2:6] == ["một", "trăm", "lẻ", "năm"]

        # Only the files pack.json names: nothing above the pack, not pack.json, no unknown name.
        # http.client sends a path as written (httpx and browsers fold "../" away before asking).
        (live.ctx.settings.data_dir / "voice" / "secret.wav").write_bytes(b"RIFF-not-for-you")
        server = http.client.HTTPConnection("127.0.0.1", urlsplit(live.base_url).port, timeout=30)
        for path in (
            "/voice/clips/../secret.wav",
            "/voice/clips/..%2Fsecret.wav",
            "/voice/clips/%2E%2E%2Fsecret.wav",
            "/voice/clips/%2e%2e/%2e%2e/hangdoi.sqlite3",
            "/voice/clips/../../hangdoi.sqlite3",
            "/voice/clips/pack.json",
            "/voice/clips/khong-co.wav",
            "/voice/clips/",
        ):
            server.request("GET", path)
            answer = server.getresponse()
            body = json.loads(answer.read())
            assert answer.status == 404, path
            assert body["error"] == {"code": "clip_not_found", "message": "Không có đoạn âm thanh này trong gói giọng đọc."}, path
        server.close()

        # Bad input: a clear Vietnamese refusal.
        bad = web.get("/voice/call", params={"label": "10:05", "counter": 3})
        assert bad.status_code == 422
        assert bad.json()["error"]["message"] == "Không đọc được số thứ tự “10:05”: chỉ gồm chữ cái và chữ số."
        assert web.get("/voice/call", params={"label": "1005", "counter": 3, "repeat": 9}).status_code == 422
        assert web.get("/voice/call", params={"label": "1005", "counter": 3, "odd_word": "le"}).status_code == 422

        # No pack at all: the answer says so; nothing to play, nothing broken.
        shutil.rmtree(voice.folder)
        none = web.get("/voice/call", params={"label": "1005", "counter": 3}).json()
        assert (none["available"], none["clips"]) == (False, [])
        assert web.get("/voice/pack").json()["available"] is False
        assert web.get(first).status_code == 404
    finally:
        web.close()


def test_sound_waits_for_a_key_where_the_browser_blocks_it(live: Live, voice: VoicePack, browser: Browser) -> None:
    """A TV browser that will not play sound unprompted: the board offers a big focused button, which
    the remote's OK key presses; calls are shown meanwhile and said once sound is on."""
    strict = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    )
    try:
        context = strict.new_context(viewport=TV, device_scale_factor=1, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        page = context.new_page()
        page.goto(f"{live.base_url}/board?{FAST}#token={live.devices['display']}")
        button = page.get_by_role("button", name="Bấm để bật âm thanh")
        expect(button).to_be_visible()
        expect(button).to_be_focused()
        for _ in range(3):
            live.issue(HO_TICH)
        lan = live.officer("lan.nt", 1)
        assert lan.post("/counters/1/call-next").status_code == 200
        expect(page.locator("#call-number")).to_have_text("1001")
        page.wait_for_function("() => window.HangdoiBoard.silent.length === 1")
        shot(page, "board-web-sound-button")
        page.keyboard.press("Enter")  # the remote's OK key
        expect(button).to_be_hidden()
        assert page.evaluate("() => window.HangdoiBoard.clips.length") == 0
        assert lan.post("/counters/1/finish").status_code == 200
        assert lan.post("/counters/1/call-next").status_code == 200
        wait_for_clips(page, len(spoken("1002", 1)))
        assert board_log(page, "clips") == spoken("1002", 1)
        context.close()
    finally:
        strict.close()


# --- a server restart -------------------------------------------------------------------------------


class Restartable:
    """A real server on a fixed port that can be stopped and started again, as after a power cut."""

    def __init__(self, settings: Settings, clock: SettableClock) -> None:
        self.settings = settings
        self.clock = clock
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server, self.thread = serve_on(create_app(self.settings, self.clock), self.port)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.server = self.thread = None

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def officer_with_tickets(restartable: Restartable, devices: dict[str, str], tickets: int) -> str:
    """lan.nt signed in at counter 1, and that many Hộ tịch tickets taken at the kiosk: her token."""
    with httpx.Client(base_url=f"{restartable.base}/api/v1", timeout=30) as anonymous:
        login = anonymous.post("/auth/login", json={"username": "lan.nt", "password": "demo12345", "counter_id": 1})
    with restartable.api(devices["kiosk"]) as kiosk:
        for _ in range(tickets):
            assert kiosk.post("/tickets", json={"field_id": HO_TICH}).status_code == 201
    return str(login.json()["token"])


@pytest.fixture
def restartable(settings: Settings, clock: SettableClock) -> Iterator[Restartable]:
    server = Restartable(settings, clock)
    server.start()
    yield server
    server.stop()


def test_the_board_reconnects_and_says_missed_calls_once(
    browser: Browser, restartable: Restartable, settings: Settings, pack: VoicePack, database: Template
) -> None:
    install_pack(pack, settings.data_dir)
    devices = database.devices
    officer_token = officer_with_tickets(restartable, devices, 6)
    context = browser.new_context(viewport=TV, device_scale_factor=1, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        page.goto(f"{restartable.base}/board?{FAST}#token={devices['display']}")
        expect(page.locator("#centre-name")).to_be_visible()
        with restartable.api(officer_token) as lan:
            assert lan.post("/counters/1/call-next").status_code == 200
        expect(page.locator("#call-number")).to_have_text("1001")
        wait_for_clips(page, len(spoken("1001", 1)))

        # The server goes away: the board says so and keeps what it showed.
        restartable.stop()
        expect(page.locator("#offline")).to_have_text("Mất kết nối – đang kết nối lại…")
        expect(page.locator("#offline")).to_be_visible()
        expect(page.locator("#call-number")).to_have_text("1001")
        shot(page, "board-web-offline-1920")
        page.set_viewport_size(SMALL_TV)
        shot(page, "board-web-offline-1280")
        page.set_viewport_size(TV)

        # Meanwhile (the board cannot hear) 1002 is called, then, two minutes later, 1003 is called
        # and recalled. Back, the board says 1003 twice and not 1002: older than a minute, it no
        # longer matters (DisplaySettings.missed_call_seconds), though it is listed.
        # (The officer works through a second server on another port, on the same database.)
        elsewhere = Restartable(settings, restartable.clock)
        elsewhere.start()
        try:
            with elsewhere.api(officer_token) as lan:
                for step in ("finish", "call-next"):
                    assert lan.post(f"/counters/1/{step}").status_code == 200
                restartable.clock.advance(minutes=2)
                for step in ("finish", "call-next", "recall"):
                    assert lan.post(f"/counters/1/{step}").status_code == 200
        finally:
            elsewhere.stop()
        restartable.start()
        expect(page.locator("#offline")).to_be_hidden(timeout=10000)
        expect(page.locator("#call-number")).to_have_text("1003")
        expect(page.locator("#recent li")).to_have_text(["1003→Quầy 1", "1003→Quầy 1", "1002→Quầy 1", "1001→Quầy 1"])
        expect(page.locator("#clock")).to_have_text("08:32")
        said = spoken("1001", 1) + spoken("1003", 1) * 2
        wait_for_clips(page, len(said))
        assert announced(page) == [("1001", "ticket.called", 1), ("1003", "ticket.called", 1), ("1003", "ticket.recalled", 1)]
        assert board_log(page, "clips") == said

        # Another restart with nothing new: nothing is said again; the next call is said once.
        restartable.stop()
        expect(page.locator("#offline")).to_be_visible()
        restartable.start()
        expect(page.locator("#offline")).to_be_hidden(timeout=10000)
        with restartable.api(officer_token) as lan:
            assert lan.post("/counters/1/finish").status_code == 200
            assert lan.post("/counters/1/call-next").status_code == 200
        expect(page.locator("#call-number")).to_have_text("1004")
        said += spoken("1004", 1)
        wait_for_clips(page, len(said))
        assert [a[0] for a in announced(page)] == ["1001", "1003", "1003", "1004"]
        assert board_log(page, "clips") == said
    finally:
        context.close()


def test_after_a_restore_the_board_says_the_new_calls(
    browser: Browser, restartable: Restartable, settings: Settings, pack: VoicePack, database: Template
) -> None:
    """A backup restored while the board stays on puts the centre's sequence numbers back: the calls
    made after it reuse numbers the board has already handled, and must still be said."""
    from server import backup

    install_pack(pack, settings.data_dir)
    devices = database.devices
    officer_token = officer_with_tickets(restartable, devices, 4)
    saved, _summary, _removed = backup.backup(settings)  # the 12:15 backup
    context = browser.new_context(viewport=TV, device_scale_factor=1, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        page.goto(f"{restartable.base}/board?{FAST}#token={devices['display']}")
        expect(page.locator("#centre-name")).to_be_visible()
        with restartable.api(officer_token) as lan:
            for step in ("call-next", "finish", "call-next", "finish", "call-next"):
                assert lan.post(f"/counters/1/{step}").status_code == 200
        expect(page.locator("#call-number")).to_have_text("1003")
        said = spoken("1001", 1) + spoken("1002", 1) + spoken("1003", 1)
        wait_for_clips(page, len(said))

        # The afternoon's data is lost; the 12:15 backup is restored, and the server started again.
        restartable.stop()
        backup.restore(settings, saved)
        restartable.start()
        expect(page.locator("#offline")).to_be_hidden(timeout=10000)
        # The officer calls again from where the backup stood: these numbers come with sequence
        # numbers the board had already passed, and are said all the same.
        with restartable.api(officer_token) as lan:
            assert lan.post("/counters/1/call-next").status_code == 200
        expect(page.locator("#call-number")).to_have_text("1001")
        said += spoken("1001", 1)
        wait_for_clips(page, len(said))
        assert [a[0] for a in announced(page)] == ["1001", "1002", "1003", "1001"]
        assert board_log(page, "clips") == said
    finally:
        context.close()
