"""The event log is the record: a real server's stored log, replayed, rebuilds exactly the tickets
and counters in its tables (server.engine.replay). A morning and the next day's start run through
the HTTP API; every kind of event the services emit is in the log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from server.engine import numbering, replay
from server.services import views
from server.storage import tables
from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, NGUOI_CAO_TUOI, Live

pytestmark = pytest.mark.both_databases

CENTRE = 1


def ok(answer: httpx.Response) -> Any:
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


def counters_in_tables(live: Live) -> list[tables.Counter]:
    with Session(live.ctx.engine) as session:
        return list(session.exec(select(tables.Counter).where(tables.Counter.centre_id == CENTRE)).all())


def a_morning(live: Live) -> None:
    """Officers sign in, citizens take numbers, and the counters do everything they can do."""
    lan = live.officer("lan.nt", counter_id=1)  # Quầy 1: Hộ tịch, Chứng thực
    hung = live.officer("hung.tv")
    ok(hung.post("/auth/counter/2"))  # Quầy 2: Chứng thực, Hộ tịch
    mai = live.officer("mai.lt", counter_id=3)  # Quầy 3: Đất đai, Xây dựng
    huong = live.officer("huong.vt", counter_id=5)  # Quầy 5: …, Chứng thực
    tablet = live.client(live.devices["counter_panel_1"])

    def issue(field_id: int, priority: int | None = None) -> int:
        return int(live.issue(field_id, priority)["ticket"]["id"])

    normal, elderly, third = issue(HO_TICH), issue(HO_TICH, NGUOI_CAO_TUOI), issue(HO_TICH)
    issue(CHUNG_THUC)
    issue(CHUNG_THUC)
    land = issue(DAT_DAI)
    live.clock.advance(minutes=3)

    served = ok(lan.post("/counters/1/call-next"))["ticket"]
    assert served["id"] == elderly  # priority first
    ok(lan.post("/counters/1/recall"))
    ok(lan.post("/counters/1/start"))
    live.clock.advance(minutes=4)
    ok(lan.post("/counters/1/finish"))
    ok(tablet.post("/counters/1/rating", json={"ticket_id": elderly, "level": 4}))

    absent = ok(hung.post("/counters/2/call-next"))["ticket"]["id"]
    ok(hung.post("/counters/2/no-show", json={"requeue": True}))  # to the back of the line, once
    ok(hung.post("/counters/2/call-next"))
    ok(hung.post("/counters/2/transfer", json={"counter_id": 1}))  # reserved for Quầy 1
    assert ok(hung.post("/counters/2/call-next"))["ticket"]["id"] == absent
    ok(hung.post("/counters/2/no-show", json={"requeue": False}))

    assert ok(lan.post("/counters/1/call-next"))["ticket"]["id"] == normal
    ok(lan.post("/counters/1/transfer", json={"field_id": DAT_DAI}))  # keeps its place by issue time
    assert ok(mai.post("/counters/3/call-next"))["ticket"]["id"] == normal
    ok(mai.post("/counters/3/finish"))

    ok(hung.post("/counters/2/cancel", json={"ticket_id": third}))
    ok(lan.post("/counters/1/pause"))
    ok(lan.post("/counters/1/resume"))
    ok(lan.post("/counters/1/call-next"))  # the Chứng thực ticket sent to Quầy 1
    ok(lan.post("/counters/1/start"))
    ok(hung.delete("/auth/counter"))  # counter.closed

    assert ok(mai.post("/counters/3/call-next"))["ticket"]["id"] == land
    ok(mai.post("/auth/logout"))  # a citizen is still at the desk: the counter pauses

    later = issue(HO_TICH)
    ok(lan.post("/counters/1/transfer", json={"ticket_id": later, "field_id": CHUNG_THUC, "counter_id": 2}))
    by_hand = issue(CHUNG_THUC)
    ok(huong.post("/counters/5/call", json={"ticket_id": by_hand}))
    ok(live.admin().patch(f"/admin/fields/{DAT_DAI}", json={"daily_cap": 50}))  # config.updated

    # The next morning: the first ticket starts the day, and what was left open expires.
    live.clock.advance(days=1)
    issue(HO_TICH)
    issue(HO_TICH)
    lan = live.officer("lan.nt", counter_id=1)  # yesterday's sign-in has run out
    ok(lan.post("/counters/1/call-next"))
    ok(lan.post("/counters/1/finish"))


def test_replaying_the_stored_log_rebuilds_the_tickets_and_counters(live: Live) -> None:
    with Session(live.ctx.engine) as session:
        assert session.exec(select(tables.Event)).first() is None  # the log starts with this test
        initial = [
            views.counter_engine(row, views.counter_field_ids(session, [row.id])[row.id])  # type: ignore[index,list-item]
            for row in counters_in_tables(live)
        ]

    a_morning(live)
    live.clock.advance(minutes=1)

    with Session(live.ctx.engine) as session:
        events = session.exec(select(tables.Event).where(tables.Event.centre_id == CENTRE).order_by(col(tables.Event.seq))).all()
        tickets = session.exec(select(tables.Ticket).where(tables.Ticket.centre_id == CENTRE)).all()
        rated = set(session.exec(select(tables.Rating.ticket_id)).all())
        centre = session.get(tables.Centre, CENTRE)
        assert centre is not None
        rebuilt = replay.replay(initial, events)

    assert {e.kind for e in events} == {
        "counter.opened",
        "counter.paused",
        "counter.resumed",
        "counter.closed",
        "ticket.issued",
        "ticket.called",
        "ticket.recalled",
        "ticket.started",
        "ticket.finished",
        "ticket.rated",
        "ticket.no_show",
        "ticket.transferred",
        "ticket.cancelled",
        "ticket.expired",
        "day.started",
        "config.updated",
    }
    assert rebuilt.seq == centre.event_seq == len(events)

    fields = (*replay.TICKET_FIELDS, "issue_field_id")
    stored = {t.id: {name: getattr(t, name) for name in fields} for t in tickets}
    assert {i: {name: getattr(t, name) for name in fields} for i, t in rebuilt.tickets.items()} == stored
    assert {row.state for row in tickets} >= {"done", "no_show", "cancelled", "expired", "waiting"}

    counters = {row.id: {name: getattr(row, name) for name in replay.COUNTER_FIELDS} for row in counters_in_tables(live)}
    assert {i: {name: getattr(c, name) for name in replay.COUNTER_FIELDS} for i, c in rebuilt.counters.items()} == counters
    assert rebuilt.rated == rated
    assert rebuilt.service_day == centre.service_day == numbering.service_day(live.clock.now(), centre.timezone)


def test_a_log_with_a_hole_or_a_contradiction_is_refused_by_seq(live: Live) -> None:
    """A replay never guesses: a missing event, or one that cannot follow, names its seq."""
    with Session(live.ctx.engine) as session:
        initial = [views.counter_engine(row, []) for row in counters_in_tables(live)]
    live.issue(HO_TICH)
    lan = live.officer("lan.nt", counter_id=1)
    ok(lan.post("/counters/1/call-next"))
    ok(lan.post("/counters/1/finish"))
    with Session(live.ctx.engine) as session:
        events = session.exec(select(tables.Event).where(tables.Event.centre_id == CENTRE).order_by(col(tables.Event.seq))).all()
    assert [e.kind for e in events] == ["ticket.issued", "counter.opened", "ticket.called", "ticket.finished"]

    with pytest.raises(replay.ReplayError, match=r"seq 4 \(ticket.finished\): expected seq 3"):
        replay.replay(initial, [events[0], events[1], events[3]])
    # Without the sign-in, the counter was closed when it called.
    renumbered = [events[0], *(replay_copy(e, seq=e.seq - 1) for e in events[2:])]
    with pytest.raises(replay.ReplayError, match=r"seq 2 \(ticket.called\): counter 1 is closed"):
        replay.replay(initial, renumbered)


def replay_copy(event: tables.Event, **changes: Any) -> replay.StoredEvent:
    values = {name: getattr(event, name) for name in replay.StoredEvent.__dataclass_fields__}
    return replay.StoredEvent(**{**values, **changes})
