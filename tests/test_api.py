"""The HTTP API against a real server: issuing, counter commands, refusals, idempotency, queries."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlmodel import Session, select

from server.services.maintenance import prune_idempotency_records
from server.storage import tables
from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, NGUOI_CAO_TUOI, Live

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases


def state(live: Live, counter_id: int, client=None):  # type: ignore[no-untyped-def]
    client = client or live.admin()
    answer = client.get(f"/counters/{counter_id}/state")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_issue_ticket_returns_what_the_kiosk_prints(live: Live) -> None:
    first = live.issue(HO_TICH)
    second = live.issue(HO_TICH)
    assert first["ticket"]["label"] == "1001" and second["ticket"]["label"] == "1002"
    assert second["people_ahead"] == 1
    assert second["wait_minutes"] == 6  # demo Hộ tịch: 6 minutes a service, no counter open yet
    assert second["centre_name"].startswith("Trung tâm Phục vụ hành chính công")
    assert second["ticket"]["field"]["name"] == "Hộ tịch"
    assert second["status_url"] == f"https://hangdoi.example.vn/t/{second['code']}"
    assert len(second["code"]) >= 16 and first["code"] != second["code"]


def test_each_field_numbers_in_its_own_range(live: Live) -> None:
    assert live.issue(CHUNG_THUC)["ticket"]["label"] == "2001"
    assert live.issue(DAT_DAI)["ticket"]["label"] == "3001"
    assert live.issue(CHUNG_THUC)["ticket"]["label"] == "2002"


def test_issue_refusals_are_clear_and_change_nothing(live: Live) -> None:
    kiosk = live.kiosk()
    answer = kiosk.post("/tickets", json={"field_id": 999})
    assert answer.status_code == 404 and answer.json()["error"]["message"] == "Không tìm thấy lĩnh vực này tại Trung tâm."
    answer = kiosk.post("/tickets", json={"field_id": "hộ tịch"})
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "Dữ liệu gửi lên không hợp lệ: field_id: phải là số nguyên"
    answer = kiosk.post("/tickets", content=b"\xff\xfe not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "body_not_utf8",
        "message": "Nội dung gửi lên không đọc được: cần là JSON viết bằng bảng mã UTF-8.",
    }
    answer = kiosk.post("/tickets", json={"field_id": HO_TICH, "priority_group_id": 999})
    assert answer.status_code == 404
    live.admin().patch(f"/admin/fields/{HO_TICH}", json={"active": False})
    answer = kiosk.post("/tickets", json={"field_id": HO_TICH})
    assert answer.status_code == 409 and "không tiếp nhận" in answer.json()["error"]["message"]
    with Session(live.ctx.engine) as session:
        assert session.exec(select(tables.Ticket)).all() == []


def test_daily_cap_reached_is_refused(live: Live) -> None:
    live.admin().patch(f"/admin/fields/{DAT_DAI}", json={"daily_cap": 2})
    live.issue(DAT_DAI)
    live.issue(DAT_DAI)
    answer = live.kiosk().post("/tickets", json={"field_id": DAT_DAI})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "field_full"
    assert "hết số thứ tự" in answer.json()["error"]["message"]


def test_numbering_restarts_the_next_local_day(live: Live) -> None:
    assert live.issue(HO_TICH)["ticket"]["label"] == "1001"
    assert live.issue(HO_TICH)["ticket"]["label"] == "1002"
    live.clock.advance(days=1)
    assert live.issue(HO_TICH)["ticket"]["label"] == "1001"


def test_idempotent_retry_returns_the_same_ticket(live: Live) -> None:
    kiosk = live.kiosk()
    key = str(uuid.uuid4())
    first = kiosk.post("/tickets", json={"field_id": HO_TICH}, headers={"Idempotency-Key": key})
    again = kiosk.post("/tickets", json={"field_id": HO_TICH}, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = kiosk.post("/tickets", json={"field_id": HO_TICH}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert other.json()["ticket"]["label"] == "1002"
    reused = kiosk.post("/tickets", json={"field_id": CHUNG_THUC}, headers={"Idempotency-Key": key})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    with Session(live.ctx.engine) as session:
        assert len(session.exec(select(tables.Ticket)).all()) == 2


def test_idempotent_counter_command_calls_once(live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    first = officer.post("/counters/1/call-next", headers={"Idempotency-Key": "call-1"})
    again = officer.post("/counters/1/call-next", headers={"Idempotency-Key": "call-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["ticket"]["label"] == again.json()["ticket"]["label"] == "1001"
    assert [t["label"] for t in state(live, 1)["waiting"]] == ["1002"]


def test_full_service_cycle(live: Live) -> None:
    ticket = live.issue(HO_TICH)["ticket"]
    officer = live.officer("lan.nt", 1)
    called = officer.post("/counters/1/call-next").json()
    assert called["ticket"]["id"] == ticket["id"] and called["ticket"]["state"] == "called"
    assert called["ticket"]["counter_number"] == 1
    assert called["counter"]["current"]["label"] == "1001"
    assert called["counter"]["officer"]["full_name"] == "Nguyễn Thị Lan"
    assert officer.post("/counters/1/recall").json()["ticket"]["recall_count"] == 1
    live.clock.advance(seconds=30)
    assert officer.post("/counters/1/start").json()["ticket"]["state"] == "serving"
    live.clock.advance(minutes=4)
    done = officer.post("/counters/1/finish").json()
    assert done["ticket"]["state"] == "done" and done["counter"]["current"] is None
    with Session(live.ctx.engine) as session:
        kinds = [
            e.kind
            for e in session.exec(select(tables.Event).where(tables.Event.ticket_id == ticket["id"]).order_by(tables.Event.seq))
        ]
        field = session.get(tables.ProcedureField, HO_TICH)
    assert kinds == ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.started", "ticket.finished"]
    assert field is not None and field.service_ewma_seconds == 240


def test_counter_refusals_map_to_http_statuses(live: Live) -> None:
    officer = live.officer("lan.nt", 1)
    empty = officer.post("/counters/1/call-next")
    assert empty.status_code == 409 and empty.json()["error"]["message"].startswith("Hiện không có công dân nào")
    finish = officer.post("/counters/1/finish")
    assert finish.status_code == 409 and finish.json()["error"]["code"] == "no_current_ticket"
    live.issue(HO_TICH)
    officer.post("/counters/1/call-next")
    assert officer.post("/counters/1/transfer", json={"field_id": 999}).status_code == 404
    assert officer.post("/counters/1/transfer", json={}).status_code == 422
    assert officer.post("/counters/1/call", json={"ticket_id": 424242}).status_code == 404
    assert officer.post("/counters/1/call-next").status_code == 409  # busy with 1001
    officer.post("/counters/1/finish")
    assert officer.post("/counters/1/pause").status_code == 200
    live.issue(HO_TICH)
    paused = officer.post("/counters/1/call-next")
    assert paused.status_code == 409 and "tạm dừng" in paused.json()["error"]["message"]
    assert officer.post("/counters/1/resume").status_code == 200
    assert officer.post("/counters/1/call-next").json()["ticket"]["label"] == "1002"


def test_priority_is_called_first_within_the_bound(live: Live) -> None:
    for _ in range(2):
        live.issue(HO_TICH)
    for _ in range(3):
        live.issue(HO_TICH, NGUOI_CAO_TUOI)
    order = [t["label"] for t in state(live, 1)["waiting"]]
    assert order == ["1003", "1004", "1001", "1005", "1002"]
    officer = live.officer("lan.nt", 1)
    called = []
    for _ in range(5):
        called.append(officer.post("/counters/1/call-next").json()["ticket"]["label"])
        officer.post("/counters/1/finish")
    assert called == order


def test_counter_calls_its_fields_in_order(live: Live) -> None:
    ct = live.issue(CHUNG_THUC)["ticket"]["label"]
    ht = live.issue(HO_TICH)["ticket"]["label"]
    first = live.officer("hung.tv", 2)  # quầy 2: Chứng thực first, then Hộ tịch
    assert first.post("/counters/2/call-next").json()["ticket"]["label"] == ct
    second = live.officer("lan.nt", 1)  # quầy 1: Hộ tịch first
    assert second.post("/counters/1/call-next").json()["ticket"]["label"] == ht


def test_call_specific_ticket(live: Live) -> None:
    live.issue(HO_TICH)
    second = live.issue(HO_TICH)["ticket"]
    officer = live.officer("lan.nt", 1)
    answer = officer.post("/counters/1/call", json={"ticket_id": second["id"]})
    assert answer.status_code == 200 and answer.json()["ticket"]["label"] == "1002"


def test_no_show_with_requeue_once(live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    officer.post("/counters/1/call-next")
    live.clock.advance(minutes=3)
    back = officer.post("/counters/1/no-show", json={"requeue": True}).json()
    assert back["ticket"]["state"] == "waiting" and back["ticket"]["requeued"]
    assert [t["label"] for t in state(live, 1)["waiting"]] == ["1002", "1001"]
    officer.post("/counters/1/call", json={"ticket_id": back["ticket"]["id"]})
    again = officer.post("/counters/1/no-show", json={"requeue": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ticket_already_requeued"
    final = officer.post("/counters/1/no-show").json()
    assert final["ticket"]["state"] == "no_show"


def test_transfer_keeps_number_and_moves_it_to_the_target(live: Live) -> None:
    moved = live.issue(HO_TICH)["ticket"]
    live.clock.advance(minutes=2)
    live.issue(DAT_DAI)
    officer = live.officer("lan.nt", 1)
    officer.post("/counters/1/call-next")
    answer = officer.post("/counters/1/transfer", json={"field_id": DAT_DAI}).json()
    assert answer["ticket"]["label"] == moved["label"] and answer["ticket"]["field"]["name"] == "Đất đai"
    assert answer["counter"]["current"] is None
    # Quầy 3 serves Đất đai: the transferred ticket is first, by its original issue time.
    assert [t["label"] for t in state(live, 3)["waiting"]] == ["1001", "3001"]
    land = live.officer("mai.lt", 3)
    assert land.post("/counters/3/call-next").json()["ticket"]["label"] == "1001"


def test_transfer_to_a_specific_counter(live: Live) -> None:
    live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    officer.post("/counters/1/call-next")
    answer = officer.post("/counters/1/transfer", json={"counter_id": 2}).json()
    assert answer["ticket"]["target_counter_id"] == 2
    assert state(live, 1)["waiting"] == []
    assert [t["label"] for t in state(live, 2)["waiting"]] == ["1001"]


def test_cancel_a_waiting_ticket(live: Live) -> None:
    ticket = live.issue(HO_TICH)["ticket"]
    officer = live.officer("lan.nt", 1)
    answer = officer.post("/counters/1/cancel", json={"ticket_id": ticket["id"]})
    assert answer.status_code == 200 and answer.json()["ticket"]["state"] == "cancelled"
    assert officer.post("/counters/1/cancel", json={"ticket_id": ticket["id"]}).status_code == 409


def test_public_ticket_status(live: Live) -> None:
    live.issue(HO_TICH)
    mine = live.issue(HO_TICH)
    public = live.client()
    status = public.get(f"/public/tickets/{mine['code']}").json()
    assert status["label"] == "1002" and status["people_ahead"] == 1 and status["state"] == "waiting"
    assert status["field_name"] == "Hộ tịch" and status["state_text"] == "Đang chờ đến lượt"
    assert set(status) == {
        "seq", "centre_name", "label", "field_name", "priority", "state", "state_text",
        "counter_number", "people_ahead", "wait_minutes", "now_serving", "issued_at", "called_at",
    }  # fmt: skip
    officer = live.officer("lan.nt", 1)
    officer.post("/counters/1/call-next")
    officer.post("/counters/1/finish")
    officer.post("/counters/1/call-next")
    status = public.get(f"/public/tickets/{mine['code']}").json()
    assert status["state"] == "called" and status["counter_number"] == 1 and status["now_serving"] == ["1002"]
    missing = public.get("/public/tickets/not-a-real-code")
    assert missing.status_code == 404 and "Không tìm thấy phiếu" in missing.json()["error"]["message"]


def test_centre_state_shows_fields_counters_and_recent_calls(live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    officer.post("/counters/1/call-next")
    snapshot = live.kiosk().get("/centres/1/state").json()
    ho_tich = next(f for f in snapshot["fields"] if f["id"] == HO_TICH)
    assert ho_tich["waiting"] == 1 and ho_tich["issued_today"] == 2 and ho_tich["taking_numbers"]
    assert ho_tich["open_counters"] == 1 and ho_tich["remaining_today"] == 997
    counter = next(c for c in snapshot["counters"] if c["number"] == 1)
    assert counter["state"] == "open" and counter["current"]["label"] == "1001"
    assert snapshot["recent_calls"][0]["ticket_label"] == "1001" and snapshot["recent_calls"][0]["counter_number"] == 1
    assert snapshot["priority_groups"][0]["name"] == "Người cao tuổi"
    assert live.kiosk().get("/centres/2/state").status_code == 404


def test_field_queue_lists_waiting_tickets_in_order(live: Live) -> None:
    live.issue(HO_TICH)
    live.issue(HO_TICH, NGUOI_CAO_TUOI)
    labels = [t["label"] for t in live.officer("lan.nt").get(f"/fields/{HO_TICH}/queue").json()]
    assert labels == ["1002", "1001"]


def test_openapi_docs_are_served(live: Live) -> None:
    client = live.client()
    assert client.get(f"{live.base_url}/docs").status_code == 200
    paths = client.get(f"{live.base_url}/openapi.json").json()["paths"]
    assert "/api/v1/tickets" in paths and "/api/v1/counters/{counter_id}/call-next" in paths


def test_call_next_takes_tickets_exactly_in_the_full_queue_order(live: Live) -> None:
    """Call-next reads only a few candidate tickets from the database; the order it produces must
    be the engine's order over the whole queue, with priorities, transfers and reserved tickets."""
    rng = random.Random(2026)
    kiosk = live.kiosk()
    for _ in range(40):
        field_id = rng.choice([HO_TICH, CHUNG_THUC, DAT_DAI])
        priority = NGUOI_CAO_TUOI if rng.random() < 0.3 else None
        kiosk.post("/tickets", json={"field_id": field_id, "priority_group_id": priority})
        live.clock.advance(seconds=rng.randint(5, 60))
    # Quầy 2 sends a few absent citizens back to the queue (priority ones among them), then
    # reserves some waiting tickets for quầy 1 and some for quầy 3.
    mover = live.officer("hung.tv", 2)
    requeued = []
    for _ in range(3):
        requeued.append(mover.post("/counters/2/call-next").json()["ticket"])
        live.clock.advance(seconds=30)
        assert mover.post("/counters/2/no-show", json={"requeue": True}).status_code == 200
    assert any(t["priority_group"] for t in requeued)
    waiting_at_2 = [t["id"] for t in state(live, 2)["waiting"]]
    for ticket_id in rng.sample(waiting_at_2, 6):
        target = rng.choice([1, 3])
        assert mover.post("/counters/2/transfer", json={"ticket_id": ticket_id, "counter_id": target}).status_code == 200
    officer = live.officer("lan.nt", 1)
    expected = [t["label"] for t in state(live, 1)["waiting"]]
    assert len(expected) > 12
    called = []
    while (answer := officer.post("/counters/1/call-next")).status_code == 200:
        called.append(answer.json()["ticket"]["label"])
        officer.post("/counters/1/finish")
    assert answer.json()["error"]["code"] == "queue_empty"
    assert called == expected


def test_a_requeued_priority_ticket_waits_as_a_normal_one(live: Live) -> None:
    officer = live.officer("lan.nt", 1)
    absent = live.issue(HO_TICH, NGUOI_CAO_TUOI)["ticket"]["label"]
    officer.post("/counters/1/call-next")
    live.clock.advance(minutes=1)
    officer.post("/counters/1/no-show", json={"requeue": True})
    live.clock.advance(minutes=1)
    for _ in range(3):
        live.issue(HO_TICH, NGUOI_CAO_TUOI)
    live.clock.advance(minutes=1)
    normal = live.issue(HO_TICH)["ticket"]["label"]
    called = []
    for _ in range(5):
        called.append(officer.post("/counters/1/call-next").json()["ticket"]["label"])
        officer.post("/counters/1/finish")
    # Two priority calls in a row (the absent citizen's first call, then 1002), so the oldest
    # normal ticket goes next: the requeued one, which queues as normal since its requeue.
    assert called == ["1002", absent, "1003", "1004", normal]


def test_old_idempotency_answers_are_forgotten(live: Live) -> None:
    kiosk = live.kiosk()
    kiosk.post("/tickets", json={"field_id": HO_TICH}, headers={"Idempotency-Key": "old"})
    live.clock.advance(days=2, seconds=1)
    kiosk.post("/tickets", json={"field_id": HO_TICH}, headers={"Idempotency-Key": "new"})
    assert prune_idempotency_records(live.ctx) == 1
    with Session(live.ctx.engine) as session:
        assert [r.key for r in session.exec(select(tables.IdempotencyRecord))] == ["new"]


def test_ids_beyond_what_the_database_stores_are_refused_clearly(live: Live) -> None:
    huge = 2**70
    officer = live.officer("lan.nt", 1)
    for answer in (
        live.kiosk().post("/tickets", json={"field_id": huge}),
        officer.get(f"/tickets/{huge}"),
        officer.get(f"/counters/{huge}/state"),
        live.admin().get(f"/admin/fields/{huge}"),
    ):
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "value_out_of_range"
        assert answer.json()["error"]["message"] == "Dữ liệu gửi lên không hợp lệ: số hoặc giá trị vượt giới hạn cho phép."
