"""The live dashboard (/admin/dashboard) in a real browser (Debian's chromium, driven by Playwright)
against a real server: a centre's head signs in and watches queues, counters and devices change
with no reload."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from server.app import create_app
from server.clock import SettableClock
from server.config import Settings
from server.demo import DEMO_PASSWORD
from server.storage import tables
from tests.conftest import CHUNG_THUC, HO_TICH, PROVINCE_ADMIN, Live, Template
from tests.web import DESKTOP, Browse, free_port, serve_on, shot

BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
NOT_ADMIN = "Tài khoản này không có quyền quản trị. Cán bộ làm việc tại quầy dùng ứng dụng quầy."


def sign_in(page: Page, username: str = "quantri", password: str = DEMO_PASSWORD) -> None:
    page.locator("#sign-in-username").fill(username)
    page.locator("#sign-in-password").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def open_dashboard(browse: Browse, query: str = "") -> Page:
    """The dashboard, signed in through its own form as the centre's administrator."""
    page = browse(f"/admin/dashboard{query}", viewport=DESKTOP)
    expect(page.get_by_role("heading", name="Đăng nhập quản trị")).to_be_visible()
    sign_in(page)
    expect(page.locator("#dash-body")).to_be_visible()
    expect(page.locator("#dash-live")).to_have_text("Đang cập nhật trực tiếp")
    return page


def field_row(page: Page, field_id: int) -> str:
    return f'#fields-body tr[data-field-id="{field_id}"]'


def stays(page: Page) -> None:
    """Marks the loaded document: if the page reloaded or navigated, the mark is gone."""
    page.evaluate("() => { window.__stayed = true; }")


def test_an_admin_signs_in_through_the_form(live: Live, browse: Browse) -> None:
    page = browse("/admin/dashboard", viewport=DESKTOP)
    expect(page.get_by_role("heading", name="Đăng nhập quản trị")).to_be_visible()
    sign_in(page, password="sai-mat-khau")
    expect(page.locator("#sign-in-error")).to_have_text(BAD_LOGIN)
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#admin-main")).to_be_hidden()
    expect(page.locator("#sign-in-password")).to_have_value("")  # typed again, the username kept
    expect(page.locator("#sign-in-username")).to_have_value("quantri")
    shot(page, "dashboard-web-sign-in-refused")

    sign_in(page)
    expect(page.locator("#dash-body")).to_be_visible()
    expect(page.locator("#sign-in")).to_have_count(0)
    expect(page.locator("#admin-name")).to_have_text("Nguyễn Thị Thu Hà")
    expect(page.locator("#admin-header nav a[aria-current='page']")).to_have_text("Tổng quan")
    expect(page.locator("#dash-centre")).to_have_text("Trung tâm Phục vụ hành chính công phường Ba Đình")
    expect(page.locator("#dash-day")).to_have_text("Thứ Hai, 23/11/2026")
    # A quiet morning: nobody waits, every counter closed, seven fields all taking numbers.
    expect(page.locator("#total-waiting .tile-value")).to_have_text("0")
    expect(page.locator("#total-open .tile-value")).to_have_text("0/5")
    expect(page.locator("#fields-body tr")).to_have_count(7)
    expect(page.locator(f"{field_row(page, HO_TICH)} .numbers")).to_have_text("Còn 999 số")
    expect(page.locator("#counters-list .counter-state")).to_have_text(["Đóng"] * 5)
    expect(page.locator("#calls-list")).to_have_text("Hôm nay chưa có lượt gọi nào.")
    loaded = page.evaluate(
        "() => document.fonts.ready.then(() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.weight))"
    )
    assert sorted(loaded) == ["400", "700"]
    shot(page, "dashboard-web-empty", full_page=True)
    page.reload()  # the token was kept: no second sign-in
    expect(page.locator("#dash-body")).to_be_visible()


def test_an_officer_is_refused(live: Live, browse: Browse) -> None:
    page = browse("/admin/dashboard", viewport=DESKTOP)
    sign_in(page, "lan.nt")
    expect(page.locator("#sign-in-error")).to_have_text(NOT_ADMIN)
    expect(page.locator("#admin-main")).to_be_hidden()
    assert page.evaluate("() => localStorage.getItem('hangdoi.admin.token')") is None
    # The officer's session was signed out again, not left behind.
    with live.ctx.read() as session:
        rows = session.exec(select(tables.AuthSession)).all()
        assert all(row.revoked_at is not None for row in rows), rows


def test_queues_and_counters_change_without_reload(live: Live, browse: Browse) -> None:
    page = open_dashboard(browse)
    stays(page)
    live.issue(HO_TICH)
    live.issue(HO_TICH, priority_group_id=1)
    ticket = live.issue(CHUNG_THUC)["ticket"]
    row = field_row(page, HO_TICH)
    expect(page.locator(f"{row} .waiting")).to_have_text("2")
    expect(page.locator(f"{row} .priority")).to_have_text("1 ưu tiên")
    expect(page.locator(f"{row} .numbers")).to_have_text("Còn 997 số")
    expect(page.locator(f"{field_row(page, CHUNG_THUC)} .waiting")).to_have_text("1")
    expect(page.locator("#total-waiting .tile-value")).to_have_text("3")
    expect(page.locator("#total-waiting .tile-note")).to_have_text("trong đó 1 ưu tiên")
    expect(page.locator("#total-issued .tile-value")).to_have_text("3")
    # Nobody can serve them yet: the head sees it at once.
    expect(page.locator(f"{row}.row-bad")).to_have_count(1)
    expect(page.locator("#alerts-list")).to_contain_text("Hộ tịch: 2 người đang chờ nhưng không có quầy nào mở.")

    lan = live.officer("lan.nt", 1)
    counter = page.locator("#counter-1")
    expect(counter.locator(".counter-state")).to_have_text("Đang mở")
    expect(counter.locator(".officer-name")).to_have_text("Nguyễn Thị Lan")
    expect(counter.locator(".officer-phone")).to_have_text("0912 301 101")
    called = lan.post("/counters/1/call-next")
    assert called.status_code == 200, called.text
    label = called.json()["ticket"]["label"]
    expect(counter.locator(".ticket-label")).to_have_text(label)
    expect(counter.locator(".ticket-since")).to_contain_text("Đã mời dưới 1 phút (từ 08:30)")
    expect(page.locator("#calls-list .call-label").first).to_have_text(label)
    expect(page.locator("#calls-list .call-where").first).to_have_text("Quầy số 1")
    expect(page.locator("#total-open .tile-value")).to_have_text("1/5")
    expect(page.locator(f"{row} .open")).to_have_text("1")
    expect(page.locator(f"{row}.row-bad")).to_have_count(0)

    live.clock.advance(minutes=4)
    assert lan.post("/counters/1/start").status_code == 200
    expect(counter.locator(".ticket-since")).to_contain_text("Đang phục vụ dưới 1 phút (từ 08:34)")
    expect(page.locator("#total-served .tile-value")).to_have_text("0")
    assert lan.post("/counters/1/finish").status_code == 200
    expect(page.locator("#total-served .tile-value")).to_have_text("1")
    expect(page.locator(f"{row} .issued")).to_have_text("Đã cấp 2 số · đã xong 1")
    assert lan.post("/counters/1/pause").status_code == 200
    expect(counter.locator(".counter-state")).to_have_text("Tạm dừng")
    assert page.evaluate("() => window.__stayed") is True
    assert ticket["label"] == "2001"
    shot(page, "dashboard-web-live", full_page=True)


def test_device_health_follows_the_kiosk(live: Live, browse: Browse) -> None:
    page = open_dashboard(browse, "?devices_every=1")
    stays(page)
    kiosk = page.locator('#devices-body tr[data-kind="kiosk"]')
    expect(kiosk.locator(".device-name")).to_have_text("Máy lấy số sảnh chính")
    expect(kiosk.locator(".device-kind")).to_have_text("Máy lấy số")
    expect(kiosk.locator(".device-online")).to_have_text("Mất kết nối")
    expect(kiosk.locator(".device-seen")).to_have_text("Chưa kết nối lần nào")
    expect(kiosk.locator(".device-printer")).to_have_text("Chưa báo")
    expect(page.locator('#devices-body tr[data-kind="display"] .device-kind')).to_have_text("Màn hình chờ")
    expect(page.locator('#devices-body tr[data-kind="counter_panel"] .device-kind')).to_have_text(["Màn hình quầy"] * 5)
    expect(page.locator('#devices-body tr[data-kind="display"] .device-printer')).to_have_text("—")
    expect(page.locator("#alerts-list")).to_contain_text("7 thiết bị mất kết nối")

    reported = live.kiosk().post("/devices/me/status", json={"printer_state": "paper_out"})
    assert reported.status_code == 200, reported.text
    expect(kiosk.locator(".device-online")).to_have_text("Trực tuyến")
    expect(kiosk.locator(".device-printer")).to_have_text("Hết giấy")
    expect(kiosk.locator(".device-seen")).to_have_text("08:30")
    expect(kiosk).to_have_class("row-bad")
    expect(page.locator("#alerts-list")).to_contain_text("Máy lấy số sảnh chính: Hết giấy.")
    expect(page.locator("#alerts-list")).to_contain_text("6 thiết bị mất kết nối")
    shot(page, "dashboard-web-devices", full_page=True)

    assert live.kiosk().post("/devices/me/status", json={"printer_state": "paper_low"}).status_code == 200
    expect(kiosk.locator(".device-printer")).to_have_text("Sắp hết giấy")
    expect(kiosk).to_have_class("row-warn")
    # Not a printer state the page knows: refused by the server, the page keeps the last one.
    assert live.kiosk().post("/devices/me/status", json={"printer_state": "on_fire"}).status_code == 422
    for _ in range(2):  # two more rounds of the device list: the first has been drawn when the second comes
        with page.expect_response(lambda response: "/api/v1/admin/devices" in response.url):
            pass
    expect(kiosk.locator(".device-printer")).to_have_text("Sắp hết giấy")
    assert live.kiosk().post("/devices/me/status", json={"printer_state": "ok"}).status_code == 200
    expect(kiosk.locator(".device-printer")).to_have_text("Bình thường")
    expect(page.locator("#alerts-list")).not_to_contain_text("Máy lấy số sảnh chính:")
    assert page.evaluate("() => window.__stayed") is True


def test_the_longest_wait_is_counted_on_the_servers_clock(live: Live, browse: Browse) -> None:
    page = open_dashboard(browse)
    # The snapshot carries the server's time: the clock is the centre's, not this computer's.
    expect(page.locator("#dash-clock")).to_have_text("08:30")
    live.issue(HO_TICH)
    row = field_row(page, HO_TICH)
    expect(page.locator(f"{row} .longest")).to_have_text("dưới 1 phút")
    expect(page.locator(f"{field_row(page, CHUNG_THUC)} .longest")).to_have_text("—")

    live.clock.advance(minutes=12)
    live.issue(CHUNG_THUC)  # any event tells the page the server's time
    expect(page.locator(f"{row} .longest")).to_have_text("12 phút")
    expect(page.locator("#total-longest .tile-value")).to_have_text("12 phút")
    expect(page.locator("#total-longest .tile-note")).to_have_text("Hộ tịch")
    # The newcomer's estimate is the server's, as it is printed on the ticket.
    state = live.admin().get("/centres/1/state").json()
    [ho_tich] = [f for f in state["fields"] if f["id"] == HO_TICH]
    assert ho_tich["wait_minutes"] > 0
    expect(page.locator(f"{row} .estimate")).to_have_text(f"khoảng {ho_tich['wait_minutes']} phút")

    live.clock.advance(minutes=20)
    live.issue(CHUNG_THUC)
    expect(page.locator(f"{row} .longest")).to_have_text("32 phút")
    expect(page.locator(f"{row} .longest")).to_have_class("badge bad longest")
    expect(page.locator("#alerts-list .alert").first).to_have_text(
        "Hộ tịch: có người đã chờ 32 phút; 1 người đang chờ nhưng không có quầy nào mở."
    )
    shot(page, "dashboard-web-long-wait", full_page=True)


def test_a_province_admin_switches_centre(live: Live, browse: Browse) -> None:
    """The feed and the device list follow the centre chosen in the header, and only that one."""
    province = live.province_admin()
    other = province.post("/admin/centres", json={"name": "Trung tâm Phục vụ hành chính công xã Đông Anh"})
    assert other.status_code == 201, other.text
    field = province.post(
        "/admin/fields",
        json={"centre_id": other.json()["id"], "code": "HT", "name": "Hộ tịch Đông Anh", "number_start": 1, "number_end": 500},
    )
    assert field.status_code == 201, field.text
    page = browse("/admin/dashboard", viewport=DESKTOP)
    sign_in(page, *PROVINCE_ADMIN)
    expect(page.locator("#dash-centre")).to_have_text("Trung tâm Phục vụ hành chính công phường Ba Đình")
    expect(page.locator("#fields-body tr")).to_have_count(7)
    stays(page)

    page.locator("#centre-select").select_option(label="Trung tâm Phục vụ hành chính công xã Đông Anh")
    expect(page.locator("#dash-centre")).to_have_text("Trung tâm Phục vụ hành chính công xã Đông Anh")
    expect(page.locator("#fields-body .field-name")).to_have_text(["Hộ tịch Đông AnhĐã cấp 0 số · đã xong 0"])
    expect(page.locator("#counters-list")).to_have_text("Trung tâm chưa có quầy nào.")
    device = province.post(
        "/admin/devices", json={"centre_id": other.json()["id"], "kind": "kiosk", "name": "Máy lấy số Đông Anh"}
    )
    assert device.status_code == 201, device.text
    live.issue(HO_TICH)  # Ba Đình's queue: not on this screen
    issued = live.client(device.json()["token"]).post("/tickets", json={"field_id": field.json()["id"]})
    assert issued.status_code == 201, issued.text
    expect(page.locator("#fields-body .waiting")).to_have_text(["1"])
    expect(page.locator("#total-issued .tile-value")).to_have_text("1")
    expect(page.locator('#devices-body tr[data-kind="kiosk"] .device-name')).to_have_text("Máy lấy số Đông Anh")

    page.locator("#centre-select").select_option(label="Trung tâm Phục vụ hành chính công phường Ba Đình")
    expect(page.locator(f"{field_row(page, HO_TICH)} .waiting")).to_have_text("1")
    live.issue(HO_TICH)
    expect(page.locator(f"{field_row(page, HO_TICH)} .waiting")).to_have_text("2")
    expect(page.locator("#total-waiting .tile-value")).to_have_text("2")
    expect(page.locator('#devices-body tr[data-kind="kiosk"] .device-name')).to_have_text("Máy lấy số sảnh chính")
    assert page.evaluate("() => window.__stayed") is True


def test_the_dashboard_reconnects_by_itself(
    browser: Browser, settings: Settings, clock: SettableClock, database: Template
) -> None:
    """The server restarts: the dashboard says it lost the connection, then carries on alone."""
    port = free_port()
    server, thread = serve_on(create_app(settings, clock), port)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        page = context.new_page()
        page.goto(f"{base}/admin/dashboard")
        sign_in(page)
        expect(page.locator("#dash-body")).to_be_visible()
        stays(page)
        server.should_exit = True
        thread.join(timeout=10)
        offline = page.locator("#offline")
        expect(offline).to_be_visible()
        expect(offline).to_have_text("Mất kết nối – đang kết nối lại…")
        shot(page, "dashboard-web-offline")
        server, thread = serve_on(create_app(settings, clock), port)
        expect(offline).to_be_hidden(timeout=8000)
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
            kiosk = {"Authorization": f"Bearer {database.devices['kiosk']}"}
            assert api.post("/tickets", json={"field_id": HO_TICH}, headers=kiosk).status_code == 201
        expect(page.locator(f"{field_row(page, HO_TICH)} .waiting")).to_have_text("1")
        assert page.evaluate("() => window.__stayed") is True
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)
