"""Đánh giá mức độ hài lòng against a real server: stored once, by the right devices and officers,
bound to the officer who served; and the officer's own figures for today."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from server.storage import tables
from tests.conftest import CHUNG_THUC, HO_TICH, Live

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases


def officer_id(live: Live, username: str) -> int:
    with Session(live.ctx.engine) as session:
        officer = session.exec(select(tables.Officer).where(tables.Officer.username == username)).one()
    assert officer.id is not None
    return officer.id


def device_id(live: Live, name: str) -> int:
    with Session(live.ctx.engine) as session:
        device = session.exec(select(tables.Device).where(tables.Device.name == name)).one()
    assert device.id is not None
    return device.id


def serve(
    live: Live, officer: httpx.Client, counter_id: int = 1, field_id: int = HO_TICH, seconds: float = 240
) -> dict[str, Any]:
    """Issue a ticket, call it at the counter and finish it after `seconds`; the finished ticket."""
    ticket = live.issue(field_id)["ticket"]
    called = officer.post(f"/counters/{counter_id}/call", json={"ticket_id": ticket["id"]})
    assert called.status_code == 200, called.text
    live.clock.advance(seconds=seconds)
    done = officer.post(f"/counters/{counter_id}/finish")
    assert done.status_code == 200, done.text
    return done.json()["ticket"]


def panel(live: Live, counter_number: int = 1) -> httpx.Client:
    return live.client(live.devices[f"counter_panel_{counter_number}"])


def ratings(live: Live) -> list[tables.Rating]:
    with Session(live.ctx.engine) as session:
        return list(session.exec(select(tables.Rating)).all())


def rated_events(live: Live) -> list[tables.Event]:
    with Session(live.ctx.engine) as session:
        return list(session.exec(select(tables.Event).where(tables.Event.kind == "ticket.rated")).all())


def test_a_rating_is_stored_exactly_once(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    ticket = serve(live, lan)
    live.clock.advance(seconds=20)
    answer = lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 4})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    created_at = body.pop("created_at")
    assert body == {
        "ticket_id": ticket["id"],
        "ticket_label": "1001",
        "counter_id": 1,
        "field_id": HO_TICH,
        "officer_id": officer_id(live, "lan.nt"),
        "level": 4,
        "scale": 4,
        "label": "Rất hài lòng",
        "satisfied": True,
        "reason": "",
    }
    assert created_at.startswith("2026-11-23T01:34:20")
    again = panel(live).post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 1, "reason": "Đổi ý"})
    assert again.status_code == 409
    assert again.json() == {"error": {"code": "already_rated", "message": "Số 1001 đã được đánh giá. Xin cảm ơn ông/bà!"}}
    [row] = ratings(live)
    assert (row.ticket_id, row.level, row.scale, row.reason, row.counter_id, row.field_id) == (ticket["id"], 4, 4, "", 1, HO_TICH)
    [event] = rated_events(live)
    assert event.ticket_id == ticket["id"] and event.data == {"level": 4, "scale": 4, "satisfied": True}


def test_an_idempotent_retry_gets_the_first_answer(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    ticket = serve(live, lan)
    tablet = panel(live)
    body = {"ticket_id": ticket["id"], "level": 1, "reason": "Thời gian chờ quá lâu"}
    first = tablet.post("/counters/1/rating", json=body, headers={"Idempotency-Key": "rating-1"})
    live.clock.advance(seconds=5)
    retry = tablet.post("/counters/1/rating", json=body, headers={"Idempotency-Key": "rating-1"})
    assert first.status_code == retry.status_code == 200
    assert first.json() == retry.json()
    other = tablet.post("/counters/1/rating", json={**body, "level": 2}, headers={"Idempotency-Key": "rating-1"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(ratings(live)) == 1 and len(rated_events(live)) == 1


def test_two_tablets_at_once_store_one_rating(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    ticket = serve(live, lan)
    clients = [panel(live), lan, panel(live), lan]
    answers: list[httpx.Response] = []
    start = threading.Barrier(len(clients))

    def send(client: httpx.Client, level: int) -> None:
        start.wait()
        answers.append(client.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": level}))

    threads = [threading.Thread(target=send, args=(c, i + 1)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"already_rated"}
    assert len(ratings(live)) == 1 and len(rated_events(live)) == 1


def test_only_a_finished_ticket_can_be_rated(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    waiting = live.issue(HO_TICH)["ticket"]
    answer = lan.post("/counters/1/rating", json={"ticket_id": waiting["id"], "level": 4})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "ticket_not_finished"
    assert answer.json()["error"]["message"] == "Số 1001 đang chờ, chỉ đánh giá được sau khi đã hoàn thành phục vụ."
    lan.post("/counters/1/call-next")
    answer = panel(live).post("/counters/1/rating", json={"ticket_id": waiting["id"], "level": 4})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "ticket_not_finished"
    missing = lan.post("/counters/1/rating", json={"ticket_id": 424242, "level": 4})
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Không tìm thấy số thứ tự này."
    assert ratings(live) == []


def test_only_the_counter_that_served_may_send_the_rating(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    hung = live.officer("hung.tv", 2)
    ticket = serve(live, lan)
    body = {"ticket_id": ticket["id"], "level": 4}
    elsewhere = hung.post("/counters/2/rating", json=body)
    assert elsewhere.status_code == 409 and elsewhere.json()["error"]["code"] == "ticket_not_for_counter"
    assert elsewhere.json()["error"]["message"] == "Số 1001 không được phục vụ tại quầy này, không thể đánh giá tại đây."
    assert panel(live, 2).post("/counters/2/rating", json=body).status_code == 409
    not_here = hung.post("/counters/1/rating", json=body)
    assert not_here.status_code == 403 and not_here.json()["error"]["code"] == "not_signed_in_at_counter"
    assert not_here.json()["error"]["message"] == "Bạn chưa đăng nhập tại quầy số 1, nên không thể gửi đánh giá cho quầy này."
    wrong_tablet = panel(live, 2).post("/counters/1/rating", json=body)
    assert wrong_tablet.status_code == 403
    assert wrong_tablet.json()["error"]["message"] == "Thiết bị này không được gắn với quầy số 1."
    assert live.admin().post("/counters/1/rating", json=body).status_code == 403  # signed in, but at no counter
    assert live.client().post("/counters/1/rating", json=body).status_code == 401
    assert lan.post("/counters/999/rating", json=body).status_code == 404
    assert ratings(live) == []


@pytest.mark.parametrize("device", ["kiosk", "display"])
def test_kiosks_and_displays_may_not_rate(live: Live, device: str) -> None:
    ticket = serve(live, live.officer("lan.nt", 1))
    answer = live.client(live.devices[device]).post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 4})
    assert answer.status_code == 403
    assert answer.json() == {
        "error": {
            "code": "forbidden",
            "message": "Chỉ màn hình đánh giá của quầy hoặc cán bộ tại quầy mới gửi được đánh giá.",
        }
    }
    assert ratings(live) == []


def test_the_tablet_rating_counts_for_the_officer_who_finished(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    ticket = serve(live, lan)
    # Lan leaves and Hùng takes counter 1 before the citizen has tapped: the rating is still Lan's.
    live.officer("hung.tv", 1)
    answer = panel(live).post(
        "/counters/1/rating", json={"ticket_id": ticket["id"], "level": 1, "reason": "Phải bổ sung hồ sơ nhiều lần"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["officer_id"] == officer_id(live, "lan.nt")
    assert answer.json()["label"] == "Không hài lòng" and answer.json()["satisfied"] is False
    [row] = ratings(live)
    assert row.officer_id == officer_id(live, "lan.nt") and row.reason == "Phải bổ sung hồ sơ nhiều lần"
    [event] = rated_events(live)
    assert event.officer_id == officer_id(live, "lan.nt") and event.device_id == device_id(live, "Màn hình quầy 1")


def test_rating_closes_fifteen_minutes_after_finishing(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    late = serve(live, lan)
    live.clock.advance(minutes=15)
    on_time = serve(live, lan, seconds=0)
    assert panel(live).post("/counters/1/rating", json={"ticket_id": on_time["id"], "level": 3}).status_code == 200
    live.clock.advance(seconds=1)
    answer = panel(live).post("/counters/1/rating", json={"ticket_id": late["id"], "level": 3})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "rating_closed"
    assert answer.json()["error"]["message"] == "Đã quá 15 phút kể từ khi hoàn thành số 1001, không thể đánh giá nữa."
    assert [r.ticket_id for r in ratings(live)] == [on_time["id"]]


def test_malformed_ratings_are_refused(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    ticket = serve(live, lan)
    for level in (0, 6):
        answer = lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": level})
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_request"
    assert lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 0}).json()["error"]["message"] == (
        "Dữ liệu gửi lên không hợp lệ: level: phải lớn hơn hoặc bằng 1"
    )
    five = lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 5})  # the centre uses four levels
    assert five.status_code == 422 and five.json()["error"] == {
        "code": "rating_level_invalid",
        "message": "Mức đánh giá phải từ 1 đến 4.",
    }
    long = lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 1, "reason": "x" * 501})
    assert long.status_code == 422 and long.json()["error"]["message"].endswith("reason: quá dài (nhiều nhất 500 ký tự)")
    extra = lan.post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 1, "name": "Nguyễn Văn A"})
    assert extra.status_code == 422 and extra.json()["error"]["message"].endswith("name: không được phép gửi")
    assert ratings(live) == []


def test_the_counter_state_offers_the_centres_scale(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    state = lan.get("/counters/1/state").json()
    assert state["rating_scale"] == [
        {"level": 4, "label": "Rất hài lòng", "satisfied": True, "asks_reason": False},
        {"level": 3, "label": "Hài lòng", "satisfied": True, "asks_reason": False},
        {"level": 2, "label": "Bình thường", "satisfied": False, "asks_reason": False},
        {"level": 1, "label": "Không hài lòng", "satisfied": False, "asks_reason": True},
    ]
    assert state["rating_reasons"][:2] == ["Thời gian chờ quá lâu", "Thái độ phục vụ chưa tốt"]
    ws, snapshot = live.subscribe("counter", live.devices["counter_panel_1"])
    with ws:
        assert snapshot["state"]["rating_scale"] == state["rating_scale"]
        assert snapshot["state"]["counter"]["number"] == 1


def test_three_and_five_level_scales_are_honoured(live: Live) -> None:
    admin = live.admin()
    lan = live.officer("lan.nt", 1)
    assert admin.patch("/admin/centres/1", json={"rating_levels": 3}).status_code == 200
    three = lan.get("/counters/1/state").json()["rating_scale"]
    assert [lv["label"] for lv in three] == ["Hài lòng", "Bình thường", "Không hài lòng"]
    first = serve(live, lan)
    assert lan.post("/counters/1/rating", json={"ticket_id": first["id"], "level": 4}).json()["error"]["code"] == (
        "rating_level_invalid"
    )
    answer = lan.post("/counters/1/rating", json={"ticket_id": first["id"], "level": 3}).json()
    assert (answer["scale"], answer["label"], answer["satisfied"]) == (3, "Hài lòng", True)

    assert admin.patch("/admin/centres/1", json={"rating_levels": 5}).status_code == 200
    scale = lan.get("/counters/1/state").json()["rating_scale"]
    assert [(lv["level"], lv["label"], lv["asks_reason"]) for lv in scale] == [
        (5, "Rất hài lòng", False),
        (4, "Hài lòng", False),
        (3, "Bình thường", False),
        (2, "Không hài lòng", True),
        (1, "Rất không hài lòng", True),
    ]
    second = serve(live, lan)
    body = {"ticket_id": second["id"], "level": 1, "reason": "Thái độ phục vụ chưa tốt"}
    answer = panel(live).post("/counters/1/rating", json=body)
    assert answer.status_code == 200
    assert (answer.json()["scale"], answer.json()["label"], answer.json()["satisfied"]) == (5, "Rất không hài lòng", False)
    assert sorted((r.scale, r.level) for r in ratings(live)) == [(3, 3), (5, 1)]
    assert admin.patch("/admin/centres/1", json={"rating_levels": 6}).status_code == 422


def test_live_subscribers_get_the_event_but_never_the_reason(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    ticket = serve(live, lan)
    screen, centre_snapshot = live.subscribe("centre")
    tablet, counter_snapshot = live.subscribe("counter", live.devices["counter_panel_1"])
    with screen, tablet:
        reason = "Thái độ phục vụ chưa tốt; cán bộ Nguyễn Thị Lan nói to"
        answer = panel(live).post("/counters/1/rating", json={"ticket_id": ticket["id"], "level": 1, "reason": reason})
        assert answer.status_code == 200
        for ws, snapshot in ((screen, centre_snapshot), (tablet, counter_snapshot)):
            raw = ws.recv(timeout=5)
            while json.loads(raw)["type"] in ("ping", "pong"):
                raw = ws.recv(timeout=5)
            message = json.loads(raw)
            assert message["kind"] == "ticket.rated" and message["seq"] == snapshot["seq"] + 1
            assert message["counter_id"] == 1 and message["field_id"] == HO_TICH
            assert message["data"] == {"level": 1, "scale": 4, "satisfied": False}
            assert message["ticket"]["label"] == "1001"
            assert "Thái độ" not in raw and "nói to" not in raw and "reason" not in raw
        # The reason is kept where reports read it, not in the log.
        [row] = ratings(live)
        assert row.reason == reason
        assert all("reason" not in e.data for e in rated_events(live))


def test_my_figures_for_today(live: Live) -> None:
    lan = live.officer("lan.nt", 1)
    # Yesterday's work does not count today.
    serve(live, lan, seconds=600)
    live.clock.advance(days=1)
    lan = live.officer("lan.nt", 1)
    hung = live.officer("hung.tv", 2)
    tablet = panel(live)
    for _ in range(5):
        live.issue(HO_TICH)
    labels: dict[str, int] = {}

    def call_next() -> str:
        answer = lan.post("/counters/1/call-next").json()["ticket"]
        labels[answer["label"]] = answer["id"]
        return str(answer["label"])

    assert call_next() == "1001"
    live.clock.advance(seconds=120)
    lan.post("/counters/1/finish")
    assert tablet.post("/counters/1/rating", json={"ticket_id": labels["1001"], "level": 4}).status_code == 200
    assert call_next() == "1002"
    live.clock.advance(seconds=240)
    lan.post("/counters/1/finish")
    assert (
        lan.post(
            "/counters/1/rating", json={"ticket_id": labels["1002"], "level": 1, "reason": "Thời gian chờ quá lâu"}
        ).status_code
        == 200
    )
    assert call_next() == "1003"
    lan.post("/counters/1/no-show", json={"requeue": True})  # back in the queue: not a no-show yet
    assert call_next() == "1004"
    live.clock.advance(minutes=1)
    lan.post("/counters/1/no-show")
    assert call_next() == "1005"
    lan.post("/counters/1/transfer", json={"field_id": CHUNG_THUC})
    assert call_next() == "1003"
    live.clock.advance(seconds=60)
    lan.post("/counters/1/finish")
    assert tablet.post("/counters/1/rating", json={"ticket_id": labels["1003"], "level": 3}).status_code == 200
    # Another officer's work is theirs.
    served_by_hung = serve(live, hung, counter_id=2, field_id=CHUNG_THUC, seconds=30)
    assert hung.post("/counters/2/rating", json={"ticket_id": served_by_hung["id"], "level": 2}).status_code == 200

    answer = lan.get("/auth/me/today")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "service_day": str(date(2026, 11, 24)),
        "served": 3,
        "no_shows": 1,
        "transferred": 1,
        "average_service_seconds": 140.0,
        "rated": 3,
        "satisfied": 2,
        "satisfied_share": pytest.approx(2 / 3),
        "ratings": [
            {"level": 4, "label": "Rất hài lòng", "count": 1},
            {"level": 3, "label": "Hài lòng", "count": 1},
            {"level": 2, "label": "Bình thường", "count": 0},
            {"level": 1, "label": "Không hài lòng", "count": 1},
        ],
    }
    hung_today = hung.get("/auth/me/today").json()
    assert (hung_today["served"], hung_today["rated"], hung_today["satisfied"], hung_today["satisfied_share"]) == (1, 1, 0, 0.0)
    assert hung_today["average_service_seconds"] == 30.0


def test_my_figures_before_any_work_and_for_devices(live: Live) -> None:
    today = live.officer("mai.lt").get("/auth/me/today").json()
    assert today["served"] == today["rated"] == 0
    assert today["average_service_seconds"] is None and today["satisfied_share"] is None
    assert [r["count"] for r in today["ratings"]] == [0, 0, 0, 0]
    for device in ("counter_panel_1", "kiosk"):
        answer = live.client(live.devices[device]).get("/auth/me/today")
        assert answer.status_code == 403  # signed in, but not an officer
        assert answer.json() == {"error": {"code": "officer_required", "message": "Thao tác này cần cán bộ đăng nhập."}}
    assert live.client().get("/auth/me/today").status_code == 401
    province = live.province_admin().get("/auth/me/today")  # no centre: the server's time zone
    assert province.status_code == 200 and province.json()["service_day"] == "2026-11-23"
