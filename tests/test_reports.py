"""Reports through the real API: a scripted day at the demo centre, its exact figures as JSON, as
an Excel workbook and as CSV; who may see them; and the ranges refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, Live

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases

MONDAY = "2026-11-23"
TUESDAY_0830 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
TUESDAY_1000 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
RANGE = {"date_from": MONDAY, "date_to": MONDAY}


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def script_the_day(live: Live) -> None:
    """Monday 23 November, from 08:30 in Hà Nội, then a ticket on Tuesday (outside the range).

    T1 Hộ tịch:     issued 08:30, called 08:40 at counter 1 (recalled 08:41), finished 08:46, rated Rất hài lòng.
    T2 Hộ tịch:     issued 08:32, called 08:52 at counter 1, no-show 08:55.
    T3 Chứng thực:  issued 08:35, called 08:47 at counter 2, transferred to Đất đai 08:50, called 09:00 at
                    counter 3, finished 09:12, rated Không hài lòng.
    T4 Chứng thực:  issued 09:15, called 09:21 at counter 2, finished 09:25, not rated.
    T5 Hộ tịch:     issued 09:30, never called.
    """
    clock = live.clock
    lan, hung, mai = live.officer("lan.nt", 1), live.officer("hung.tv", 2), live.officer("mai.lt", 3)
    t1 = live.issue(HO_TICH)["ticket"]
    clock.advance(minutes=2)
    t2 = live.issue(HO_TICH)["ticket"]
    clock.advance(minutes=3)
    t3 = live.issue(CHUNG_THUC)["ticket"]
    clock.advance(minutes=5)  # 08:40
    ok(lan.post("/counters/1/call", json={"ticket_id": t1["id"]}))
    clock.advance(minutes=1)
    ok(lan.post("/counters/1/recall"))
    clock.advance(minutes=5)  # 08:46
    ok(lan.post("/counters/1/finish"))
    clock.advance(seconds=30)
    tablet = live.client(live.devices["counter_panel_1"])
    ok(tablet.post("/counters/1/rating", json={"ticket_id": t1["id"], "level": 4, "reason": ""}))
    clock.advance(seconds=30)  # 08:47
    ok(hung.post("/counters/2/call", json={"ticket_id": t3["id"]}))
    clock.advance(minutes=3)  # 08:50
    ok(hung.post("/counters/2/transfer", json={"field_id": DAT_DAI}))
    clock.advance(minutes=2)  # 08:52
    ok(lan.post("/counters/1/call", json={"ticket_id": t2["id"]}))
    clock.advance(minutes=3)  # 08:55
    ok(lan.post("/counters/1/no-show", json={"requeue": False}))
    clock.advance(minutes=5)  # 09:00
    ok(mai.post("/counters/3/call-next"))
    clock.advance(minutes=12)  # 09:12
    ok(mai.post("/counters/3/finish"))
    clock.advance(minutes=1)
    ok(mai.post("/counters/3/rating", json={"ticket_id": t3["id"], "level": 1, "reason": "Thời gian chờ quá lâu"}))
    clock.advance(minutes=2)  # 09:15
    t4 = live.issue(CHUNG_THUC)["ticket"]
    clock.advance(minutes=6)  # 09:21
    assert ok(hung.post("/counters/2/call-next"))["ticket"]["id"] == t4["id"]
    clock.advance(minutes=4)  # 09:25
    ok(hung.post("/counters/2/finish"))
    clock.advance(minutes=5)  # 09:30
    live.issue(HO_TICH)
    # Tuesday: served and rated, but another day.
    clock.set(TUESDAY_0830)
    lan = live.officer("lan.nt", 1)
    t6 = live.issue(HO_TICH)["ticket"]
    clock.advance(minutes=1)
    ok(lan.post("/counters/1/call", json={"ticket_id": t6["id"]}))
    clock.advance(minutes=7)
    ok(lan.post("/counters/1/finish"))
    ok(lan.post("/counters/1/rating", json={"ticket_id": t6["id"], "level": 3, "reason": ""}))
    clock.set(TUESDAY_1000)


@pytest.fixture
def day(live: Live) -> Live:
    script_the_day(live)
    return live


def minutes(
    count: int = 0, average: float | None = None, median: float | None = None, p90: float | None = None
) -> dict[str, Any]:
    return {"count": count, "average": average, "median": median, "p90": p90}


def figures(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "issued": 0,
        "served": 0,
        "no_shows": 0,
        "requeued": 0,
        "transferred": 0,
        "cancelled": 0,
        "expired": 0,
        "wait_minutes": minutes(),
        "service_minutes": minutes(),
        "rated": 0,
        "satisfied": 0,
        "satisfied_share": None,
    }
    return {**base, **values}


FIELDS = [
    (1, "HT", "Hộ tịch"),
    (2, "CT", "Chứng thực"),
    (3, "DD", "Đất đai"),
    (4, "XD", "Xây dựng – Đô thị"),
    (5, "KD", "Kinh doanh"),
    (6, "LD", "Lao động – Bảo trợ xã hội"),
    (7, "DVC", "Hỗ trợ dịch vụ công trực tuyến"),
]

# Waits: T1 10, T2 20, T3 12, T4 6 minutes. Services: T1 6 (from the call, the recall changes
# nothing), T3 12 (its last segment, at counter 3), T4 4.
OVERALL = figures(
    issued=5,
    served=3,
    no_shows=1,
    transferred=1,
    # T5, never called, was closed when Tuesday's first ticket started the new day.
    expired=1,
    wait_minutes=minutes(4, 12.0, 11.0, 17.6),
    service_minutes=minutes(3, 7.3, 6.0, 10.8),
    rated=2,
    satisfied=1,
    satisfied_share=0.5,
)
BY_FIELD = {
    "HT": figures(
        issued=3,
        served=1,
        no_shows=1,
        expired=1,
        wait_minutes=minutes(2, 15.0, 15.0, 19.0),
        service_minutes=minutes(1, 6.0, 6.0, 6.0),
        rated=1,
        satisfied=1,
        satisfied_share=1.0,
    ),
    # T3 was issued here and transferred away from here; T4 was served here.
    "CT": figures(
        issued=2, served=1, transferred=1, wait_minutes=minutes(2, 9.0, 9.0, 11.4), service_minutes=minutes(1, 4.0, 4.0, 4.0)
    ),
    # T3 was finished here, after its transfer.
    "DD": figures(served=1, service_minutes=minutes(1, 12.0, 12.0, 12.0), rated=1, satisfied_share=0.0),
}
BY_COUNTER = {
    1: figures(
        served=1,
        no_shows=1,
        wait_minutes=minutes(2, 15.0, 15.0, 19.0),
        service_minutes=minutes(1, 6.0, 6.0, 6.0),
        rated=1,
        satisfied=1,
        satisfied_share=1.0,
    ),
    2: figures(served=1, transferred=1, wait_minutes=minutes(2, 9.0, 9.0, 11.4), service_minutes=minutes(1, 4.0, 4.0, 4.0)),
    3: figures(served=1, service_minutes=minutes(1, 12.0, 12.0, 12.0), rated=1, satisfied_share=0.0),
}
OFFICERS = [("Lê Thị Mai", "mai.lt", 3), ("Nguyễn Thị Lan", "lan.nt", 1), ("Trần Văn Hùng", "hung.tv", 2)]


def test_the_report_of_a_day(day: Live) -> None:
    answer = day.admin().get("/reports", params=RANGE)
    report = ok(answer)
    assert report["centre"] == {
        "id": 1,
        "name": "Trung tâm Phục vụ hành chính công phường Ba Đình",
        "timezone": "Asia/Ho_Chi_Minh",
    }
    assert (report["date_from"], report["date_to"], report["days"]) == (MONDAY, MONDAY, 1)
    assert report["generated_at"] == "2026-11-24T10:00:00+07:00"
    assert report["overall"] == OVERALL
    assert report["by_field"] == [
        {"field_id": fid, "code": code, "name": name, **BY_FIELD.get(code, figures())} for fid, code, name in FIELDS
    ]
    assert report["by_counter"] == [
        {"counter_id": n, "number": n, "name": f"Quầy {n}", **BY_COUNTER.get(n, figures())} for n in range(1, 6)
    ]
    assert [(o["full_name"], o["username"]) for o in report["by_officer"]] == [(name, user) for name, user, _ in OFFICERS]
    for row, (_name, _user, counter) in zip(report["by_officer"], OFFICERS, strict=True):
        assert {k: v for k, v in row.items() if k not in ("officer_id", "full_name", "username")} == BY_COUNTER[counter]
    assert report["by_hour"] == [
        # 08: T1 10, T2 20, T3 12 minutes; 09: T4 6, T5 never called.
        {"hour": 8, "arrivals": 3, "called": 3, "average_wait_minutes": 14.0},
        {"hour": 9, "arrivals": 2, "called": 1, "average_wait_minutes": 6.0},
    ]
    assert report["satisfaction"] == {
        "scale": 4,
        "rated": 2,
        "satisfied": 1,
        "satisfied_share": 0.5,
        "levels": [
            {"level": 4, "label": "Rất hài lòng", "satisfied": True, "count": 1, "share": 0.5},
            {"level": 3, "label": "Hài lòng", "satisfied": True, "count": 0, "share": 0.0},
            {"level": 2, "label": "Bình thường", "satisfied": False, "count": 0, "share": 0.0},
            {"level": 1, "label": "Không hài lòng", "satisfied": False, "count": 1, "share": 0.5},
        ],
    }


def test_the_next_day_only_in_a_range_that_holds_it(day: Live) -> None:
    admin = day.admin()
    tuesday = ok(admin.get("/reports", params={"date_from": "2026-11-24", "date_to": "2026-11-24"}))
    assert tuesday["overall"] == figures(
        issued=1,
        served=1,
        wait_minutes=minutes(1, 1.0, 1.0, 1.0),
        service_minutes=minutes(1, 7.0, 7.0, 7.0),
        rated=1,
        satisfied=1,
        satisfied_share=1.0,
    )
    both = ok(admin.get("/reports", params={"date_from": MONDAY, "date_to": "2026-11-24"}))
    assert (both["days"], both["overall"]["issued"], both["overall"]["served"], both["overall"]["rated"]) == (2, 6, 4, 3)
    before = ok(admin.get("/reports", params={"date_from": "2026-11-01", "date_to": "2026-11-22"}))
    assert before["overall"] == figures() and before["by_hour"] == [] and before["by_officer"] == []
    assert [lv["count"] for lv in before["satisfaction"]["levels"]] == [0, 0, 0, 0]


def sheet_rows(sheet: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_excel_workbook(day: Live) -> None:
    answer = day.admin().get("/reports/export.xlsx", params=RANGE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["content-disposition"] == 'attachment; filename="bao-cao-2026-11-23_2026-11-23.xlsx"'
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Tổng hợp", "Theo lĩnh vực", "Theo quầy", "Theo cán bộ", "Theo giờ", "Mức độ hài lòng"]

    summary = book["Tổng hợp"]
    assert sheet_rows(summary)[:22] == [
        ("Chỉ tiêu", "Giá trị"),
        ("Trung tâm", "Trung tâm Phục vụ hành chính công phường Ba Đình"),
        ("Từ ngày", datetime(2026, 11, 23)),
        ("Đến ngày", datetime(2026, 11, 23)),
        ("Số ngày", 1),
        ("Lập lúc", datetime(2026, 11, 24, 10, 0)),
        ("Số phiếu đã cấp", 5),
        ("Đã phục vụ (hoàn thành)", 3),
        ("Vắng mặt", 1),
        ("Vắng mặt, đã đưa lại hàng chờ", 0),
        ("Chuyển quầy / chuyển lĩnh vực", 1),
        ("Đã hủy", 0),
        ("Hết hạn (chưa được phục vụ khi hết ngày)", 1),
        ("Thời gian chờ trung bình (phút)", 12.0),
        ("Thời gian chờ trung vị (phút)", 11.0),
        ("Thời gian chờ phân vị 90 (phút)", 17.6),
        ("Thời gian phục vụ trung bình (phút)", 7.3),
        ("Thời gian phục vụ trung vị (phút)", 6.0),
        ("Thời gian phục vụ phân vị 90 (phút)", 10.8),
        ("Số lượt đánh giá", 2),
        ("Hài lòng và rất hài lòng", 1),
        ("Tỷ lệ hài lòng", 0.5),
    ]
    notes = [row[0] for row in sheet_rows(summary)[23:]]
    assert notes[0] == "Cách tính:" and any(n.startswith("Thời gian chờ: từ lúc lấy số đến lần gọi đầu tiên") for n in notes)
    assert summary["B3"].number_format == "DD/MM/YYYY" and summary["B6"].number_format == "DD/MM/YYYY HH:MM"
    assert summary["B14"].number_format == "0.0" and summary["B22"].number_format == "0.0%"

    group_headers = (
        "Đã phục vụ",
        "Vắng mặt",
        "Chuyển đi",
        "Đã hủy",
        "Hết hạn",
        "Thời gian chờ trung bình (phút)",
        "Thời gian chờ trung vị (phút)",
        "Thời gian chờ phân vị 90 (phút)",
        "Thời gian phục vụ trung bình (phút)",
        "Thời gian phục vụ trung vị (phút)",
        "Thời gian phục vụ phân vị 90 (phút)",
        "Lượt đánh giá",
        "Tỷ lệ hài lòng",
    )
    none6 = (None,) * 6
    assert sheet_rows(book["Theo lĩnh vực"]) == [
        ("Mã", "Lĩnh vực", "Số phiếu đã cấp", *group_headers),
        ("HT", "Hộ tịch", 3, 1, 1, 0, 0, 1, 15.0, 15.0, 19.0, 6.0, 6.0, 6.0, 1, 1.0),
        ("CT", "Chứng thực", 2, 1, 0, 1, 0, 0, 9.0, 9.0, 11.4, 4.0, 4.0, 4.0, 0, None),
        ("DD", "Đất đai", 0, 1, 0, 0, 0, 0, None, None, None, 12.0, 12.0, 12.0, 1, 0.0),
        ("XD", "Xây dựng – Đô thị", 0, 0, 0, 0, 0, 0, *none6, 0, None),
        ("KD", "Kinh doanh", 0, 0, 0, 0, 0, 0, *none6, 0, None),
        ("LD", "Lao động – Bảo trợ xã hội", 0, 0, 0, 0, 0, 0, *none6, 0, None),
        ("DVC", "Hỗ trợ dịch vụ công trực tuyến", 0, 0, 0, 0, 0, 0, *none6, 0, None),
        (None, "Tổng cộng", 5, 3, 1, 1, 0, 1, 12.0, 11.0, 17.6, 7.3, 6.0, 10.8, 2, 0.5),
    ]
    counter_1 = (1, 1, 0, 0, 0, 15.0, 15.0, 19.0, 6.0, 6.0, 6.0, 1, 1.0)
    counter_2 = (1, 0, 1, 0, 0, 9.0, 9.0, 11.4, 4.0, 4.0, 4.0, 0, None)
    counter_3 = (1, 0, 0, 0, 0, None, None, None, 12.0, 12.0, 12.0, 1, 0.0)
    assert sheet_rows(book["Theo quầy"]) == [
        ("Quầy số", "Tên quầy", *group_headers),
        (1, "Quầy 1", *counter_1),
        (2, "Quầy 2", *counter_2),
        (3, "Quầy 3", *counter_3),
        (4, "Quầy 4", 0, 0, 0, 0, 0, *none6, 0, None),
        (5, "Quầy 5", 0, 0, 0, 0, 0, *none6, 0, None),
    ]
    assert sheet_rows(book["Theo cán bộ"]) == [
        ("Cán bộ", "Tên đăng nhập", *group_headers),
        ("Lê Thị Mai", "mai.lt", *counter_3),
        ("Nguyễn Thị Lan", "lan.nt", *counter_1),
        ("Trần Văn Hùng", "hung.tv", *counter_2),
    ]
    assert sheet_rows(book["Theo giờ"]) == [
        ("Giờ", "Số lượt lấy số", "Số lượt đã được gọi", "Thời gian chờ trung bình (phút)"),
        ("08:00–08:59", 3, 3, 14.0),
        ("09:00–09:59", 2, 1, 6.0),
    ]
    assert sheet_rows(book["Mức độ hài lòng"]) == [
        ("Mức đánh giá", "Số lượt", "Tỷ lệ"),
        ("Rất hài lòng", 1, 0.5),
        ("Hài lòng", 0, 0.0),
        ("Bình thường", 0, 0.0),
        ("Không hài lòng", 1, 0.5),
        ("Tổng số lượt đánh giá", 2, 1.0),
        ("Hài lòng và rất hài lòng", 1, 0.5),
    ]
    for sheet in book.worksheets:
        # Bold headers, the header row frozen, no column too narrow to read.
        assert all(cell.font.bold for cell in sheet[1]), sheet.title
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1]), sheet.title
    fields = book["Theo lĩnh vực"]
    assert fields["C2"].number_format == fields["H2"].number_format == "0"  # issued, expired
    assert fields["I2"].number_format == "0.0" and fields["P2"].number_format == "0.0%"
    assert fields["B9"].font.bold and not fields["B2"].font.bold  # the total row
    assert fields.column_dimensions["B"].width >= 30  # the longest field name fits


def csv_rows(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    assert b"\r\n" in answer.content
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))


def test_the_csv_tables(day: Live) -> None:
    admin = day.admin()
    default = admin.get("/reports/export.csv", params=RANGE)
    assert default.headers["content-disposition"] == 'attachment; filename="bao-cao-linh-vuc-2026-11-23_2026-11-23.csv"'
    header, *rows = csv_rows(default)
    assert header == [
        "Mã",
        "Lĩnh vực",
        "Số phiếu đã cấp",
        "Đã phục vụ",
        "Vắng mặt",
        "Chuyển đi",
        "Đã hủy",
        "Hết hạn",
        "Thời gian chờ trung bình (phút)",
        "Thời gian chờ trung vị (phút)",
        "Thời gian chờ phân vị 90 (phút)",
        "Thời gian phục vụ trung bình (phút)",
        "Thời gian phục vụ trung vị (phút)",
        "Thời gian phục vụ phân vị 90 (phút)",
        "Lượt đánh giá",
        "Tỷ lệ hài lòng (%)",
    ]
    assert rows[:3] == [
        ["HT", "Hộ tịch", "3", "1", "1", "0", "0", "1", "15.0", "15.0", "19.0", "6.0", "6.0", "6.0", "1", "100.0"],
        ["CT", "Chứng thực", "2", "1", "0", "1", "0", "0", "9.0", "9.0", "11.4", "4.0", "4.0", "4.0", "0", ""],
        ["DD", "Đất đai", "0", "1", "0", "0", "0", "0", "", "", "", "12.0", "12.0", "12.0", "1", "0.0"],
    ]
    assert rows[-1] == ["", "Tổng cộng", "5", "3", "1", "1", "0", "1", "12.0", "11.0", "17.6", "7.3", "6.0", "10.8", "2", "50.0"]
    assert len(rows) == 8

    summary = admin.get("/reports/export.csv", params={**RANGE, "table": "tong-hop"})
    assert summary.headers["content-disposition"] == 'attachment; filename="bao-cao-tong-hop-2026-11-23_2026-11-23.csv"'
    summary_rows = csv_rows(summary)
    assert summary_rows[:6] == [
        ["Chỉ tiêu", "Giá trị"],
        ["Trung tâm", "Trung tâm Phục vụ hành chính công phường Ba Đình"],
        ["Từ ngày", "2026-11-23"],
        ["Đến ngày", "2026-11-23"],
        ["Số ngày", "1"],
        ["Lập lúc", "2026-11-24 10:00"],
    ]
    assert ["Tỷ lệ hài lòng", "50.0"] in summary_rows and ["Thời gian chờ phân vị 90 (phút)", "17.6"] in summary_rows
    assert csv_rows(admin.get("/reports/export.csv", params={**RANGE, "table": "gio"})) == [
        ["Giờ", "Số lượt lấy số", "Số lượt đã được gọi", "Thời gian chờ trung bình (phút)"],
        ["08:00–08:59", "3", "3", "14.0"],
        ["09:00–09:59", "2", "1", "6.0"],
    ]
    assert csv_rows(admin.get("/reports/export.csv", params={**RANGE, "table": "hai-long"})) == [
        ["Mức đánh giá", "Số lượt", "Tỷ lệ (%)"],
        ["Rất hài lòng", "1", "50.0"],
        ["Hài lòng", "0", "0.0"],
        ["Bình thường", "0", "0.0"],
        ["Không hài lòng", "1", "50.0"],
        ["Tổng số lượt đánh giá", "2", "100.0"],
        ["Hài lòng và rất hài lòng", "1", "50.0"],
    ]
    officers = csv_rows(admin.get("/reports/export.csv", params={**RANGE, "table": "can-bo"}))
    assert [row[:3] for row in officers[1:]] == [
        ["Lê Thị Mai", "mai.lt", "1"],
        ["Nguyễn Thị Lan", "lan.nt", "1"],
        ["Trần Văn Hùng", "hung.tv", "1"],
    ]
    counters = csv_rows(admin.get("/reports/export.csv", params={**RANGE, "table": "quay"}))
    assert [row[:4] for row in counters] == [
        ["Quầy số", "Tên quầy", "Đã phục vụ", "Vắng mặt"],
        ["1", "Quầy 1", "1", "1"],
        ["2", "Quầy 2", "1", "0"],
        ["3", "Quầy 3", "1", "0"],
        ["4", "Quầy 4", "0", "0"],
        ["5", "Quầy 5", "0", "0"],
    ]
    unknown = admin.get("/reports/export.csv", params={**RANGE, "table": "tat-ca"})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == {
        "code": "report_table_unknown",
        "message": "Không có bảng “tat-ca”. Hãy chọn một trong các bảng: tong-hop, linh-vuc, quay, can-bo, gio, hai-long.",
    }


ENDPOINTS = ("/reports", "/reports/export.xlsx", "/reports/export.csv")


def test_only_administrators_see_reports(live: Live) -> None:
    anonymous, officer, kiosk, display = (
        live.client(),
        live.officer("lan.nt", 1),
        live.kiosk(),
        live.client(live.devices["display"]),
    )
    admin, province = live.admin(), live.province_admin()
    for path in ENDPOINTS:
        assert anonymous.get(path, params=RANGE).status_code == 401, path
        refused = officer.get(path, params=RANGE)
        assert refused.status_code == 403, path
        assert refused.json()["error"] == {"code": "admin_required", "message": "Chỉ quản trị viên mới xem được báo cáo."}
        assert kiosk.get(path, params=RANGE).status_code == 403, path
        assert display.get(path, params=RANGE).status_code == 403, path
        # A centre's administrator sees that centre only.
        other = admin.get(path, params={**RANGE, "centre_id": 2})
        assert other.status_code == 404 and other.json()["error"]["message"] == "Không tìm thấy Trung tâm.", path
        assert admin.get(path, params={**RANGE, "centre_id": 1}).status_code == 200, path
        unnamed = province.get(path, params=RANGE)
        assert unnamed.status_code == 422, path
        assert unnamed.json()["error"] == {
            "code": "centre_required",
            "message": "Hãy chọn Trung tâm cần xem báo cáo (centre_id).",
        }
        assert province.get(path, params={**RANGE, "centre_id": 999}).status_code == 404, path
        assert province.get(path, params={**RANGE, "centre_id": 1}).status_code == 200, path
    assert ok(province.get("/reports", params={**RANGE, "centre_id": 1}))["centre"]["id"] == 1


BAD_RANGES = [
    (
        {"date_from": "2026-11-30", "date_to": "2026-11-01"},
        "date_range_reversed",
        "Từ ngày (30/11/2026) phải trước hoặc trùng Đến ngày (01/11/2026).",
    ),
    (
        {"date_from": "2025-11-01", "date_to": "2026-11-02"},
        "date_range_too_long",
        "Mỗi báo cáo dài nhất 366 ngày; khoảng đã chọn dài 367 ngày. Hãy chọn khoảng ngắn hơn.",
    ),
    (
        {"date_from": "2026-02-30", "date_to": "2026-03-01"},
        "date_invalid",
        "Từ ngày “2026-02-30” không phải một ngày hợp lệ. Hãy nhập dạng YYYY-MM-DD, ví dụ 2026-11-01.",
    ),
    (
        {"date_from": "2026-11-01", "date_to": "30/11/2026"},
        "date_invalid",
        "Đến ngày “30/11/2026” không phải một ngày hợp lệ. Hãy nhập dạng YYYY-MM-DD, ví dụ 2026-11-01.",
    ),
    (
        {"date_from": "1700000000", "date_to": "2026-11-01"},
        "date_invalid",
        "Từ ngày “1700000000” không phải một ngày hợp lệ. Hãy nhập dạng YYYY-MM-DD, ví dụ 2026-11-01.",
    ),
    ({"date_to": "2026-11-01"}, "date_required", "Hãy chọn Từ ngày (dạng YYYY-MM-DD, ví dụ 2026-11-01)."),
    ({"date_from": "2026-11-01", "date_to": " "}, "date_required", "Hãy chọn Đến ngày (dạng YYYY-MM-DD, ví dụ 2026-11-01)."),
]


def test_bad_ranges_are_refused(live: Live) -> None:
    admin = live.admin()
    for params, code, message in BAD_RANGES:
        for path in ENDPOINTS:
            answer = admin.get(path, params=params)
            assert answer.status_code == 422, (path, params)
            assert answer.json() == {"error": {"code": code, "message": message}}, (path, params)


def test_the_longest_range_and_an_empty_centre(live: Live) -> None:
    admin = live.admin()
    # 2025-11-23 to 2026-11-23 is 366 days, the longest allowed; nothing was issued in it yet.
    report = ok(admin.get("/reports", params={"date_from": "2025-11-23", "date_to": MONDAY}))
    assert report["days"] == 366 and report["overall"] == figures() and report["satisfaction"]["satisfied_share"] is None
    book = load_workbook(io.BytesIO(admin.get("/reports/export.xlsx", params=RANGE).content))
    assert sheet_rows(book["Theo giờ"]) == [("Giờ", "Số lượt lấy số", "Số lượt đã được gọi", "Thời gian chờ trung bình (phút)")]
    assert sheet_rows(book["Theo cán bộ"])[1:] == []
    bad_centre = admin.get("/reports", params={**RANGE, "centre_id": "mot"})
    assert bad_centre.status_code == 422
    assert bad_centre.json()["error"]["message"] == "Dữ liệu gửi lên không hợp lệ: centre_id: phải là số nguyên"
