"""Who may do what: sign-in, tokens, roles and centres."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from server.storage import tables
from tests.conftest import CHUNG_THUC, HO_TICH, Live

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases


def error(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.json()["error"]["code"]


def test_wrong_password_and_unknown_user_get_the_same_answer(live: Live) -> None:
    client = live.client()
    wrong = client.post("/auth/login", json={"username": "lan.nt", "password": "sai-mat-khau"})
    unknown = client.post("/auth/login", json={"username": "khong.co", "password": "sai-mat-khau"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."


def test_passwords_and_tokens_are_stored_hashed(live: Live) -> None:
    token = live.login("lan.nt")
    with Session(live.ctx.engine) as session:
        officer = session.exec(select(tables.Officer).where(tables.Officer.username == "lan.nt")).one()
        assert officer.password_hash.startswith("$argon2id$")
        hashes = [s.token_hash for s in session.exec(select(tables.AuthSession))]
        devices = [d.token_hash for d in session.exec(select(tables.Device))]
    assert token not in hashes and len(hashes[0]) == 64
    assert live.devices["kiosk"] not in devices


def test_token_expires(live: Live) -> None:
    client = live.client(live.login("lan.nt"))
    assert client.get("/auth/me").status_code == 200
    live.clock.advance(hours=12, seconds=1)
    answer = client.get("/auth/me")
    assert answer.status_code == 401 and "hết hạn" in answer.json()["error"]["message"]


def test_logout_revokes_the_token_and_closes_the_counter(live: Live) -> None:
    officer = live.officer("lan.nt", 1)
    assert officer.post("/auth/logout").status_code == 204
    assert officer.get("/auth/me").status_code == 401
    assert live.admin().get("/counters/1/state").json()["counter"]["state"] == "closed"


def test_missing_or_bad_token_is_refused(live: Live) -> None:
    assert live.client().post("/tickets", json={"field_id": HO_TICH}).status_code == 401
    assert live.client("hdd_not-a-token").post("/tickets", json={"field_id": HO_TICH}).status_code == 401
    assert live.client("garbage").get("/auth/me").status_code == 401


def test_officer_acts_only_at_the_counter_they_are_signed_in_at(live: Live) -> None:
    live.issue(HO_TICH)
    not_seated = live.officer("lan.nt")
    answer = not_seated.post("/counters/1/call-next")
    assert answer.status_code == 403 and error(answer) == "not_signed_in_at_counter"
    seated = live.officer("hung.tv", 2)
    assert seated.post("/counters/1/call-next").status_code == 403
    assert seated.post("/counters/2/call-next").status_code == 200


def test_signing_in_at_a_counter_takes_it_over(live: Live) -> None:
    first = live.officer("lan.nt", 1)
    second = live.client(live.login("hung.tv"))
    assert second.post("/auth/counter/1").json()["counter_id"] == 1
    live.issue(HO_TICH)
    taken = first.post("/counters/1/call-next")
    assert taken.status_code == 403 and taken.json()["error"]["code"] == "counter_taken_over"
    assert "Trần Văn Hùng" in taken.json()["error"]["message"]
    assert second.post("/counters/1/call-next").status_code == 200
    state = live.admin().get("/counters/1/state").json()
    assert state["counter"]["officer"]["full_name"] == "Trần Văn Hùng"
    assert second.post("/auth/counter/2").status_code == 409  # leave counter 1 first
    assert second.delete("/auth/counter").status_code == 409  # still serving 1001
    second.post("/counters/1/finish")
    assert second.delete("/auth/counter").json()["counter_id"] is None


def test_devices_stay_in_their_role(live: Live) -> None:
    kiosk = live.kiosk()
    display = live.client(live.devices["display"])
    assert error(kiosk.post("/counters/1/call-next")) == "officer_required"
    assert display.post("/tickets", json={"field_id": HO_TICH}).status_code == 403
    assert kiosk.get("/admin/fields").status_code == 403
    assert kiosk.get(f"/fields/{HO_TICH}/queue").status_code == 404
    assert display.get("/centres/1/state").status_code == 200


def test_only_admins_configure(live: Live) -> None:
    officer = live.officer("lan.nt")
    assert officer.get("/admin/officers").status_code == 403
    answer = officer.post("/admin/fields", json={"code": "X", "name": "Thử", "number_start": 8001, "number_end": 8999})
    assert answer.status_code == 403 and answer.json()["error"]["message"] == "Chỉ quản trị viên mới được thay đổi cấu hình."
    assert live.admin().get("/admin/officers").status_code == 200


def test_deactivated_device_is_refused_at_once(live: Live) -> None:
    admin = live.admin()
    kiosk_id = next(d["id"] for d in admin.get("/admin/devices").json() if d["kind"] == "kiosk")
    assert admin.delete(f"/admin/devices/{kiosk_id}").json()["active"] is False
    answer = live.kiosk().post("/tickets", json={"field_id": HO_TICH})
    assert answer.status_code == 401 and "thu hồi" in answer.json()["error"]["message"]


def test_password_reset_signs_the_officer_out_everywhere(live: Live) -> None:
    officer = live.officer("lan.nt", 1)
    admin = live.admin()
    lan = next(o for o in admin.get("/admin/officers").json() if o["username"] == "lan.nt")
    assert admin.patch(f"/admin/officers/{lan['id']}", json={"password": "mat-khau-moi-2026"}).status_code == 200
    assert officer.get("/auth/me").status_code == 401
    assert live.login("lan.nt", password="mat-khau-moi-2026")


def test_deactivated_officer_cannot_sign_in(live: Live) -> None:
    admin = live.admin()
    lan = next(o for o in admin.get("/admin/officers").json() if o["username"] == "lan.nt")
    admin.delete(f"/admin/officers/{lan['id']}")
    assert live.client().post("/auth/login", json={"username": "lan.nt", "password": "demo12345"}).status_code == 401


def test_centres_are_isolated(live: Live) -> None:
    province = live.province_admin()
    other = province.post("/admin/centres", json={"name": "Trung tâm Phục vụ hành chính công xã Tân Lập"}).json()
    field = province.post(
        "/admin/fields",
        json={"centre_id": other["id"], "code": "HT", "name": "Hộ tịch", "number_start": 1001, "number_end": 1999},
    ).json()
    device = province.post("/admin/devices", json={"centre_id": other["id"], "kind": "kiosk", "name": "Máy lấy số"}).json()
    other_kiosk = live.client(device["token"])
    assert other_kiosk.post("/tickets", json={"field_id": field["id"]}).status_code == 201
    # A kiosk of one centre cannot issue in another centre's field, nor read its state.
    assert other_kiosk.post("/tickets", json={"field_id": HO_TICH}).status_code == 404
    assert other_kiosk.get("/centres/1/state").status_code == 404
    assert live.kiosk().post("/tickets", json={"field_id": field["id"]}).status_code == 404
    # The centre's own admin sees only its centre.
    admin = live.admin()
    assert admin.get(f"/admin/fields/{field['id']}").status_code == 404
    assert all(f["centre_id"] == 1 for f in admin.get("/admin/fields").json())
    assert admin.get("/admin/fields", params={"centre_id": other["id"]}).json() == []
    assert admin.patch(f"/admin/centres/{other['id']}", json={"name": "Đổi tên"}).status_code == 404
    assert admin.post("/admin/centres", json={"name": "Trung tâm mới"}).status_code == 403
    # Officers of centre 1 cannot take counters or read tickets of centre 2.
    counter = province.post("/admin/counters", json={"centre_id": other["id"], "number": 1, "field_ids": [field["id"]]}).json()
    officer = live.client(live.login("lan.nt"))
    assert officer.post(f"/auth/counter/{counter['id']}").status_code == 404
    ticket_id = other_kiosk.post("/tickets", json={"field_id": field["id"]}).json()["ticket"]["id"]
    assert officer.get(f"/tickets/{ticket_id}").status_code == 404
    assert officer.get(f"/tickets/{live.issue(CHUNG_THUC)['ticket']['id']}").status_code == 200


def test_public_status_needs_no_sign_in(live: Live) -> None:
    code = live.issue(HO_TICH)["code"]
    assert live.client().get(f"/public/tickets/{code}").status_code == 200
    assert live.client().get("/health").json()["status"] == "ok"


def test_logout_always_revokes_and_pauses_a_counter_still_serving(live: Live) -> None:
    live.issue(HO_TICH)
    officer = live.officer("lan.nt", 1)
    officer.post("/counters/1/call-next")
    assert officer.post("/auth/logout").status_code == 204
    assert officer.get("/auth/me").status_code == 401
    counter = live.admin().get("/counters/1/state").json()["counter"]
    assert counter["state"] == "paused" and counter["current"]["label"] == "1001"
    # The next officer at the desk takes over and finishes the citizen's service.
    successor = live.officer("hung.tv", 1)
    assert successor.post("/counters/1/finish").json()["ticket"]["state"] == "done"


def test_live_feeds_check_many_tokens_in_one_batch(live: Live) -> None:
    """The heartbeat's credential check for many feeds at once gives each token its own answer."""
    from server.services.auth import check_tokens

    admin = live.admin()
    good_officer = live.login("lan.nt")
    signed_out = live.login("hung.tv")
    assert live.client(signed_out).post("/auth/logout").status_code in (200, 204)
    devices = {d["kind"]: d["id"] for d in admin.get("/admin/devices").json()}
    assert admin.delete(f"/admin/devices/{devices['kiosk']}").status_code == 200  # the kiosk is revoked
    live.clock.advance(minutes=5)
    checked_at = live.clock.now()
    results = check_tokens(
        live.ctx,
        [good_officer, signed_out, live.devices["display"], live.devices["kiosk"], "hdd_khongco", "rác"],
    )
    assert results[good_officer] is None and results[live.devices["display"]] is None
    assert results[signed_out] is not None and results[signed_out].code == "invalid_token"
    assert results[live.devices["kiosk"]] is not None and "thu hồi" in results[live.devices["kiosk"]].message
    assert results["hdd_khongco"] is not None and results["rác"] is not None
    live.clock.advance(hours=13)  # past the officers' 12-hour token
    assert check_tokens(live.ctx, [good_officer])[good_officer] is not None
    # The display is seen by the check, as by any request (the console shows it online).
    with Session(live.ctx.engine) as session:
        display = session.get(tables.Device, devices["display"])
        assert display is not None and display.last_seen_at == checked_at
