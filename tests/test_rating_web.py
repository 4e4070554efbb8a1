"""The web rating page (/rating) in a real browser (Debian's chromium, driven by Playwright) against
a real server: a citizen rates the visit on the counter's tablet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect
from sqlmodel import Session, select

from server.app import create_app
from server.clock import SettableClock
from server.config import Settings
from server.storage import tables
from tests.conftest import HO_TICH, Live, Template
from tests.web import LANDSCAPE, PORTRAIT, Browse, free_port, serve_on, shot

WRONG_DEVICE = "Mã thiết bị này không gắn với quầy nào. Hãy dùng mã của một “màn hình quầy”."

Opener = Callable[..., Page]


@pytest.fixture
def open_page(browse: Browse) -> Opener:
    """Opens /rating at a tablet size, with the device token in the address's fragment."""

    def opener(query: str = "", token: str | None = None, viewport: ViewportSize = PORTRAIT) -> Page:
        fragment = f"#token={token}" if token else ""
        return browse(f"/rating{query}{fragment}", viewport=viewport)

    return opener


def finish_one(live: Live, officer: httpx.Client, counter_id: int = 1) -> dict[str, Any]:
    ticket = live.issue(HO_TICH)["ticket"]
    assert officer.post(f"/counters/{counter_id}/call", json={"ticket_id": ticket["id"]}).status_code == 200
    live.clock.advance(minutes=3)
    done = officer.post(f"/counters/{counter_id}/finish")
    assert done.status_code == 200, done.text
    return done.json()["ticket"]


def ratings(live: Live) -> list[tables.Rating]:
    with Session(live.ctx.engine) as session:
        return list(session.exec(select(tables.Rating)).all())


def test_a_citizen_rates_the_visit_on_the_tablet(live: Live, open_page: Opener) -> None:
    page = open_page("?thanks=2", live.devices["counter_panel_1"])
    expect(page.locator("#screen-idle")).to_be_visible()
    expect(page.locator("#idle-counter")).to_have_text("Quầy số 1")
    expect(page.locator("#idle-officer")).to_have_text("Quầy hiện chưa có cán bộ làm việc")
    assert "token" not in page.url  # taken out of the address bar once stored
    lan = live.officer("lan.nt", 1)
    expect(page.locator("#idle-officer")).to_have_text("Cán bộ: Nguyễn Thị Lan")
    expect(page.get_by_text("Xin kính chào ông/bà")).to_be_visible()
    # Both bundled fonts came from this server, so the diacritics never depend on the tablet's fonts.
    loaded = page.evaluate(
        "() => document.fonts.ready.then(() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.weight))"
    )
    assert sorted(loaded) == ["400", "700"]
    shot(page, "rating-web-idle")

    ticket = finish_one(live, lan)
    expect(page.locator("#screen-levels")).to_be_visible()
    expect(page.get_by_role("heading", name="Xin ông/bà vui lòng đánh giá mức độ hài lòng")).to_be_visible()
    expect(page.locator("#levels-ticket")).to_have_text(f"Số {ticket['label']} · Hộ tịch")
    buttons = page.locator("#levels .level")
    expect(buttons).to_have_text(["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"])
    for index in range(4):
        box = buttons.nth(index).bounding_box()
        assert box is not None and box["height"] >= 96 and box["y"] + box["height"] <= PORTRAIT["height"]
    shot(page, "rating-web-levels")

    page.get_by_role("button", name="Không hài lòng", exact=True).click()
    expect(page.locator("#screen-reason")).to_be_visible()
    chip = page.get_by_role("button", name="Thời gian chờ quá lâu")
    chip.click()
    expect(chip).to_have_attribute("aria-pressed", "true")
    page.locator("#reason-text").fill("Xin bố trí thêm ghế ngồi")
    shot(page, "rating-web-reason")
    assert ratings(live) == []  # nothing is sent before "Gửi đánh giá"
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_text("Xin cảm ơn ông/bà!")).to_be_visible()
    shot(page, "rating-web-thanks")

    [row] = ratings(live)
    assert (row.ticket_id, row.level, row.scale) == (ticket["id"], 1, 4)
    assert row.reason == "Thời gian chờ quá lâu; Xin bố trí thêm ghế ngồi"
    expect(page.locator("#screen-idle")).to_be_visible(timeout=5000)  # back to the greeting after the thanks


def test_an_unanswered_question_goes_back_to_the_greeting(live: Live, open_page: Opener) -> None:
    page = open_page("?timeout=2", live.devices["counter_panel_1"])
    lan = live.officer("lan.nt", 1)
    expect(page.locator("#idle-officer")).to_have_text("Cán bộ: Nguyễn Thị Lan")
    finish_one(live, lan)
    expect(page.locator("#screen-levels")).to_be_visible()
    expect(page.locator("#screen-idle")).to_be_visible(timeout=6000)
    expect(page.locator("#screen-levels")).to_be_hidden()
    assert ratings(live) == []


def test_a_double_tap_sends_one_rating(live: Live, open_page: Opener) -> None:
    page = open_page("", live.devices["counter_panel_1"])
    lan = live.officer("lan.nt", 1)
    expect(page.locator("#idle-officer")).to_have_text("Cán bộ: Nguyễn Thị Lan")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if request.url.endswith("/rating") else None)
    ticket = finish_one(live, lan)
    page.get_by_role("button", name="Rất hài lòng").dblclick()
    expect(page.get_by_text("Xin cảm ơn ông/bà!")).to_be_visible()
    assert len(requests) == 1
    assert [(r.ticket_id, r.level) for r in ratings(live)] == [(ticket["id"], 4)]


def test_rated_already_is_thanked_too(live: Live, open_page: Opener) -> None:
    """The officer's app rated first (the citizen told the officer): the tablet still says thanks."""
    page = open_page("", live.devices["counter_panel_1"])
    lan = live.officer("lan.nt", 1)
    expect(page.locator("#idle-officer")).to_have_text("Cán bộ: Nguyễn Thị Lan")
    ticket = finish_one(live, lan)
    expect(page.locator("#screen-levels")).to_be_visible()

    def officer_first(route: Route) -> None:
        # The officer's rating lands between the citizen's tap and the tablet's request.
        assert lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 3}).status_code == 200
        route.continue_()

    page.route("**/api/v1/counters/1/rating", officer_first)
    page.get_by_role("button", name="Bình thường").click()
    expect(page.get_by_text("Xin cảm ơn ông/bà!")).to_be_visible()
    assert [(r.level, r.reason) for r in ratings(live)] == [(3, "")]


def test_five_levels_in_landscape(live: Live, open_page: Opener) -> None:
    live.admin().patch("/admin/centres/1", json={"rating_levels": 5})
    page = open_page("", live.devices["counter_panel_1"], LANDSCAPE)
    lan = live.officer("lan.nt", 1)
    expect(page.locator("#idle-officer")).to_have_text("Cán bộ: Nguyễn Thị Lan")
    shot(page, "rating-web-idle-landscape")
    finish_one(live, lan)
    buttons = page.locator("#levels .level")
    expect(buttons).to_have_text(["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng", "Rất không hài lòng"])
    for index in range(5):
        box = buttons.nth(index).bounding_box()
        assert box is not None and box["height"] >= 96 and box["y"] + box["height"] <= LANDSCAPE["height"]
        assert box["x"] >= 0 and box["x"] + box["width"] <= LANDSCAPE["width"]
    shot(page, "rating-web-levels-landscape")
    page.get_by_role("button", name="Rất không hài lòng").click()
    for name in ("Thái độ phục vụ chưa tốt", "Phải bổ sung hồ sơ nhiều lần"):
        page.get_by_role("button", name=name).click()
    send = page.get_by_role("button", name="Gửi đánh giá")
    box = send.bounding_box()
    assert box is not None and box["y"] + box["height"] <= LANDSCAPE["height"]
    shot(page, "rating-web-reason-landscape")
    send.click()
    expect(page.get_by_text("Xin cảm ơn ông/bà!")).to_be_visible()
    [row] = ratings(live)
    assert (row.level, row.scale, row.reason) == (1, 5, "Thái độ phục vụ chưa tốt; Phải bổ sung hồ sơ nhiều lần")


def test_setup_asks_for_the_device_token(live: Live, open_page: Opener) -> None:
    page = open_page()
    expect(page.get_by_text("Cài đặt màn hình đánh giá")).to_be_visible()
    page.locator("#setup-token").fill("hdd_not-a-real-token")
    page.get_by_role("button", name="Lưu và kết nối").click()
    expect(page.locator("#setup-error")).to_have_text("Mã thiết bị không hợp lệ hoặc đã bị thu hồi.")
    shot(page, "rating-web-setup")
    kiosk = live.devices["kiosk"]  # a device, but not a counter's tablet
    page.locator("#setup-token").fill(kiosk)
    page.get_by_role("button", name="Lưu và kết nối").click()
    expect(page.locator("#setup-error")).to_have_text(WRONG_DEVICE)
    page.locator("#setup-token").fill(live.devices["counter_panel_2"])
    page.get_by_role("button", name="Lưu và kết nối").click()
    expect(page.locator("#idle-counter")).to_have_text("Quầy số 2")
    page.reload()  # the token was kept
    expect(page.locator("#idle-counter")).to_have_text("Quầy số 2")


def test_the_page_reconnects_by_itself(browser: Browser, settings: Settings, clock: SettableClock, database: Template) -> None:
    """The server restarts (an update, a power cut): the tablet says so, then carries on alone."""
    port = free_port()
    server, thread = serve_on(create_app(settings, clock), port)
    base = f"http://127.0.0.1:{port}"
    devices = database.devices
    context = browser.new_context(viewport=PORTRAIT)
    try:
        page = context.new_page()
        page.goto(f"{base}/rating#token={devices['counter_panel_1']}")
        expect(page.locator("#screen-idle")).to_be_visible()
        server.should_exit = True
        thread.join(timeout=10)
        expect(page.locator("#offline")).to_have_text("Mất kết nối – đang kết nối lại…")
        expect(page.locator("#offline")).to_be_visible()
        shot(page, "rating-web-offline")
        server, thread = serve_on(create_app(settings, clock), port)
        expect(page.locator("#offline")).to_be_hidden(timeout=8000)
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
            token = api.post("/auth/login", json={"username": "lan.nt", "password": "demo12345", "counter_id": 1}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            kiosk = {"Authorization": f"Bearer {devices['kiosk']}"}
            ticket = api.post("/tickets", json={"field_id": HO_TICH}, headers=kiosk).json()["ticket"]
            api.post("/counters/1/call-next", headers=headers)
            api.post("/counters/1/finish", headers=headers)
        expect(page.locator("#levels-ticket")).to_have_text(f"Số {ticket['label']} · Hộ tịch")
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)
