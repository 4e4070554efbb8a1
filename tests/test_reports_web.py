"""The reports page (/admin/reports) in a real browser against a real server: an administrator signs
in, chooses a range, reads the figures and charts, downloads the Excel and CSV files through the
buttons, and is told in Vietnamese what is wrong with a wrong range."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, ViewportSize, expect

from server.demo import DEMO_PASSWORD
from tests.conftest import Live
from tests.test_reports import script_the_day
from tests.web import DESKTOP, PHONE, Browse, shot

CENTRE = "Trung tâm Phục vụ hành chính công phường Ba Đình"
# The browser's clock, as the server's at the end of script_the_day: Tuesday 24 November, 10:00 in Hà Nội.
BROWSER_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def open_reports(browse: Browse, viewport: ViewportSize = DESKTOP) -> tuple[Page, list[str]]:
    page = browse("/admin/reports", viewport=viewport, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # "Hôm nay", "Tháng này"… are the centre's days by the browser's clock: set it to the server's.
    page.clock.set_fixed_time(BROWSER_NOW)
    page.fill("#sign-in-username", "quantri")
    page.fill("#sign-in-password", DEMO_PASSWORD)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#admin-main")).to_be_visible()
    return page, errors


def tile(name: str) -> str:
    return f"#rp-{name} .rp-tile-value"


@pytest.fixture
def day(live: Live) -> Live:
    script_the_day(live)
    return live


def test_an_administrator_reads_and_downloads_the_report(day: Live, browse: Browse, tmp_path: Path) -> None:
    page, errors = open_reports(browse)
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Báo cáo")
    expect(page.locator("#rp-centre")).to_have_text(CENTRE)
    # This month so far, shown at once.
    expect(page.locator("#rp-from")).to_have_value("2026-11-01")
    expect(page.locator("#rp-to")).to_have_value("2026-11-24")
    expect(page.locator("[data-quick=month]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#rp-period")).to_contain_text("Từ 01/11/2026 đến 24/11/2026 (24 ngày)")
    expect(page.locator(tile("issued"))).to_have_text("6")

    # Monday only.
    page.fill("#rp-from", "2026-11-23")
    page.fill("#rp-to", "2026-11-23")
    page.click("#rp-show")
    expect(page.locator("#rp-period")).to_have_text(f"Ngày 23/11/2026 · {CENTRE} · lập lúc 10:00 24/11/2026")
    expect(page.locator("[data-quick=month]")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(tile("issued"))).to_have_text("5")
    expect(page.locator(tile("served"))).to_have_text("3")
    expect(page.locator(tile("no-shows"))).to_have_text("1")
    expect(page.locator(tile("transferred"))).to_have_text("1")
    # The one never called was closed when Tuesday began: still Monday's.
    expect(page.locator(tile("expired"))).to_have_text("1")
    expect(page.locator("#rp-expired .rp-tile-note")).to_have_text("chưa được phục vụ khi hết ngày")
    expect(page.locator(tile("wait"))).to_have_text("12,0 phút")
    expect(page.locator("#rp-wait .rp-tile-note")).to_have_text("trung vị 11,0 · P90 17,6 phút")
    expect(page.locator(tile("service"))).to_have_text("7,3 phút")
    expect(page.locator(tile("satisfied"))).to_have_text("50%")
    expect(page.locator("#rp-satisfied .rp-tile-note")).to_have_text("1/2 lượt đánh giá")

    ho_tich = page.locator("#rp-fields tr[data-code=HT]")
    expect(ho_tich.locator("th")).to_have_text("Hộ tịchHT")
    expect(ho_tich.locator("td")).to_have_text(
        ["3", "1", "1", "0", "0", "1", "15,0", "15,0", "19,0", "6,0", "6,0", "6,0", "1", "100%"]
    )
    expect(page.locator("#rp-fields tr[data-code=DD] td[data-col=served]")).to_have_text("1")
    expect(page.locator("#rp-fields tr[data-code=DD] td[data-col=wait_average]")).to_have_text("—")
    expect(page.locator("#rp-fields tfoot td")).to_have_text(
        ["5", "3", "1", "1", "0", "1", "12,0", "11,0", "17,6", "7,3", "6,0", "10,8", "2", "50%"]
    )
    expect(page.locator("#rp-counters tbody tr")).to_have_count(5)
    expect(page.locator("#rp-counters tr[data-number='2'] td[data-col=transferred]")).to_have_text("1")
    expect(page.locator("#rp-officers tbody th")).to_have_text(
        ["Lê Thị Maimai.lt", "Nguyễn Thị Lanlan.nt", "Trần Văn Hùnghung.tv"]
    )

    # The charts: one bar per hour with arrivals, the wait per hour, the ratings per level.
    expect(page.locator("#rp-arrivals-chart rect.rp-bar")).to_have_count(2)
    expect(page.locator("#rp-arrivals-chart rect.rp-bar title")).to_have_text(
        ["08:00–08:59: 3 lượt lấy số", "09:00–09:59: 2 lượt lấy số"]
    )
    expect(page.locator("#rp-wait-chart rect.rp-bar title")).to_have_text(
        ["08:00–08:59: chờ trung bình 14,0 phút (3 người được gọi)", "09:00–09:59: chờ trung bình 6,0 phút (1 người được gọi)"]
    )
    expect(page.locator("#rp-share")).to_have_text("50% hài lòng và rất hài lòng · 1/2 lượt đánh giá")
    expect(page.locator("#rp-rating-chart text.rp-level")).to_have_text(
        ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"]
    )
    assert "date_from=2026-11-23" in page.url and "date_to=2026-11-23" in page.url
    page.evaluate("document.fonts.ready")
    shot(page, "reports-web-day")
    shot(page, "reports-web-day-full", full_page=True)

    # Tải Excel: the same range, saved by the browser.
    with page.expect_download() as downloading:
        page.click("#rp-xlsx")
    download = downloading.value
    assert download.suggested_filename == "bao-cao-2026-11-23_2026-11-23.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    assert book.sheetnames == ["Tổng hợp", "Theo lĩnh vực", "Theo quầy", "Theo cán bộ", "Theo giờ", "Mức độ hài lòng"]
    summary = book["Tổng hợp"]
    assert [summary[f"A{row}"].value for row in (2, 7, 8, 13, 14, 22)] == [
        "Trung tâm",
        "Số phiếu đã cấp",
        "Đã phục vụ (hoàn thành)",
        "Hết hạn (chưa được phục vụ khi hết ngày)",
        "Thời gian chờ trung bình (phút)",
        "Tỷ lệ hài lòng",
    ]
    assert [summary[f"B{row}"].value for row in (2, 7, 8, 13, 14, 22)] == [CENTRE, 5, 3, 1, 12.0, 0.5]
    assert [c.value for c in book["Theo lĩnh vực"][2]] == [
        "HT",
        "Hộ tịch",
        3,
        1,
        1,
        0,
        0,
        1,
        15.0,
        15.0,
        19.0,
        6.0,
        6.0,
        6.0,
        1,
        1.0,
    ]
    assert [[c.value for c in row] for row in book["Theo giờ"].iter_rows(min_row=2)] == [
        ["08:00–08:59", 3, 3, 14.0],
        ["09:00–09:59", 2, 1, 6.0],
    ]
    expect(page.locator("#admin-toast")).to_have_text("Đã tải tệp bao-cao-2026-11-23_2026-11-23.xlsx")

    # Tải CSV of the table chosen beside the button.
    page.select_option("#rp-csv-table", "hai-long")
    with page.expect_download() as downloading:
        page.click("#rp-csv")
    download = downloading.value
    assert download.suggested_filename == "bao-cao-hai-long-2026-11-23_2026-11-23.csv"
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))[:2] == [
        ["Mức đánh giá", "Số lượt", "Tỷ lệ (%)"],
        ["Rất hài lòng", "1", "50.0"],
    ]

    # A reversed range: the server's reason, in Vietnamese; the dates typed stay for correcting.
    page.fill("#rp-from", "2026-11-30")
    page.fill("#rp-to", "2026-11-01")
    page.click("#rp-show")
    error = page.locator("#rp-error")
    expect(error).to_have_text("Từ ngày (30/11/2026) phải trước hoặc trùng Đến ngày (01/11/2026).")
    expect(page.locator("#rp-body")).to_be_hidden()
    expect(page.locator("#rp-from")).to_have_value("2026-11-30")
    expect(page.locator("#rp-to")).to_have_value("2026-11-01")
    shot(page, "reports-web-error")
    # The buttons refuse the same range with the same words, and nothing is downloaded.
    downloads: list[object] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#rp-xlsx")  # empties the error box at once, then shows the server's answer
    expect(error).to_have_text("Từ ngày (30/11/2026) phải trước hoặc trùng Đến ngày (01/11/2026).")
    expect(page.locator("#rp-xlsx")).to_be_enabled()
    assert downloads == []

    # Quick choices: the last seven days holds Monday and Tuesday.
    page.click("[data-quick=week]")
    expect(page.locator("#rp-from")).to_have_value("2026-11-18")
    expect(page.locator("#rp-to")).to_have_value("2026-11-24")
    expect(page.locator("#rp-error")).to_be_hidden()
    expect(page.locator("#rp-period")).to_contain_text("Từ 18/11/2026 đến 24/11/2026 (7 ngày)")
    expect(page.locator(tile("issued"))).to_have_text("6")
    expect(page.locator(tile("served"))).to_have_text("4")
    expect(page.locator("[data-quick=week]")).to_have_attribute("aria-pressed", "true")
    page.click("[data-quick=today]")
    expect(page.locator("#rp-period")).to_contain_text("Ngày 24/11/2026")
    expect(page.locator(tile("issued"))).to_have_text("1")
    # Last month had nothing: empty charts say so rather than drawing an empty frame.
    page.click("[data-quick=last-month]")
    expect(page.locator("#rp-from")).to_have_value("2026-10-01")
    expect(page.locator("#rp-to")).to_have_value("2026-10-31")
    expect(page.locator(tile("issued"))).to_have_text("0")
    expect(page.locator("#rp-arrivals-chart")).to_have_text("Không có lượt lấy số nào trong khoảng này.")
    expect(page.locator("#rp-rating-chart")).to_have_text("Chưa có lượt đánh giá nào trong khoảng này.")
    expect(page.locator("#rp-officers tbody")).to_have_text("Không có cán bộ nào phục vụ trong khoảng này.")
    expect(page.locator(tile("wait"))).to_have_text("—")
    shot(page, "reports-web-empty", full_page=True)
    assert errors == []


def test_the_range_survives_a_reload_and_a_narrow_screen(day: Live, browse: Browse) -> None:
    page, errors = open_reports(browse, PHONE)
    page.click("[data-quick=today]")
    expect(page.locator("#rp-period")).to_contain_text("Ngày 24/11/2026")
    page.fill("#rp-from", "2026-11-23")
    page.click("#rp-show")
    expect(page.locator("#rp-period")).to_contain_text("Từ 23/11/2026 đến 24/11/2026 (2 ngày)")
    page.reload()
    expect(page.locator("#rp-from")).to_have_value("2026-11-23")
    expect(page.locator("#rp-to")).to_have_value("2026-11-24")
    expect(page.locator(tile("issued"))).to_have_text("6")
    shot(page, "reports-web-phone", full_page=True)
    # The tables scroll sideways inside their cards; nothing else of the report is wider than the phone.
    too_wide = page.evaluate(
        """width => [...document.querySelectorAll("#admin-main *")]
            .filter(node => node.getBoundingClientRect().right > width + 1 && !node.closest(".rp-table-wrap"))
            .map(node => node.id || node.className || node.tagName)""",
        PHONE["width"],
    )
    assert too_wide == []
    assert errors == []
