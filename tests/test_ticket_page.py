"""The public ticket page behind a ticket's QR code (/t/<code>) in a real browser (Debian's chromium,
driven by Playwright) at phone width, against a real server: a citizen follows their turn."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect
from sqlmodel import Session, select

from server.app import create_app
from server.clock import SettableClock
from server.config import Settings
from server.demo import OFFICERS
from server.storage import tables
from tests.conftest import CHUNG_THUC, HO_TICH, NGUOI_CAO_TUOI, Live, Template
from tests.web import PHONE, Browse, free_port, serve_on, shot

CENTRE = "Trung tâm Phục vụ hành chính công phường Ba Đình"
NOT_FOUND = "Không tìm thấy phiếu số thứ tự"
CHECK_QR = "Xin kiểm tra lại mã QR trên phiếu, hoặc hỏi cán bộ tại Trung tâm để được hướng dẫn."
OFFLINE = "Mất kết nối – đang kết nối lại…"
CALL_COLOUR = "rgb(255, 208, 0)"

# Records what the page asks the phone to vibrate, where a desktop chromium would do nothing.
VIBRATE_SPY = """() => {
  window.vibrations = [];
  Object.defineProperty(navigator, "vibrate", {
    configurable: true,
    value: (pattern) => { window.vibrations.push(pattern); return true; },
  });
  window.notReloaded = true;
}"""


def open_ticket(browse: Browse, issued: dict[str, Any]) -> Page:
    page = browse(f"/t/{issued['code']}", viewport=PHONE)
    expect(page.locator("#label")).to_have_text(issued["ticket"]["label"])
    expect(page.locator("body")).to_have_attribute("data-live", "on")  # the live feed took its snapshot
    return page


def post_ok(client: httpx.Client, path: str, **body: Any) -> dict[str, Any]:
    answer = client.post(path, json=body or None)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_citizen_follows_the_turn_live(live: Live, browse: Browse) -> None:
    first, second = live.issue(HO_TICH), live.issue(HO_TICH)
    mine = live.issue(HO_TICH)
    label = mine["ticket"]["label"]
    page = open_ticket(browse, mine)
    expect(page.locator("#centre-name")).to_have_text(CENTRE)
    expect(page.locator("#field-name")).to_have_text("Hộ tịch")
    expect(page.locator("#state-text")).to_have_text("Đang chờ đến lượt")
    expect(page.locator("#ahead")).to_have_text("2")
    expect(page.locator(".estimate").filter(visible=True)).to_have_text(
        f"Thời gian chờ dự kiến: khoảng {mine['wait_minutes']} phút"
    )
    expect(page.locator(".serving")).to_contain_text("Chưa có số nào được gọi")
    expect(page.locator(".priority")).to_be_hidden()
    expect(page.locator("#offline")).to_be_hidden()
    expect(page.get_by_text("Trang tự cập nhật, không cần tải lại.")).to_be_visible()
    assert page.title() == f"Số {label} – Đang chờ đến lượt"
    # The bundled fonts came from this server: the diacritics never depend on the phone's fonts.
    loaded = page.evaluate(
        "() => document.fonts.ready.then(() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.weight))"
    )
    assert sorted(loaded) == ["400", "700"]
    # The number is the biggest thing on the screen, and everything fits 360 px without sideways scrolling.
    number = page.locator("#label").bounding_box()
    assert number is not None and number["height"] >= 100
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.evaluate(VIBRATE_SPY)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    lan = live.officer("lan.nt", 1)
    post_ok(lan, "/counters/1/call", ticket_id=first["ticket"]["id"])
    expect(page.locator("#ahead")).to_have_text("1")
    expect(page.locator("#now-serving")).to_have_text(first["ticket"]["label"])
    shot(page, "ticket-web-waiting")

    post_ok(lan, "/counters/1/finish")
    post_ok(lan, "/counters/1/call-next")
    expect(page.locator("#now-serving")).to_have_text(second["ticket"]["label"])
    expect(page.locator("#ahead")).to_have_text("0")
    expect(page.get_by_text("Sắp đến lượt ông/bà. Xin chú ý màn hình và loa gọi số.")).to_be_visible()
    post_ok(lan, "/counters/1/finish")

    live.clock.advance(minutes=12)
    post_ok(lan, "/counters/1/call", ticket_id=mine["ticket"]["id"])
    call = page.locator("#call")
    expect(call).to_be_visible()
    expect(call.locator(".call-lead")).to_have_text("Mời ông/bà đến")
    expect(call.locator(".call-counter")).to_have_text(re.compile(r"^QUẦY SỐ\s*1$"))
    expect(page.locator("#called-at")).to_have_text("08:42")
    expect(page.locator(".wait")).to_be_hidden()
    expect(page).to_have_title(f"Mời đến Quầy số 1 – Số {label}")
    expect(page.locator("body")).to_have_css("background-color", CALL_COLOUR)
    # Prominent: the counter's number is huge and on the first screen, with no scrolling.
    counter = call.locator(".call-number").bounding_box()
    assert counter is not None and counter["height"] >= 120 and counter["y"] + counter["height"] <= PHONE["height"]
    page.wait_for_function("() => window.vibrations.length === 1")
    shot(page, "ticket-web-called")

    post_ok(lan, "/counters/1/recall")
    expect(page.locator(".recall")).to_have_text("Đang gọi lại! Xin ông/bà đến quầy ngay.")
    expect(page.locator(".recall")).to_be_visible()
    page.wait_for_function("() => window.vibrations.length === 2")
    shot(page, "ticket-web-recalled")

    post_ok(lan, "/counters/1/start")
    expect(page.get_by_role("heading", name="Đang được phục vụ")).to_be_visible()
    expect(page.locator(".only-serving")).to_contain_text("Ông/bà đang được phục vụ tại Quầy số 1.")
    expect(page.locator(".recall")).to_be_hidden()

    post_ok(lan, "/counters/1/finish")
    expect(page.get_by_role("heading", name="Xin cảm ơn ông/bà!")).to_be_visible()
    expect(page.locator("#state-text")).to_have_text("Đã hoàn thành")
    expect(page).to_have_title(f"Số {label} – Đã hoàn thành")
    expect(page.locator("body")).not_to_have_css("background-color", CALL_COLOUR)
    expect(page.get_by_text("Trang tự cập nhật, không cần tải lại.")).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-live", "ended")  # nothing more can happen: the feed is closed
    assert page.evaluate("() => window.notReloaded") is True  # every change above came live
    assert errors == []
    shot(page, "ticket-web-done")


def test_no_show_and_cancel_end_with_a_clear_message(live: Live, browse: Browse) -> None:
    absent, cancelled = live.issue(HO_TICH), live.issue(HO_TICH)
    absent_page, cancelled_page = open_ticket(browse, absent), open_ticket(browse, cancelled)
    errors: list[str] = []
    for page in (absent_page, cancelled_page):
        page.on("pageerror", lambda error: errors.append(str(error)))
    lan = live.officer("lan.nt", 1)
    post_ok(lan, "/counters/1/call", ticket_id=absent["ticket"]["id"])
    expect(absent_page.locator("#call")).to_be_visible()
    post_ok(lan, "/counters/1/no-show")
    expect(absent_page.get_by_role("heading", name="Đã qua lượt")).to_be_visible()
    expect(absent_page.get_by_text("Xin liên hệ cán bộ tại Trung tâm hoặc lấy số mới tại máy lấy số.")).to_be_visible()
    expect(absent_page.locator("#call")).to_be_hidden()
    shot(absent_page, "ticket-web-no-show")

    post_ok(lan, "/counters/1/call", ticket_id=cancelled["ticket"]["id"])
    expect(cancelled_page.locator("#call")).to_be_visible()
    post_ok(lan, "/counters/1/cancel")
    expect(cancelled_page.get_by_role("heading", name="Phiếu đã bị hủy")).to_be_visible()
    expect(cancelled_page).to_have_title(f"Số {cancelled['ticket']['label']} – Đã hủy")
    # The absent citizen's page stays as it was: another ticket's end is not theirs.
    expect(absent_page.get_by_role("heading", name="Đã qua lượt")).to_be_visible()
    assert errors == []


def test_the_page_is_rendered_on_the_server(live: Live, browser: Browser) -> None:
    """Something useful shows before (or without) the script, in the centre's time, on a phone set
    to another time zone."""
    live.issue(HO_TICH)
    mine = live.issue(HO_TICH, priority_group_id=NGUOI_CAO_TUOI)
    lan = live.officer("lan.nt", 1)
    live.clock.advance(minutes=5)
    post_ok(lan, "/counters/1/call", ticket_id=mine["ticket"]["id"])
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{live.base_url}/t/{mine['code']}")
        expect(page.locator("#label")).to_have_text(mine["ticket"]["label"])
        expect(page.locator(".priority")).to_have_text("Ưu tiên")
        expect(page.locator(".call-counter")).to_have_text(re.compile(r"^QUẦY SỐ\s*1$"))
        expect(page.locator("#called-at")).to_have_text("08:35")
        expect(page.locator("#issued-at")).to_have_text("08:30 · 23/11/2026")
        assert page.title() == f"Mời đến Quầy số 1 – Số {mine['ticket']['label']}"
        expect(page.locator("#offline")).to_be_hidden()
        # Nothing keeps this page live, so it does not claim to be.
        expect(page.get_by_text("Trang tự cập nhật, không cần tải lại.")).to_be_hidden()
        shot(page, "ticket-web-priority-called-no-script")
    finally:
        context.close()


def test_the_centres_time_on_a_phone_in_another_time_zone(live: Live, browser: Browser) -> None:
    """The live call time is shown in Hà Nội time by the script too, whatever the phone's zone."""
    mine = live.issue(HO_TICH)
    context = browser.new_context(viewport=PHONE, timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{live.base_url}/t/{mine['code']}")
        expect(page.locator("#ahead")).to_have_text("0")
        expect(page.locator("body")).to_have_attribute("data-live", "on")
        live.clock.advance(minutes=47)
        post_ok(live.officer("lan.nt", 1), "/counters/1/call", ticket_id=mine["ticket"]["id"])
        expect(page.locator("#called-at")).to_have_text("09:17")
        expect(page.locator("#issued-at")).to_have_text("08:30 · 23/11/2026")
    finally:
        context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/t/AAAAAAAAAAAAAAAAAAAAAA",  # the right shape, but no such ticket
        "/t/" + "x" * 300,  # absurdly long
        "/t/abc%3Cscript%3Ealert(1)%3C%2Fscript%3E",  # odd characters
        "/t/phi%E1%BA%BFu-s%E1%BB%91",  # Vietnamese letters
        "/t/abc/def",
        "/t/abc%2Fdef",
        "/t/",
        "/t",
    ],
)
def test_an_unknown_code_gets_a_friendly_page(live: Live, browse: Browse, path: str) -> None:
    page = browse("/static/fonts.css", viewport=PHONE)
    response = page.goto(f"{live.base_url}{path}")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "noindex" in response.headers["x-robots-tag"]
    expect(page.get_by_role("heading", name=NOT_FOUND)).to_be_visible()
    expect(page.get_by_text(CHECK_QR)).to_be_visible()
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "{" not in text and "script" not in text and "alert" not in text
    assert page.title() == NOT_FOUND
    if path == "/t/AAAAAAAAAAAAAAAAAAAAAA":
        shot(page, "ticket-web-404")


def test_a_transferred_ticket_shows_its_new_field(live: Live, browse: Browse) -> None:
    mine = live.issue(HO_TICH)
    page = open_ticket(browse, mine)
    lan = live.officer("lan.nt", 1)
    post_ok(lan, "/counters/1/call", ticket_id=mine["ticket"]["id"])
    expect(page.locator("#call")).to_be_visible()
    post_ok(lan, "/counters/1/transfer", field_id=CHUNG_THUC)
    expect(page.locator("#field-name")).to_have_text("Chứng thực")
    expect(page.locator("#moved")).to_have_text("Phiếu của ông/bà đã được chuyển sang lĩnh vực Chứng thực. Số thứ tự giữ nguyên.")
    expect(page.locator("#state-text")).to_have_text("Đang chờ đến lượt")
    expect(page.locator("#label")).to_have_text(mine["ticket"]["label"])  # keeps its number
    expect(page.locator("#call")).to_be_hidden()
    shot(page, "ticket-web-transferred")
    # Followed in the new field from now on: a call at a Chứng thực counter reaches the page.
    hung = live.officer("hung.tv", 2)
    post_ok(hung, "/counters/2/call", ticket_id=mine["ticket"]["id"])
    expect(page.locator(".call-counter")).to_have_text(re.compile(r"^QUẦY SỐ\s*2$"))
    fresh = open_ticket(browse, mine)
    expect(fresh.locator("#field-name")).to_have_text("Chứng thực")


def test_nothing_personal_and_no_code_in_the_page(live: Live, browse: Browse) -> None:
    """The officer's name and phone stay off the citizen's page, in the HTML and on the socket; the
    code is only in the address."""
    mine = live.issue(HO_TICH)
    lan = live.officer("lan.nt", 1)
    post_ok(lan, "/counters/1/call", ticket_id=mine["ticket"]["id"])
    answer = httpx.get(f"{live.base_url}/t/{mine['code']}")
    assert answer.status_code == 200
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in answer.text
    html = answer.text
    assert mine["ticket"]["label"] in html and "Nguyễn Thị Lan" not in html
    personal = [value for username, full_name, _, phone, _ in OFFICERS for value in (username, full_name, phone)]
    assert [value for value in personal if value in html] == []
    assert mine["code"] not in html

    frames: list[str] = []

    def listen(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else payload.decode()))

    page = browse("/static/fonts.css", viewport=PHONE)
    page.on("websocket", listen)
    page.goto(f"{live.base_url}/t/{mine['code']}")
    expect(page.locator("#call")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    post_ok(lan, "/counters/1/recall")
    expect(page.locator(".recall")).to_be_visible()
    assert len(frames) >= 2  # the snapshot and the recall
    assert [value for value in personal if any(value in frame for frame in frames)] == []


def _issue(api: httpx.Client, kiosk_token: str) -> dict[str, Any]:
    answer = api.post("/tickets", json={"field_id": HO_TICH}, headers={"Authorization": f"Bearer {kiosk_token}"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_page_reconnects_by_itself(browser: Browser, settings: Settings, clock: SettableClock, database: Template) -> None:
    """The server restarts (an update, a power cut): the phone says so, then carries on alone."""
    port = free_port()
    server, thread = serve_on(create_app(settings, clock), port)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
            first = _issue(api, database.devices["kiosk"])
            mine = _issue(api, database.devices["kiosk"])
        page = context.new_page()
        page.goto(f"{base}/t/{mine['code']}")
        expect(page.locator("#ahead")).to_have_text("1")
        expect(page.locator("body")).to_have_attribute("data-live", "on")
        expect(page.locator("#offline")).to_be_hidden()
        page.evaluate("() => { window.notReloaded = true; }")
        server.should_exit = True
        thread.join(timeout=10)
        expect(page.locator("#offline")).to_have_text(OFFLINE)
        expect(page.locator("#offline")).to_be_visible()
        shot(page, "ticket-web-offline")

        server, thread = serve_on(create_app(settings, clock), port)
        expect(page.locator("#offline")).to_be_hidden(timeout=8000)
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
            login = api.post("/auth/login", json={"username": "lan.nt", "password": "demo12345", "counter_id": 1})
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            assert api.post("/counters/1/call", json={"ticket_id": first["ticket"]["id"]}, headers=headers).status_code == 200
        expect(page.locator("#ahead")).to_have_text("0")
        assert page.evaluate("() => window.notReloaded") is True
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)


def test_a_ticket_gone_from_the_server_says_so(
    browser: Browser, settings: Settings, clock: SettableClock, database: Template
) -> None:
    """After a restart the server no longer knows the code (a database restored from an earlier
    backup): the page says so in the same words as the 404 page, and stops reconnecting."""
    port = free_port()
    app = create_app(settings, clock)
    server, thread = serve_on(app, port)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
            mine = _issue(api, database.devices["kiosk"])
        page = context.new_page()
        page.goto(f"{base}/t/{mine['code']}")
        expect(page.locator("body")).to_have_attribute("data-live", "on")
        expect(page.locator("#offline")).to_be_hidden()
        server.should_exit = True
        thread.join(timeout=10)
        expect(page.locator("#offline")).to_be_visible()
        with Session(app.state.ctx.engine) as session:
            ticket = session.exec(select(tables.Ticket).where(tables.Ticket.code == mine["code"])).one()
            ticket.code = "restored-without-it"
            session.add(ticket)
            session.commit()
        server, thread = serve_on(create_app(settings, clock), port)
        expect(page.get_by_role("heading", name=NOT_FOUND)).to_be_visible(timeout=8000)
        expect(page.get_by_text(CHECK_QR)).to_be_visible()
        expect(page.locator("#offline")).to_be_hidden()
        expect(page.locator("#label")).to_be_hidden()
        assert page.title() == NOT_FOUND
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)
