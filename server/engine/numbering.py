"""Ticket numbers, service days and opening hours."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from server.engine.errors import Conflict
from server.engine.model import Centre, FieldDay, ProcedureField

WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


def local_time(now: datetime, timezone: str) -> datetime:
    return now.astimezone(ZoneInfo(timezone))


def service_day(now: datetime, timezone: str) -> date:
    """The local calendar day a moment belongs to; numbering restarts when it changes."""
    return local_time(now, timezone).date()


def capacity(field: ProcedureField) -> int:
    """How many tickets the field may issue in one day: its number range, or its cap if smaller."""
    size = field.number_end - field.number_start + 1
    return size if field.daily_cap is None else min(size, field.daily_cap)


def label_for(field: ProcedureField, number: int) -> str:
    """What is printed and announced: 1005 for a range, A005 for a letter prefix."""
    if not field.prefix:
        return str(number)
    width = len(str(field.number_end))
    return f"{field.prefix}{number:0{width}d}"


def _fmt(t: time) -> str:
    return t.strftime("%H:%M")


def check_open(centre: Centre, field: ProcedureField, now: datetime) -> None:
    """Refuse with a message the kiosk can show when the field does not take numbers now."""
    if not centre.active:
        raise Conflict("centre_closed", "Trung tâm hiện không hoạt động.")
    if not field.active:
        raise Conflict("field_closed", f"Lĩnh vực {field.name} hiện không tiếp nhận hồ sơ.")
    local = local_time(now, centre.timezone)
    if str(local.weekday()) not in centre.working_days:
        raise Conflict(
            "centre_not_working_day",
            f"Hôm nay ({WEEKDAY_NAMES[local.weekday()]}) Trung tâm không làm việc.",
        )
    opens = field.opens_at or centre.opens_at
    closes = field.closes_at or centre.closes_at
    clock = local.time()
    if opens is not None and clock < opens:
        raise Conflict(
            "field_not_open_yet",
            f"Lĩnh vực {field.name} bắt đầu cấp số lúc {_fmt(opens)}. Xin mời quay lại sau.",
        )
    if closes is not None and clock >= closes:
        raise Conflict(
            "field_closed_for_today",
            f"Lĩnh vực {field.name} đã ngừng cấp số lúc {_fmt(closes)}. Xin mời quay lại vào ngày làm việc tiếp theo.",
        )


def next_number(field: ProcedureField, day: FieldDay) -> int:
    """The number the next ticket of this field gets today; refuses when the day's numbers are used up."""
    if day.issued_count >= capacity(field):
        raise Conflict(
            "field_full",
            f"Lĩnh vực {field.name} đã hết số thứ tự trong ngày hôm nay. Xin mời quay lại vào ngày làm việc tiếp theo.",
        )
    return field.number_start + day.issued_count
