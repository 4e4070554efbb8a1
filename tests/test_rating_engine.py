"""The rating rules, with plain objects: the scales and every refusal."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from server.engine import rating
from server.engine.errors import Conflict, Invalid
from server.engine.model import Ticket, TicketState

# Monday 23 November 2026, 08:30 in Hà Nội (01:30 UTC).
NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def done_ticket(**kw: object) -> Ticket:
    values: dict[str, object] = dict(
        id=7,
        centre_id=1,
        field_id=2,
        service_day=date(2026, 11, 23),
        number=1005,
        label="1005",
        code="abc",
        priority_group_id=None,
        state=TicketState.DONE,
        issued_at=NOW - timedelta(minutes=30),
        queued_at=NOW - timedelta(minutes=30),
        counter_id=3,
        called_at=NOW - timedelta(minutes=10),
        finished_at=NOW,
    )
    values.update(kw)
    return Ticket(**values)  # type: ignore[arg-type]


def test_the_three_scales_best_first() -> None:
    four = rating.levels(4)
    assert [(lv.level, lv.label) for lv in four] == [
        (4, "Rất hài lòng"),
        (3, "Hài lòng"),
        (2, "Bình thường"),
        (1, "Không hài lòng"),
    ]
    assert [(lv.level, lv.label) for lv in rating.levels(5)] == [
        (5, "Rất hài lòng"),
        (4, "Hài lòng"),
        (3, "Bình thường"),
        (2, "Không hài lòng"),
        (1, "Rất không hài lòng"),
    ]
    assert [(lv.level, lv.label) for lv in rating.levels(3)] == [(3, "Hài lòng"), (2, "Bình thường"), (1, "Không hài lòng")]
    assert rating.DEFAULT_SCALE == 4


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_satisfied_and_asks_reason_follow_the_words(scale: int) -> None:
    for lv in rating.levels(scale):
        assert lv.satisfied == (lv.label in ("Rất hài lòng", "Hài lòng"))
        assert lv.asks_reason == (lv.label in ("Không hài lòng", "Rất không hài lòng"))
    assert rating.levels(scale)[0].satisfied and rating.levels(scale)[-1].asks_reason


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        rating.levels(7)
    assert refused.value.code == "rating_scale_invalid"


def test_preset_reasons_are_vietnamese_and_fit() -> None:
    assert "Thời gian chờ quá lâu" in rating.REASONS and "Thái độ phục vụ chưa tốt" in rating.REASONS
    assert len("; ".join(rating.REASONS)) <= rating.REASON_MAX_LENGTH == 500


def test_rate_makes_a_public_event_without_the_reason() -> None:
    ticket = done_ticket()
    before = copy.deepcopy(ticket)
    event = rating.rate(ticket, 3, 1, 4, False, NOW + timedelta(minutes=2))
    assert event.kind == "ticket.rated" and event.at == NOW + timedelta(minutes=2)
    assert event.ticket is ticket and event.counter_id == 3 and event.field_id == 2
    assert event.from_state == event.to_state == "done"
    assert event.data == {"level": 1, "scale": 4, "satisfied": False}
    assert ticket == before  # a rating changes nothing on the ticket
    best = rating.rate(ticket, 3, 5, 5, False, NOW)
    assert best.data == {"level": 5, "scale": 5, "satisfied": True}
    assert rating.rate(ticket, 3, 3, 3, False, NOW).data["satisfied"] is True  # "Hài lòng" on three levels


@pytest.mark.parametrize("state", [s for s in TicketState if s != TicketState.DONE])
def test_only_a_finished_ticket_can_be_rated(state: TicketState) -> None:
    with pytest.raises(Conflict) as refused:
        rating.rate(done_ticket(state=state), 3, 4, 4, False, NOW)
    assert refused.value.code == "ticket_not_finished"
    assert refused.value.message.startswith("Số 1005 ") and "chỉ đánh giá được sau khi đã hoàn thành" in refused.value.message


def test_only_at_the_counter_that_served_it() -> None:
    with pytest.raises(Conflict) as refused:
        rating.rate(done_ticket(), 4, 4, 4, False, NOW)
    assert refused.value.code == "ticket_not_for_counter"
    assert refused.value.message == "Số 1005 không được phục vụ tại quầy này, không thể đánh giá tại đây."


def test_only_once() -> None:
    with pytest.raises(Conflict) as refused:
        rating.rate(done_ticket(), 3, 4, 4, True, NOW)
    assert refused.value.code == "already_rated"
    assert refused.value.message == "Số 1005 đã được đánh giá. Xin cảm ơn ông/bà!"


def test_within_fifteen_minutes_of_finishing() -> None:
    assert timedelta(minutes=15) == rating.RATING_WINDOW
    rating.rate(done_ticket(), 3, 4, 4, False, NOW + timedelta(minutes=15))  # the last moment still counts
    with pytest.raises(Conflict) as refused:
        rating.rate(done_ticket(), 3, 4, 4, False, NOW + timedelta(minutes=15, seconds=1))
    assert refused.value.code == "rating_closed"
    assert refused.value.message == "Đã quá 15 phút kể từ khi hoàn thành số 1005, không thể đánh giá nữa."
    with pytest.raises(Conflict):
        rating.rate(done_ticket(finished_at=None), 3, 4, 4, False, NOW)


@pytest.mark.parametrize(("scale", "level"), [(4, 0), (4, 5), (3, 4), (5, 6), (5, -1)])
def test_level_outside_the_scale_is_invalid(scale: int, level: int) -> None:
    with pytest.raises(Invalid) as refused:
        rating.rate(done_ticket(), 3, level, scale, False, NOW)
    assert refused.value.code == "rating_level_invalid"
    assert refused.value.message == f"Mức đánh giá phải từ 1 đến {scale}."


def test_refusals_come_in_a_sensible_order() -> None:
    # A double tap whose second answer arrives after the first is stored says "thanks", whatever it chose.
    with pytest.raises(Conflict) as refused:
        rating.rate(done_ticket(), 3, 9, 4, True, NOW)
    assert refused.value.code == "already_rated"
    # An unfinished ticket is that, not "at another counter".
    with pytest.raises(Conflict) as refused:
        rating.rate(done_ticket(state=TicketState.WAITING, counter_id=None), 3, 4, 4, False, NOW)
    assert refused.value.code == "ticket_not_finished"
