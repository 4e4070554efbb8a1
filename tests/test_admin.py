"""Configuration by administrators: every form validates, nothing is half-saved, screens reload."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from server.storage import tables
from tests.conftest import CHUNG_THUC, DAT_DAI, HO_TICH, Live, receive

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases


def test_create_field_counter_and_take_numbers(live: Live) -> None:
    admin = live.admin()
    field = admin.post(
        "/admin/fields",
        json={"code": "TP", "name": "Tư pháp", "prefix": "A", "number_start": 1, "number_end": 999, "daily_cap": 300},
    )
    assert field.status_code == 201, field.text
    counter = admin.post("/admin/counters", json={"number": 6, "field_ids": [field.json()["id"], HO_TICH]})
    assert counter.status_code == 201 and counter.json()["name"] == "Quầy 6"
    assert counter.json()["field_ids"] == [field.json()["id"], HO_TICH]
    issued = live.issue(field.json()["id"])
    assert issued["ticket"]["label"] == "A001"


def test_overlapping_number_ranges_are_refused(live: Live) -> None:
    answer = live.admin().post("/admin/fields", json={"code": "X", "name": "Thử", "number_start": 1500, "number_end": 2500})
    assert answer.status_code == 409
    assert answer.json()["error"]["message"].startswith("Dãy số 1500–2500 trùng với lĩnh vực Hộ tịch")


def test_invalid_forms_get_clear_messages(live: Live) -> None:
    admin = live.admin()
    bad_range = admin.post("/admin/fields", json={"code": "X", "name": "Thử", "number_start": 9000, "number_end": 8000})
    assert bad_range.status_code == 422 and "Số cuối phải lớn hơn" in bad_range.json()["error"]["message"]
    no_name = admin.post("/admin/fields", json={"code": "X", "name": "", "number_start": 8001, "number_end": 8999})
    assert no_name.status_code == 422
    assert no_name.json()["error"]["message"] == "Dữ liệu gửi lên không hợp lệ: name: quá ngắn (ít nhất 1 ký tự)"
    hours = admin.patch(f"/admin/fields/{HO_TICH}", json={"opens_at": "17:00", "closes_at": "07:30"})
    assert hours.status_code == 422 and hours.json()["error"]["message"] == "Giờ đóng cửa phải sau giờ mở cửa."
    tz = admin.patch("/admin/centres/1", json={"timezone": "Mars/Olympus"})
    assert tz.status_code == 422
    unknown_field = admin.post("/admin/counters", json={"number": 9, "field_ids": [HO_TICH, 999]})
    assert unknown_field.status_code == 404
    repeated = admin.post("/admin/counters", json={"number": 9, "field_ids": [HO_TICH, HO_TICH]})
    assert repeated.status_code == 422
    taken = admin.post("/admin/counters", json={"number": 1})
    assert taken.status_code == 409 and taken.json()["error"]["message"] == "Đã có quầy số 1."
    extra = admin.post("/admin/priority-groups", json={"code": "X", "name": "Thử", "colour": "red"})
    assert extra.status_code == 422 and extra.json()["error"]["message"].endswith("colour: không được phép gửi")
    big = admin.post("/admin/fields", json={"code": "X", "name": "Thử", "number_end": 10**7})
    assert big.json()["error"]["message"].endswith("number_end: phải nhỏ hơn hoặc bằng 999999")
    missing = admin.post("/admin/counters", json={})
    assert missing.json()["error"]["message"].endswith("number: thiếu")
    # Nothing of the refused forms was saved, not even the counter whose field list failed.
    with Session(live.ctx.engine) as session:
        assert session.exec(select(tables.Counter).where(tables.Counter.number == 9)).first() is None
        assert len(session.exec(select(tables.ProcedureField)).all()) == 7


def test_update_counter_fields_and_deactivate(live: Live) -> None:
    admin = live.admin()
    answer = admin.patch("/admin/counters/3", json={"field_ids": [CHUNG_THUC, DAT_DAI], "name": "Quầy Đất đai"})
    assert answer.json()["field_ids"] == [CHUNG_THUC, DAT_DAI] and answer.json()["name"] == "Quầy Đất đai"
    assert admin.delete("/admin/counters/3").json()["active"] is False
    state = live.kiosk().get("/centres/1/state").json()
    assert 3 not in [c["number"] for c in state["counters"]]


def test_officer_accounts(live: Live) -> None:
    admin = live.admin()
    created = admin.post("/admin/officers", json={"username": "thao.dt", "full_name": "Đỗ Thị Thảo", "password": "12345678"})
    assert created.status_code == 201 and created.json()["centre_id"] == 1 and created.json()["role"] == "officer"
    assert "password" not in created.text and "hash" not in created.text
    assert (
        admin.post("/admin/officers", json={"username": "thao.dt", "full_name": "X", "password": "12345678"}).status_code == 409
    )
    assert admin.post("/admin/officers", json={"username": "a b", "full_name": "X", "password": "12345678"}).status_code == 422
    assert admin.post("/admin/officers", json={"username": "ngan", "full_name": "X", "password": "123"}).status_code == 422
    assert live.login("thao.dt", password="12345678")
    me = next(o for o in admin.get("/admin/officers").json() if o["username"] == "quantri")
    assert admin.delete(f"/admin/officers/{me['id']}").status_code == 409  # no locking yourself out


def test_new_device_token_works_once_created(live: Live) -> None:
    admin = live.admin()
    answer = admin.post("/admin/devices", json={"kind": "counter_panel", "name": "Màn hình quầy 1", "counter_id": 1})
    assert answer.status_code == 201 and answer.json()["token"].startswith("hdd_")
    panel = live.client(answer.json()["token"])
    assert panel.get("/auth/me").json()["role"] == "counter_panel"
    assert admin.post("/admin/devices", json={"kind": "counter_panel", "name": "Không quầy"}).status_code == 422
    listed = admin.get("/admin/devices").json()
    assert all("token" not in d for d in listed)


def test_device_reports_printer_state(live: Live) -> None:
    kiosk = live.kiosk()
    assert kiosk.post("/devices/me/status", json={"printer_state": "paper_out"}).status_code == 200
    devices = live.admin().get("/admin/devices").json()
    kiosk_row = next(d for d in devices if d["kind"] == "kiosk")
    assert kiosk_row["printer_state"] == "paper_out" and kiosk_row["last_seen_at"] is not None
    assert kiosk.post("/devices/me/status", json={"printer_state": "on fire"}).status_code == 422


def test_priority_groups(live: Live) -> None:
    admin = live.admin()
    group = admin.post("/admin/priority-groups", json={"code": "TN", "name": "Thương binh"}).json()
    assert live.issue(HO_TICH, group["id"])["ticket"]["priority_group"] == "Thương binh"
    admin.delete(f"/admin/priority-groups/{group['id']}")
    answer = live.kiosk().post("/tickets", json={"field_id": HO_TICH, "priority_group_id": group["id"]})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "priority_group_unknown"


def test_config_change_tells_live_screens_to_reload(live: Live) -> None:
    ws, snapshot = live.subscribe("centre")
    with ws:
        live.admin().patch("/admin/centres/1", json={"notice_text": "Chiều nay Trung tâm làm việc đến 16 giờ."})
        message = receive(ws)
        assert message["kind"] == "config.updated" and message["seq"] == snapshot["seq"] + 1
        assert message["data"] == {"what": "centre", "id": 1}


def test_mistakes_in_admin_forms_are_refused_not_crashes(live: Live) -> None:
    admin = live.admin()
    duplicate = admin.post("/admin/fields", json={"code": "HT", "name": "Hộ tịch 2", "number_start": 8001, "number_end": 8999})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["message"] == "Mã HT đã được dùng cho lĩnh vực Hộ tịch."
    assert admin.patch(f"/admin/fields/{HO_TICH}", json={"code": "CT"}).status_code == 409
    group = admin.post("/admin/priority-groups", json={"code": "NCT", "name": "Trùng"})
    assert group.status_code == 409 and "NCT" in group.json()["error"]["message"]
    for path, body in [
        (f"/admin/fields/{HO_TICH}", {"name": None}),
        (f"/admin/fields/{HO_TICH}", {"number_start": None}),
        ("/admin/centres/1", {"max_priority_in_row": None}),
        ("/admin/counters/1", {"number": None}),
        ("/admin/priority-groups/1", {"name": None}),
    ]:
        answer = admin.patch(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert "không được để trống" in answer.json()["error"]["message"]
    # Optional columns can be cleared.
    admin.patch(f"/admin/fields/{HO_TICH}", json={"daily_cap": 50})
    assert admin.patch(f"/admin/fields/{HO_TICH}", json={"daily_cap": None}).json()["daily_cap"] is None


def test_numbering_cannot_change_once_the_field_has_issued_today(live: Live) -> None:
    admin = live.admin()
    assert admin.patch(f"/admin/fields/{CHUNG_THUC}", json={"number_start": 2000}).status_code == 200
    live.issue(CHUNG_THUC)
    answer = admin.patch(f"/admin/fields/{CHUNG_THUC}", json={"number_start": 2001})
    assert answer.status_code == 409 and "đã cấp số trong hôm nay" in answer.json()["error"]["message"]
    assert admin.patch(f"/admin/fields/{CHUNG_THUC}", json={"name": "Chứng thực bản sao"}).status_code == 200
    assert live.issue(CHUNG_THUC)["ticket"]["label"] == "2001"
    live.clock.advance(days=1)
    assert live.admin().patch(f"/admin/fields/{CHUNG_THUC}", json={"number_start": 2001}).status_code == 200


def test_deactivating_an_officer_closes_their_counter(live: Live) -> None:
    live.officer("lan.nt", 1)
    admin = live.admin()
    lan = next(o for o in admin.get("/admin/officers").json() if o["username"] == "lan.nt")
    admin.delete(f"/admin/officers/{lan['id']}")
    counter = admin.get("/counters/1/state").json()["counter"]
    assert counter["state"] == "closed" and counter["officer"] is None
