"""Đánh giá mức độ hài lòng: the scales a centre may use and the rules for rating a ticket.

Levels are numbered 1..scale with the highest the best, so a level means the same on every
screen and in every report; the words differ per scale (three, four or five levels, as the
province prescribes). The headline share centres report counts "Hài lòng" and "Rất hài lòng".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.engine.errors import Conflict, Invalid
from server.engine.model import Event, Ticket, TicketState
from server.engine.queue import STATE_NAMES

# A rating belongs to the visit just ended: a tablet left on an old ticket must not collect a
# later citizen's opinion for it.
RATING_WINDOW = timedelta(minutes=15)

DEFAULT_SCALE = 4
REASON_MAX_LENGTH = 500

# What an unsatisfied citizen is offered to tick; the client joins the chosen ones with "; ".
REASONS: list[str] = [
    "Thời gian chờ quá lâu",
    "Thái độ phục vụ chưa tốt",
    "Hướng dẫn chưa rõ ràng, dễ hiểu",
    "Phải bổ sung hồ sơ nhiều lần",
    "Trả kết quả chưa đúng hẹn",
    "Cơ sở vật chất chưa tốt",
]


@dataclass(frozen=True)
class RatingLevel:
    level: int
    label: str
    satisfied: bool
    asks_reason: bool


_VERY_SATISFIED = "Rất hài lòng"
_SATISFIED = "Hài lòng"
_NEUTRAL = "Bình thường"
_UNSATISFIED = "Không hài lòng"
_VERY_UNSATISFIED = "Rất không hài lòng"

# Best first, as screens list them.
_LABELS: dict[int, list[str]] = {
    3: [_SATISFIED, _NEUTRAL, _UNSATISFIED],
    4: [_VERY_SATISFIED, _SATISFIED, _NEUTRAL, _UNSATISFIED],
    5: [_VERY_SATISFIED, _SATISFIED, _NEUTRAL, _UNSATISFIED, _VERY_UNSATISFIED],
}

SCALES: dict[int, list[RatingLevel]] = {
    scale: [
        RatingLevel(
            level=scale - index,
            label=label,
            satisfied=label in (_VERY_SATISFIED, _SATISFIED),
            asks_reason=label in (_UNSATISFIED, _VERY_UNSATISFIED),
        )
        for index, label in enumerate(labels)
    ]
    for scale, labels in _LABELS.items()
}


def levels(scale: int) -> list[RatingLevel]:
    """The levels of a scale, best first."""
    try:
        return list(SCALES[scale])
    except KeyError:
        raise Invalid("rating_scale_invalid", f"Thang đánh giá {scale} mức không được hỗ trợ (chỉ 3, 4 hoặc 5 mức).") from None


def level_of(scale: int, level: int) -> RatingLevel:
    for candidate in levels(scale):
        if candidate.level == level:
            return candidate
    raise Invalid("rating_level_invalid", f"Mức đánh giá phải từ 1 đến {scale}.")


def rate(ticket: Ticket, counter_id: int, level: int, scale: int, already_rated: bool, now: datetime) -> Event:
    """The citizen's rating of a finished ticket, at the counter that served it. Nothing is changed
    on the ticket: a rating is a fact about the visit, recorded beside it."""
    if ticket.state != TicketState.DONE:
        raise Conflict(
            "ticket_not_finished",
            f"Số {ticket.label} {STATE_NAMES[ticket.state]}, chỉ đánh giá được sau khi đã hoàn thành phục vụ.",
        )
    if ticket.counter_id != counter_id:
        raise Conflict(
            "ticket_not_for_counter", f"Số {ticket.label} không được phục vụ tại quầy này, không thể đánh giá tại đây."
        )
    if already_rated:
        raise Conflict("already_rated", f"Số {ticket.label} đã được đánh giá. Xin cảm ơn ông/bà!")
    if ticket.finished_at is None or now - ticket.finished_at > RATING_WINDOW:
        minutes = int(RATING_WINDOW.total_seconds() // 60)
        raise Conflict(
            "rating_closed",
            f"Đã quá {minutes} phút kể từ khi hoàn thành số {ticket.label}, không thể đánh giá nữa.",
        )
    chosen = level_of(scale, level)
    # Live events reach public screens: the level only, never the citizen's own words.
    return Event(
        kind="ticket.rated",
        at=now,
        ticket=ticket,
        counter_id=ticket.counter_id,
        field_id=ticket.field_id,
        from_state=TicketState.DONE.value,
        to_state=TicketState.DONE.value,
        data={"level": chosen.level, "scale": scale, "satisfied": chosen.satisfied},
    )
