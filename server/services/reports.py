"""Reports for a range of service days: who may see which centre, loading the centre's events, and
shaping the figures (server.services.report_figures) with the names of fields, counters and officers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, case
from sqlmodel import Session, col, select

from server import report_schemas as out
from server.engine import numbering
from server.services import report_figures as figures
from server.services.context import Actor, AppContext
from server.services.errors import Forbidden, Invalid, NotFound
from server.storage import tables

MAX_DAYS = 366
FIRST_YEAR, LAST_YEAR = 2000, 2100
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class DateRange:
    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


def _parse_day(value: str | None, name: str) -> date:
    if value is None or not value.strip():
        raise Invalid("date_required", f"Hãy chọn {name} (dạng YYYY-MM-DD, ví dụ 2026-11-01).")
    text = value.strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            "date_invalid", f"{name} “{text}” không phải một ngày hợp lệ. Hãy nhập dạng YYYY-MM-DD, ví dụ 2026-11-01."
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        # Year 1 or 9999 has no local midnight in every time zone; no centre has served then.
        raise Invalid("date_out_of_range", f"{name} “{text}” phải trong khoảng từ năm {FIRST_YEAR} đến năm {LAST_YEAR}.")
    return day


def parse_range(date_from: str | None, date_to: str | None) -> DateRange:
    """The inclusive range of service days a report asks for, refused with a Vietnamese message
    when a date is missing or malformed, the order is reversed or the range is over 366 days."""
    start = _parse_day(date_from, "Từ ngày")
    end = _parse_day(date_to, "Đến ngày")
    if start > end:
        raise Invalid(
            "date_range_reversed",
            f"Từ ngày ({start:%d/%m/%Y}) phải trước hoặc trùng Đến ngày ({end:%d/%m/%Y}).",
        )
    chosen = DateRange(start, end)
    if chosen.days > MAX_DAYS:
        raise Invalid(
            "date_range_too_long",
            f"Mỗi báo cáo dài nhất {MAX_DAYS} ngày; khoảng đã chọn dài {chosen.days} ngày. Hãy chọn khoảng ngắn hơn.",
        )
    return chosen


def report_centre(actor: Actor, requested: int | None) -> int:
    """The centre an administrator's report is about: a centre's own administrator sees only that
    centre; the province administrator must name one."""
    if not actor.is_admin:
        raise Forbidden("admin_required", "Chỉ quản trị viên mới xem được báo cáo.")
    if actor.centre_id is not None:
        if requested is not None and requested != actor.centre_id:
            raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
        return actor.centre_id
    if requested is None:
        raise Invalid("centre_required", "Hãy chọn Trung tâm cần xem báo cáo (centre_id).")
    return requested


# The events of every ticket issued in the range, whenever they were logged. Only the columns the
# figures read: a year of a busy centre is hundreds of thousands of rows.
_ISSUED_IN_RANGE = select(tables.Event.ticket_id).where(
    tables.Event.centre_id == bindparam("centre_id"),
    tables.Event.kind == "ticket.issued",
    tables.Event.at >= bindparam("start"),
    tables.Event.at < bindparam("end"),
)
_RANGE_EVENTS = (
    select(
        tables.Event.seq,
        tables.Event.kind,
        tables.Event.at,
        tables.Event.ticket_id,
        tables.Event.counter_id,
        tables.Event.field_id,
        tables.Event.officer_id,
        # Decoding every row's JSON would cost more than all the figures: only the kinds read.
        case((col(tables.Event.kind).in_(figures.DATA_KINDS), tables.Event.data), else_=None),
    )
    .where(tables.Event.centre_id == bindparam("centre_id"), col(tables.Event.ticket_id).in_(_ISSUED_IN_RANGE))
    .order_by(col(tables.Event.seq))
)


def load_events(session: Session, centre: tables.Centre, chosen: DateRange) -> list[figures.LoggedEvent]:
    start, end = figures.local_day_bounds(chosen.date_from, chosen.date_to, centre.timezone)
    # Core rows rather than the ORM's: no identity map to fill for a read of this size.
    rows = session.connection().execute(_RANGE_EVENTS, {"centre_id": centre.id, "start": start, "end": end})
    return [figures.LoggedEvent._make(row) for row in rows]


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _minutes_out(durations: figures.Durations) -> out.MinutesOut:
    return out.MinutesOut(
        count=durations.count,
        average=_minutes(durations.average),
        median=_minutes(durations.median),
        p90=_minutes(durations.p90),
    )


def _figures_out(tally: figures.Tally) -> dict[str, object]:
    return {
        "issued": tally.issued,
        "served": tally.served,
        "no_shows": tally.no_shows,
        "requeued": tally.requeued,
        "transferred": tally.transferred,
        "cancelled": tally.cancelled,
        "expired": tally.expired,
        "wait_minutes": _minutes_out(tally.wait),
        "service_minutes": _minutes_out(tally.service),
        "rated": tally.rated,
        "satisfied": tally.satisfied,
        "satisfied_share": _share(tally.satisfied, tally.rated),
    }


def build_report(session: Session, centre: tables.Centre, chosen: DateRange, now: datetime) -> out.ReportOut:
    assert centre.id is not None
    computed = figures.compute(
        load_events(session, centre, chosen), centre.timezone, chosen.date_from, chosen.date_to, centre.rating_levels
    )
    empty = figures.Tally()
    field_rows = session.exec(
        select(tables.ProcedureField)
        .where(tables.ProcedureField.centre_id == centre.id)
        .order_by(col(tables.ProcedureField.display_order), col(tables.ProcedureField.id))
    ).all()
    by_field = [
        out.FieldFiguresOut(field_id=f.id, code=f.code, name=f.name, **_figures_out(computed.by_field.get(f.id, empty)))  # type: ignore[arg-type]
        for f in field_rows
        if f.active or f.id in computed.by_field
    ]
    counter_rows = session.exec(
        select(tables.Counter).where(tables.Counter.centre_id == centre.id).order_by(col(tables.Counter.number))
    ).all()
    by_counter = [
        out.CounterFiguresOut(counter_id=c.id, number=c.number, name=c.name, **_figures_out(computed.by_counter.get(c.id, empty)))  # type: ignore[arg-type]
        for c in counter_rows
        if c.active or c.id in computed.by_counter
    ]
    officer_rows = (
        session.exec(select(tables.Officer).where(col(tables.Officer.id).in_(list(computed.by_officer)))).all()
        if computed.by_officer
        else []
    )
    by_officer = sorted(
        (
            out.OfficerFiguresOut(
                officer_id=o.id,  # type: ignore[arg-type]
                full_name=o.full_name,
                username=o.username,
                **_figures_out(computed.by_officer[o.id]),  # type: ignore[index]
            )
            for o in officer_rows
        ),
        key=lambda row: (row.full_name.casefold(), row.officer_id),
    )
    overall = computed.overall
    by_hour = [
        out.HourOut(hour=h.hour, arrivals=h.arrivals, called=len(h.wait_seconds), average_wait_minutes=_minutes(h.average_wait))
        for h in figures.shown_hours(computed.by_hour, centre.opens_at, centre.closes_at)
    ]
    satisfaction = out.SatisfactionOut(
        scale=centre.rating_levels,
        rated=overall.rated,
        satisfied=overall.satisfied,
        satisfied_share=_share(overall.satisfied, overall.rated),
        levels=[
            out.LevelOut(
                level=lv.level, label=lv.label, satisfied=lv.satisfied, count=lv.count, share=_share(lv.count, overall.rated)
            )
            for lv in computed.levels
        ],
    )
    return out.ReportOut(
        centre=out.ReportCentreOut(id=centre.id, name=centre.name, timezone=centre.timezone),
        date_from=chosen.date_from,
        date_to=chosen.date_to,
        days=chosen.days,
        generated_at=numbering.local_time(now, centre.timezone),
        overall=out.FiguresOut(**_figures_out(overall)),  # type: ignore[arg-type]
        by_field=by_field,
        by_counter=by_counter,
        by_officer=by_officer,
        by_hour=by_hour,
        satisfaction=satisfaction,
    )


def report(ctx: AppContext, actor: Actor, date_from: str | None, date_to: str | None, centre_id: int | None) -> out.ReportOut:
    """The report an administrator asked for: who asks is checked first, then the range, then
    that the centre exists."""
    centre_wanted = report_centre(actor, centre_id)
    chosen = parse_range(date_from, date_to)
    # A snapshot read: every figure comes from one moment of the log.
    with ctx.read_snapshot() as session:
        centre = session.get(tables.Centre, centre_wanted)
        if centre is None:
            raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
        return build_report(session, centre, chosen, ctx.clock.now())
