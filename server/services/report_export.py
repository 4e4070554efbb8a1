"""A report as an Excel workbook (openpyxl) or as one CSV table.

Both are drawn from the same tables, so a figure reads the same in either. In the workbook,
minutes are numbers with one decimal and shares are numbers with a % format (not text), so a
centre can compute with them. The CSV is UTF-8 with a byte order mark, which Excel on Windows
needs to show Vietnamese; its shares are percentages (66.7) under a header ending in "(%)",
and its dates are ISO (2026-11-23), which every spreadsheet reads the same way.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from server import report_schemas as out
from server.services.errors import Invalid

Kind = Literal["text", "count", "minutes", "percent", "date", "datetime"]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

NUMBER_FORMATS: dict[Kind, str] = {
    "text": "@",
    "count": "0",
    "minutes": "0.0",
    "percent": "0.0%",
    "date": "DD/MM/YYYY",
    "datetime": "DD/MM/YYYY HH:MM",
}

NOTES = [
    "Cách tính:",
    "Thời gian chờ: từ lúc lấy số đến lần gọi đầu tiên (gọi lại không tính thêm).",
    "Thời gian phục vụ: từ lần gọi cuối cùng đến lúc bấm Hoàn thành, tại quầy hoàn thành hồ sơ.",
    "Số đã chuyển được tính là đã phục vụ ở lĩnh vực, quầy và cán bộ hoàn thành; số phiếu cấp tính ở lĩnh vực cấp số.",
    "Trung vị và phân vị 90: nội suy tuyến tính giữa hai giá trị gần nhất (như hàm PERCENTILE.INC của Excel).",
    "Tỷ lệ hài lòng: số lượt “Hài lòng” và “Rất hài lòng” trên tổng số lượt đánh giá.",
    "Hết hạn: số chưa được gọi, hoặc được gọi mà chưa bấm Hoàn thành, khi hết ngày; sang ngày mới số thứ tự cấp lại từ đầu.",
]


@dataclass(frozen=True)
class Cell:
    value: Any
    kind: Kind = "text"


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: Kind = "text"


@dataclass
class Table:
    slug: str  # the CSV `table=` value
    sheet: str  # the workbook sheet's name
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    bold_rows: set[int] = field(default_factory=set)  # indexes into rows: totals


# --- the tables -----------------------------------------------------------------------------------

_COUNT_WIDTH = 11.0
_MINUTES_WIDTH = 13.0

_GROUP_COLUMNS = [
    ("Đã phục vụ", "count", _COUNT_WIDTH),
    ("Vắng mặt", "count", _COUNT_WIDTH),
    ("Chuyển đi", "count", _COUNT_WIDTH),
    ("Đã hủy", "count", _COUNT_WIDTH),
    ("Hết hạn", "count", _COUNT_WIDTH),
    ("Thời gian chờ trung bình (phút)", "minutes", _MINUTES_WIDTH),
    ("Thời gian chờ trung vị (phút)", "minutes", _MINUTES_WIDTH),
    ("Thời gian chờ phân vị 90 (phút)", "minutes", _MINUTES_WIDTH),
    ("Thời gian phục vụ trung bình (phút)", "minutes", _MINUTES_WIDTH),
    ("Thời gian phục vụ trung vị (phút)", "minutes", _MINUTES_WIDTH),
    ("Thời gian phục vụ phân vị 90 (phút)", "minutes", _MINUTES_WIDTH),
    ("Lượt đánh giá", "count", _COUNT_WIDTH),
    ("Tỷ lệ hài lòng", "percent", _COUNT_WIDTH),
]


def _group_cells(figures: out.FiguresOut) -> list[Cell]:
    return [
        Cell(figures.served, "count"),
        Cell(figures.no_shows, "count"),
        Cell(figures.transferred, "count"),
        Cell(figures.cancelled, "count"),
        Cell(figures.expired, "count"),
        Cell(figures.wait_minutes.average, "minutes"),
        Cell(figures.wait_minutes.median, "minutes"),
        Cell(figures.wait_minutes.p90, "minutes"),
        Cell(figures.service_minutes.average, "minutes"),
        Cell(figures.service_minutes.median, "minutes"),
        Cell(figures.service_minutes.p90, "minutes"),
        Cell(figures.rated, "count"),
        Cell(figures.satisfied_share, "percent"),
    ]


def _group_columns(*first: Column) -> list[Column]:
    return [*first, *(Column(header, width, kind) for header, kind, width in _GROUP_COLUMNS)]  # type: ignore[arg-type]


def summary_table(report: out.ReportOut) -> Table:
    o = report.overall
    rows: list[tuple[str, Any, Kind]] = [
        ("Trung tâm", report.centre.name, "text"),
        ("Từ ngày", report.date_from, "date"),
        ("Đến ngày", report.date_to, "date"),
        ("Số ngày", report.days, "count"),
        ("Lập lúc", report.generated_at.replace(tzinfo=None), "datetime"),
        ("Số phiếu đã cấp", o.issued, "count"),
        ("Đã phục vụ (hoàn thành)", o.served, "count"),
        ("Vắng mặt", o.no_shows, "count"),
        ("Vắng mặt, đã đưa lại hàng chờ", o.requeued, "count"),
        ("Chuyển quầy / chuyển lĩnh vực", o.transferred, "count"),
        ("Đã hủy", o.cancelled, "count"),
        ("Hết hạn (chưa được phục vụ khi hết ngày)", o.expired, "count"),
        ("Thời gian chờ trung bình (phút)", o.wait_minutes.average, "minutes"),
        ("Thời gian chờ trung vị (phút)", o.wait_minutes.median, "minutes"),
        ("Thời gian chờ phân vị 90 (phút)", o.wait_minutes.p90, "minutes"),
        ("Thời gian phục vụ trung bình (phút)", o.service_minutes.average, "minutes"),
        ("Thời gian phục vụ trung vị (phút)", o.service_minutes.median, "minutes"),
        ("Thời gian phục vụ phân vị 90 (phút)", o.service_minutes.p90, "minutes"),
        ("Số lượt đánh giá", o.rated, "count"),
        ("Hài lòng và rất hài lòng", o.satisfied, "count"),
        ("Tỷ lệ hài lòng", o.satisfied_share, "percent"),
    ]
    return Table(
        "tong-hop",
        "Tổng hợp",
        [Column("Chỉ tiêu", 38), Column("Giá trị", 52)],
        [[Cell(name), Cell(value, kind)] for name, value, kind in rows],
    )


def field_table(report: out.ReportOut) -> Table:
    table = Table(
        "linh-vuc",
        "Theo lĩnh vực",
        _group_columns(Column("Mã", 8), Column("Lĩnh vực", 34), Column("Số phiếu đã cấp", _COUNT_WIDTH, "count")),
    )
    for row in report.by_field:
        table.rows.append([Cell(row.code), Cell(row.name), Cell(row.issued, "count"), *_group_cells(row)])
    # Every event has a field, so the fields add up to the whole centre.
    table.bold_rows.add(len(table.rows))
    table.rows.append([Cell(""), Cell("Tổng cộng"), Cell(report.overall.issued, "count"), *_group_cells(report.overall)])
    return table


def counter_table(report: out.ReportOut) -> Table:
    table = Table("quay", "Theo quầy", _group_columns(Column("Quầy số", 9, "count"), Column("Tên quầy", 24)))
    for row in report.by_counter:
        table.rows.append([Cell(row.number, "count"), Cell(row.name), *_group_cells(row)])
    return table


def officer_table(report: out.ReportOut) -> Table:
    table = Table("can-bo", "Theo cán bộ", _group_columns(Column("Cán bộ", 28), Column("Tên đăng nhập", 16)))
    for row in report.by_officer:
        table.rows.append([Cell(row.full_name), Cell(row.username), *_group_cells(row)])
    return table


def hour_table(report: out.ReportOut) -> Table:
    table = Table(
        "gio",
        "Theo giờ",
        [
            Column("Giờ", 14),
            Column("Số lượt lấy số", 14, "count"),
            Column("Số lượt đã được gọi", 14, "count"),
            Column("Thời gian chờ trung bình (phút)", _MINUTES_WIDTH + 2, "minutes"),
        ],
    )
    for row in report.by_hour:
        table.rows.append(
            [
                Cell(f"{row.hour:02d}:00–{row.hour:02d}:59"),
                Cell(row.arrivals, "count"),
                Cell(row.called, "count"),
                Cell(row.average_wait_minutes, "minutes"),
            ]
        )
    return table


def satisfaction_table(report: out.ReportOut) -> Table:
    s = report.satisfaction
    table = Table(
        "hai-long",
        "Mức độ hài lòng",
        [Column("Mức đánh giá", 30), Column("Số lượt", 11, "count"), Column("Tỷ lệ", 11, "percent")],
    )
    for level in s.levels:
        table.rows.append([Cell(level.label), Cell(level.count, "count"), Cell(level.share, "percent")])
    table.bold_rows.update({len(table.rows), len(table.rows) + 1})
    table.rows.append([Cell("Tổng số lượt đánh giá"), Cell(s.rated, "count"), Cell(1.0 if s.rated else None, "percent")])
    table.rows.append([Cell("Hài lòng và rất hài lòng"), Cell(s.satisfied, "count"), Cell(s.satisfied_share, "percent")])
    return table


def all_tables(report: out.ReportOut) -> list[Table]:
    """In the workbook's sheet order."""
    return [
        summary_table(report),
        field_table(report),
        counter_table(report),
        officer_table(report),
        hour_table(report),
        satisfaction_table(report),
    ]


CSV_TABLES = ("tong-hop", "linh-vuc", "quay", "can-bo", "gio", "hai-long")
DEFAULT_CSV_TABLE = "linh-vuc"


def file_name(report: out.ReportOut, extension: str, table: str | None = None) -> str:
    """bao-cao-2026-11-01_2026-11-30.xlsx; a CSV names its table: bao-cao-linh-vuc-2026-11-01_2026-11-30.csv."""
    middle = f"{table}-" if table else ""
    return f"bao-cao-{middle}{report.date_from.isoformat()}_{report.date_to.isoformat()}.{extension}"


# --- Excel ----------------------------------------------------------------------------------------


def to_xlsx(report: out.ReportOut) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    workbook.properties.creator = "hangdoi"
    workbook.properties.title = f"Báo cáo {report.centre.name} {report.date_from:%d/%m/%Y}–{report.date_to:%d/%m/%Y}"
    bold = Font(bold=True)
    for table in all_tables(report):
        sheet = workbook.create_sheet(table.sheet)
        sheet.append([column.header for column in table.columns])
        for index, column in enumerate(table.columns, start=1):
            header = sheet.cell(row=1, column=index)
            header.font = bold
            # Long headers wrap over a few lines instead of making every number column wide.
            header.alignment = Alignment(wrap_text=True, vertical="center")
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.row_dimensions[1].height = 48
        sheet.freeze_panes = "A2"
        for row_index, row in enumerate(table.rows):
            sheet.append([cell.value for cell in row])
            for col_index, cell in enumerate(row, start=1):
                target = sheet.cell(row=row_index + 2, column=col_index)
                target.number_format = NUMBER_FORMATS[cell.kind]
                if isinstance(cell.value, str):
                    # Names are typed by administrators: "=HYPERLINK(…)" must stay text, never a formula.
                    target.data_type = "s"
                if cell.kind in ("date", "datetime"):
                    target.alignment = Alignment(horizontal="left")
                if row_index in table.bold_rows:
                    target.font = bold
        if table.slug == "tong-hop":
            sheet.append([])
            for note in NOTES:
                sheet.append([note])
            sheet.cell(row=sheet.max_row - len(NOTES) + 1, column=1).font = bold
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV ------------------------------------------------------------------------------------------


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(cell: Cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if cell.kind == "minutes":
        return f"{value:.1f}"
    if cell.kind == "percent":
        return f"{value * 100:.1f}"
    if cell.kind == "date" and isinstance(value, date):
        return value.isoformat()
    if cell.kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    # A spreadsheet opening the CSV would run a name starting like a formula: keep it text.
    return "'" + text if isinstance(value, str) and text[:1] in FORMULA_STARTS else text


def check_csv_table(slug: str | None) -> str:
    """The table a CSV request names, refused before any figure is computed when unknown."""
    wanted = (slug or DEFAULT_CSV_TABLE).strip()
    if wanted not in CSV_TABLES:
        raise Invalid(
            "report_table_unknown",
            f"Không có bảng “{wanted}”. Hãy chọn một trong các bảng: {', '.join(CSV_TABLES)}.",
        )
    return wanted


def csv_table(report: out.ReportOut, slug: str | None) -> Table:
    wanted = check_csv_table(slug)
    return next(table for table in all_tables(report) if table.slug == wanted)


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    # CRLF, as RFC 4180 and Excel expect.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header + (" (%)" if column.kind == "percent" else "") for column in table.columns])
    for row in table.rows:
        writer.writerow(_csv_text(cell) for cell in row)
    return buffer.getvalue().encode("utf-8-sig")
