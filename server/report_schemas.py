"""What the reports API returns (GET /api/v1/reports). How each figure is counted is written in
server/services/report_figures.py; times here are minutes rounded to one decimal, shares are
fractions (0.75 is 75 %) rounded to four decimals."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class MinutesOut(BaseModel):
    count: int = Field(description="How many tickets the times are taken from.")
    average: float | None
    median: float | None
    p90: float | None = Field(description="90th percentile, linear interpolation (Excel PERCENTILE.INC).")


class FiguresOut(BaseModel):
    issued: int = Field(description="Tickets issued (by the issuing field; zero for counters and officers).")
    served: int = Field(description="Tickets finished (Hoàn thành).")
    no_shows: int = Field(description="Final no-shows (Vắng mặt).")
    requeued: int = Field(description="No-shows sent back to the end of the queue once.")
    transferred: int = Field(description="Transfers away (a ticket moved twice counts twice).")
    cancelled: int
    expired: int = Field(description="Still open when their day ended (never called, or never finished).")
    wait_minutes: MinutesOut = Field(description="Issue to first call.")
    service_minutes: MinutesOut = Field(description="Last call to finish.")
    rated: int
    satisfied: int = Field(description="Ratings Hài lòng or Rất hài lòng.")
    satisfied_share: float | None


class FieldFiguresOut(FiguresOut):
    field_id: int
    code: str
    name: str


class CounterFiguresOut(FiguresOut):
    counter_id: int
    number: int
    name: str


class OfficerFiguresOut(FiguresOut):
    officer_id: int
    full_name: str
    username: str


class HourOut(BaseModel):
    hour: int = Field(description="Local hour of the day: 8 is 08:00–08:59.")
    arrivals: int
    called: int = Field(description="Of the arrivals, how many were called (the average wait is theirs).")
    average_wait_minutes: float | None


class LevelOut(BaseModel):
    level: int | None = Field(description="On the centre's current scale; null for a label only an earlier scale had.")
    label: str
    satisfied: bool
    count: int
    share: float | None = Field(description="Of all ratings in the range.")


class SatisfactionOut(BaseModel):
    scale: int
    rated: int
    satisfied: int
    satisfied_share: float | None
    levels: list[LevelOut]


class ReportCentreOut(BaseModel):
    id: int
    name: str
    timezone: str


class ReportOut(BaseModel):
    centre: ReportCentreOut
    date_from: date
    date_to: date
    days: int
    generated_at: datetime = Field(description="In the centre's time zone.")
    overall: FiguresOut
    by_field: list[FieldFiguresOut] = Field(
        description="Every active field, and any inactive one with activity, in display order."
    )
    by_counter: list[CounterFiguresOut] = Field(
        description="Every active counter, and any inactive one with activity, by number."
    )
    by_officer: list[OfficerFiguresOut] = Field(description="Officers with activity in the range, by name.")
    by_hour: list[HourOut] = Field(
        description="From the first to the last hour with arrivals, widened to the opening hours; empty with no arrivals."
    )
    satisfaction: SatisfactionOut
