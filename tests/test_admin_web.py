"""The admin console (/admin) in a real browser against a real server: signing in, and every kind of
configuration through its forms, with Vietnamese errors and nothing half-saved."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from server.demo import DEMO_PASSWORD
from tests.conftest import Live
from tests.web import DESKTOP, Browse, shot


def sign_in(browse: Browse, path: str = "/admin", username: str = "quantri", password: str = DEMO_PASSWORD) -> Page:
    page = browse(path, viewport=DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.fill("#sign-in-username", username)
    page.fill("#sign-in-password", password)
    page.click("#sign-in button[type=submit]")
    return page


def listed(client: httpx.Client, what: str) -> list[dict[str, Any]]:
    answer = client.get(f"/admin/{what}")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_a_wrong_password_is_refused_and_the_form_stays(live: Live, browse: Browse) -> None:
    page = sign_in(browse, password="sai-mat-khau")
    expect(page.locator("#sign-in-error")).to_contain_text("mật khẩu")
    expect(page.locator("#admin-main")).to_be_hidden()
    expect(page.locator("#sign-in-password")).to_have_value("")
    expect(page.locator("#sign-in-username")).to_have_value("quantri")
    shot(page, "admin-sign-in-refused")


def test_an_officer_is_not_an_administrator(live: Live, browse: Browse) -> None:
    page = sign_in(browse, username="lan.nt")
    expect(page.locator("#sign-in-error")).to_have_text(
        "Tài khoản này không có quyền quản trị. Cán bộ làm việc tại quầy dùng ứng dụng quầy."
    )
    expect(page.locator("#admin-main")).to_be_hidden()


def test_create_a_field_with_errors_first_then_a_counter_for_it(live: Live, browse: Browse) -> None:
    admin = live.admin()
    page = sign_in(browse)
    expect(page.locator("#admin-name")).to_have_text("Nguyễn Thị Thu Hà")
    page.click(".tabs button[data-tab=fields]")
    expect(page.locator("tr[data-code=HT]")).to_contain_text("Hộ tịch")
    shot(page, "admin-fields", full_page=True)
    before = len(listed(admin, "fields"))

    page.click("#add-field")
    page.fill("#input-code", "TP 1")
    page.fill("#input-name", "Tư pháp")
    page.fill("#input-number_start", "9001")
    page.fill("#input-number_end", "8999")
    page.click("#dialog button[type=submit]")
    expect(page.locator("[data-name=code] .field-error")).to_contain_text("chỉ gồm chữ không dấu")
    expect(page.locator("[data-name=number_end] .field-error")).to_have_text("Số cuối phải lớn hơn hoặc bằng số đầu.")
    expect(page.locator("#dialog .form-error")).to_have_text("Xin sửa các ô được đánh dấu đỏ.")
    shot(page, "admin-field-errors")
    assert len(listed(admin, "fields")) == before  # nothing was sent

    # A range that overlaps Hộ tịch's: the browser cannot know, the server refuses, the form keeps it all.
    page.fill("#input-code", "TP")
    page.fill("#input-number_start", "1500")
    page.fill("#input-number_end", "1600")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#dialog .form-error")).to_contain_text("Hộ tịch")
    expect(page.locator("#input-name")).to_have_value("Tư pháp")
    assert len(listed(admin, "fields")) == before

    page.fill("#input-number_start", "9001")
    page.fill("#input-number_end", "9999")
    page.fill("#input-daily_cap", "200")
    page.fill("#input-default_service_seconds", "7.5")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#dialog")).to_be_hidden()
    expect(page.locator("tr[data-code=TP]")).to_contain_text("9001 – 9999")
    created = next(f for f in listed(admin, "fields") if f["code"] == "TP")
    assert (created["name"], created["daily_cap"], created["default_service_seconds"]) == ("Tư pháp", 200, 450)

    page.click(".tabs button[data-tab=counters]")
    page.click("#add-counter")
    expect(page.locator("#input-number")).to_have_value("6")
    page.check("#input-field_ids input[aria-label='Tư pháp']")
    page.check("#input-field_ids input[aria-label='Hộ tịch']")
    # Tư pháp was ticked first but sits below Hộ tịch: move it up so the counter calls it first.
    page.click("button[aria-label='Đưa Tư pháp lên']")
    for _ in range(6):
        page.click("button[aria-label='Đưa Tư pháp lên']")
    shot(page, "admin-counter-form")
    page.click("#dialog button[type=submit]")
    expect(page.locator("tr[data-number='6']")).to_contain_text("Tư pháp, Hộ tịch")
    counter = next(c for c in listed(admin, "counters") if c["number"] == 6)
    assert counter["field_ids"] == [created["id"], 1]

    # The new field and counter work at once: a ticket is issued and counter 6 calls it.
    ticket = live.issue(created["id"])["ticket"]
    assert ticket["label"] == "9001"
    called = live.officer("lan.nt", counter["id"]).post(f"/counters/{counter['id']}/call-next")
    assert called.json()["ticket"]["label"] == "9001"


def test_a_duplicate_counter_number_is_refused_with_the_servers_reason(live: Live, browse: Browse) -> None:
    page = sign_in(browse, "/admin#counters")
    page.click("#add-counter")
    page.fill("#input-number", "3")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#dialog .form-error")).to_have_text("Đã có quầy số 3.")
    assert len(listed(live.admin(), "counters")) == 5


def test_officers_are_created_reset_and_deactivated(live: Live, browse: Browse) -> None:
    page = sign_in(browse, "/admin#officers")
    page.click("#add-officer")
    page.fill("#input-username", "Thu.PT")
    page.fill("#input-full_name", "Phạm Thị Thu")
    page.fill("#input-phone", "0912 301 106")
    page.fill("#input-password", "ngan")
    page.click("#dialog button[type=submit]")
    expect(page.locator("[data-name=username] .field-error")).to_contain_text("chữ thường")
    expect(page.locator("[data-name=password] .field-error")).to_have_text("Mật khẩu cần ít nhất 8 ký tự.")
    page.fill("#input-username", "thu.pt")
    page.fill("#input-password", "matkhau-dau-tien")
    page.click("#dialog button[type=submit]")
    expect(page.locator("tr[data-username='thu.pt']")).to_contain_text("Phạm Thị Thu")
    assert live.login("thu.pt", password="matkhau-dau-tien")

    row = page.locator("tr[data-username='thu.pt']")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    page.fill("#input-password", "matkhau-moi-2026")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#admin-toast")).to_contain_text("Đã đặt lại mật khẩu cho Phạm Thị Thu")
    refused = live.client().post("/auth/login", json={"username": "thu.pt", "password": "matkhau-dau-tien"})
    assert refused.status_code == 401
    token = live.login("thu.pt", password="matkhau-moi-2026")

    row.get_by_role("button", name="Ngừng").click()
    page.click("#confirm-ok")
    expect(row).to_contain_text("Ngừng sử dụng")
    assert live.client(token).get("/auth/me").status_code == 401  # signed out everywhere
    # The administrator cannot lock themself out from here.
    expect(page.locator("tr[data-username=quantri]").get_by_role("button", name="Ngừng")).to_have_count(0)
    shot(page, "admin-officers", full_page=True)


def test_a_device_token_is_shown_once_works_and_can_be_revoked(live: Live, browse: Browse) -> None:
    page = sign_in(browse, "/admin#devices")
    expect(page.locator("tr[data-name]")).to_have_count(7)
    page.click("#add-device")
    page.select_option("#input-kind", "display")
    page.fill("#input-name", "TV phòng chờ tầng 2")
    page.click("#dialog button[type=submit]")
    token = page.locator("#device-token").inner_text().strip()
    assert token.startswith("hdd_")
    expect(page.locator("#device-link")).to_have_text(f"{live.base_url}/board#token={token}")
    shot(page, "admin-device-token")
    assert live.client(token).get("/auth/me").json()["role"] == "display"
    page.get_by_role("button", name="Đã chép mã, đóng").click()

    row = page.locator("tr[data-name='TV phòng chờ tầng 2']")
    expect(row).to_contain_text("Ngoại tuyến")
    page.click(".tabs button[data-tab=devices]")
    expect(row).to_contain_text("Trực tuyến")  # the /auth/me above was the device being seen
    row.get_by_role("button", name="Ngừng").click()
    page.click("#confirm-ok")
    expect(row).to_contain_text("Mã đã thu hồi")
    assert live.client(token).get("/auth/me").status_code == 401

    # A counter panel without its counter: the server says what is missing.
    page.click("#add-device")
    page.select_option("#input-kind", "counter_panel")
    page.fill("#input-name", "Máy tính bảng quầy 6")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#dialog .form-error")).to_contain_text("gắn với một quầy")
    shot(page, "admin-devices", full_page=True)


def test_the_centre_voice_notice_and_rating_scale(live: Live, browse: Browse) -> None:
    page = sign_in(browse)
    expect(page.locator("#input-name")).to_have_value("Trung tâm Phục vụ hành chính công phường Ba Đình")
    shot(page, "admin-centre", full_page=True)
    page.fill("#input-notice_text", "Chiều thứ Sáu Trung tâm làm việc đến 16 giờ 30.")
    page.uncheck("#input-voice_enabled")
    page.fill("#input-voice_repeat", "9")
    page.locator("#input-voice_repeat").press("Enter")
    expect(page.locator("[data-name=voice_repeat] .field-error")).to_have_text("Số lần đọc mỗi lượt gọi không được lớn hơn 5.")
    page.fill("#input-voice_repeat", "1")
    page.select_option("#input-voice_digit_by_digit", "true")
    page.select_option("#input-voice_odd_word", "lẻ")
    page.locator("#input-voice_repeat").press("Enter")
    expect(page.locator("#admin-toast")).to_have_text("Đã lưu cài đặt màn hình chờ và giọng đọc.")
    page.select_option("#input-rating_levels", "5")
    page.locator("#input-rating_levels").evaluate("select => select.form.requestSubmit()")
    expect(page.locator("#admin-toast")).to_have_text("Đã lưu thang đánh giá.")
    centre = live.admin().get("/admin/centres/1").json()
    assert centre["notice_text"] == "Chiều thứ Sáu Trung tâm làm việc đến 16 giờ 30."
    assert (centre["voice_enabled"], centre["voice_repeat"], centre["voice_digit_by_digit"], centre["voice_odd_word"]) == (
        False,
        1,
        True,
        "lẻ",
    )
    assert centre["rating_levels"] == 5

    page.fill("#input-opens_at", "17:00")
    page.fill("#input-closes_at", "07:30")
    page.locator("#input-name").press("Enter")
    expect(page.locator("[data-name=closes_at] .field-error")).to_have_text("Giờ đóng cửa phải sau giờ mở cửa.")
    assert live.admin().get("/admin/centres/1").json()["opens_at"] == centre["opens_at"]


def test_priority_groups(live: Live, browse: Browse) -> None:
    page = sign_in(browse, "/admin#groups")
    page.click("#add-group")
    page.fill("#input-code", "TRE")
    page.fill("#input-name", "Người đi cùng trẻ dưới 6 tuổi")
    page.click("#dialog button[type=submit]")
    expect(page.locator("tr[data-code=TRE]")).to_contain_text("Người đi cùng trẻ dưới 6 tuổi")
    groups = listed(live.admin(), "priority-groups")
    assert any(g["code"] == "TRE" and g["active"] for g in groups)
    shot(page, "admin-groups", full_page=True)
