"""Oversized, malformed and hostile input, against a real server: each gets a 4xx with a clear
Vietnamese message in the usual {"error": {"code", "message"}}, and changes nothing.

- Bodies over 1 MB are refused with 413 before they are read in full (server/api/limits.py),
  with or without Content-Length.
- Malformed JSON, JSON of the wrong type, another Content-Type, bytes that are not UTF-8 (in the
  body, the query string and the path), absurd numbers, very long strings and NUL characters
  (which PostgreSQL cannot store) are refused as such.
- On the websocket, a message over the size limit closes that connection only (1009); binary
  frames, text that is not JSON and unknown message types are ignored and the feed goes on.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.api.limits import MAX_BODY_BYTES
from server.cli import WS_MAX_MESSAGE_BYTES
from server.storage import tables  # noqa: F401  (registers every table in SQLModel.metadata)
from tests.conftest import HO_TICH, Live, receive
from tests.test_centre_scoping import database_rows

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases

VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
TOO_LARGE = "Dữ liệu gửi lên quá lớn: mỗi yêu cầu được gửi tối đa 1 MB."


def refused(answer: httpx.Response, status: int, code: str | None = None, message: str | None = None) -> str:
    """The answer is the usual error JSON with that status; returns its message."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert error["code"] and VIETNAMESE.search(error["message"]), error
    if code is not None:
        assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message, error
    return str(error["message"])


@dataclass
class Clients:
    """Who sends the bad requests: signed in (or seen, for devices) before the rows are compared."""

    admin: httpx.Client
    officer: httpx.Client  # signed in at counter 1
    province: httpx.Client
    kiosk: httpx.Client
    panel: httpx.Client  # counter 1's rating tablet
    anonymous: httpx.Client


@pytest.fixture
def clients(live: Live) -> Clients:
    kiosk, panel = live.kiosk(), live.client(live.devices["counter_panel_1"])
    for device in (kiosk, panel):
        assert device.get("/auth/me").status_code == 200  # a device's first request records it as seen
    return Clients(live.admin(), live.officer("lan.nt", 1), live.province_admin(), kiosk, panel, live.client())


@pytest.fixture
def unchanged(live: Live, clients: Clients) -> Iterator[None]:
    """Every row of every table is the same after the test as before it."""
    before = database_rows(live)
    yield
    after = database_rows(live)
    assert after == before, {name: sorted(after[name] ^ before[name]) for name in before if after[name] != before[name]}


# --- bodies over the limit -----------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413(live: Live, clients: Clients, unchanged: None) -> None:
    admin = clients.admin
    huge = {"name": "Trung tâm " + "ễ" * MAX_BODY_BYTES}
    refused(admin.post("/admin/centres", json=huge), 413, "body_too_large", TOO_LARGE)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 64 * 1024
        yield b'"}'

    refused(admin.post("/admin/centres", content=chunks(), headers={"Content-Type": "application/json"}), 413, "body_too_large")
    # Whatever the route and method, and whoever sends it.
    refused(clients.kiosk.post("/tickets", content=b" " * (MAX_BODY_BYTES + 1)), 413, "body_too_large")
    refused(clients.anonymous.request("GET", "/health", content=b"0" * (2 * MAX_BODY_BYTES)), 413, "body_too_large")


def test_a_body_within_the_limit_is_read_as_usual(live: Live, clients: Clients, unchanged: None) -> None:
    admin = clients.admin
    # Just under the limit: read, and refused for what it says, not for its size.
    almost = json.dumps({"name": "x" * (MAX_BODY_BYTES - 100)}).encode()
    assert len(almost) <= MAX_BODY_BYTES
    message = refused(admin.post("/admin/centres", content=almost, headers={"Content-Type": "application/json"}), 422)
    assert message == "Dữ liệu gửi lên không hợp lệ: name: quá dài (nhiều nhất 200 ký tự)"
    # A chunked body within the limit reaches the route whole.
    parts = [b'{"field', b'_id": 9', b"99}"]
    answer = clients.kiosk.post("/tickets", content=iter(parts), headers={"Content-Type": "application/json"})
    refused(answer, 404, "field_not_found")


def test_the_largest_real_request_is_a_few_kilobytes(live: Live) -> None:
    """An administrator's centre form, every text at its longest in Vietnamese (3 bytes a letter):
    far below the limit, and accepted."""
    form = {
        "name": ("Trung tâm Phục vụ hành chính công phường Nguyễn Trãi " * 4)[:200],
        "address": ("Số 1 đường Nguyễn Huệ, phường Bến Nghé, quận Một, Thành phố Hồ Chí Minh; " * 5)[:300],
        "timezone": "Asia/Ho_Chi_Minh",
        "opens_at": "07:30",
        "closes_at": "17:00",
        "working_days": "0123456",
        "max_priority_in_row": 10,
        "rating_levels": 5,
        "notice_text": ("Ễ" * 1000),
        "voice_enabled": True,
        "voice_repeat": 5,
        "voice_digit_by_digit": True,
        "voice_odd_word": "lẻ",
    }
    size = len(json.dumps(form, ensure_ascii=False).encode())
    assert size < 8 * 1024 < MAX_BODY_BYTES // 100
    answer = live.province_admin().post("/admin/centres", json=form)
    assert answer.status_code == 201, answer.text


def _raw_exchange(live: Live, head: bytes, body_parts: list[bytes]) -> bytes:
    """Sends a request's head and some of its body on a raw socket, never the rest, and returns
    the server's answer: it can only come before the body was read in full."""
    port = int(live.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_the_refusal_comes_before_the_body_is_read(live: Live, clients: Clients, unchanged: None) -> None:
    token = live.devices["kiosk"]
    # A gigabyte announced, one kilobyte sent: the answer comes without waiting for the rest.
    head = (
        b"POST /api/v1/tickets HTTP/1.1\r\nHost: hangdoi\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: " + str(2**30).encode() + b"\r\n\r\n"
    )
    answer = _raw_exchange(live, head, [b"{" + b" " * 1023])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": {"code": "body_too_large", "message": TOO_LARGE}}
    # Chunked, no length: answered once the limit is passed, though the body never ends.
    head = (
        b"POST /api/v1/tickets HTTP/1.1\r\nHost: hangdoi\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    answer = _raw_exchange(live, head, [chunk] * (MAX_BODY_BYTES // (64 * 1024) + 1))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"body_too_large" in answer


# --- malformed input -----------------------------------------------------------------------------


def test_malformed_and_mistyped_json_is_refused_clearly(live: Live, clients: Clients, unchanged: None) -> None:
    kiosk, admin = clients.kiosk, clients.admin
    as_json = {"Content-Type": "application/json"}
    invalid = "Dữ liệu gửi lên không hợp lệ: "
    field, hour = f"/admin/fields/{HO_TICH}", "opens_at: phải là giờ dạng HH:MM, từ 00:00 đến 23:59"
    cases: list[tuple[httpx.Response, str]] = [
        (kiosk.post("/tickets", content=b'{"field_id": 1,', headers=as_json), invalid + "nội dung không phải JSON hợp lệ"),
        (kiosk.post("/tickets", content=b"", headers=as_json), invalid + "thiếu nội dung (một đối tượng JSON)"),
        (kiosk.post("/tickets", json=[HO_TICH]), invalid + "nội dung phải là một đối tượng JSON"),
        (kiosk.post("/tickets", json="1"), invalid + "nội dung phải là một đối tượng JSON"),
        (kiosk.post("/tickets", json={"field_id": "1"}), invalid + "field_id: phải là số nguyên"),
        (kiosk.post("/tickets", json={"field_id": True}), invalid + "field_id: phải là số nguyên"),
        (kiosk.post("/tickets", json={"field_id": 1.0}), invalid + "field_id: phải là số nguyên"),
        (kiosk.post("/tickets", content=b'{"field_id": NaN}', headers=as_json), invalid + "field_id: phải là số nguyên"),
        (kiosk.post("/tickets", content=b'{"field_id": 1e999}', headers=as_json), invalid + "field_id: phải là số nguyên"),
        (kiosk.post("/tickets", json={"field_id": HO_TICH, "hack": 1}), invalid + "hack: không được phép gửi"),
        (admin.patch(field, json={"active": "yes"}), invalid + "active: phải là true hoặc false"),
        (admin.patch(field, json={"active": 1}), invalid + "active: phải là true hoặc false"),
        (admin.patch(field, json={"name": None}), invalid + "name không được để trống"),
        (
            admin.post("/admin/fields", json={"code": "X", "name": "X", "number_start": 9, "number_end": 1}),
            invalid + "Số cuối phải lớn hơn hoặc bằng số đầu.",
        ),
        (admin.patch(field, json={"opens_at": 3600}), invalid + hour),
        (admin.patch(field, json={"opens_at": "07:30+07:00"}), invalid + hour),
        (admin.patch(field, json={"opens_at": "24:00"}), invalid + hour),
    ]
    for answer, message in cases:
        refused(answer, 422, "invalid_request", message)


def test_another_content_type_is_refused_clearly(live: Live, clients: Clients, unchanged: None) -> None:
    kiosk = clients.kiosk
    not_json = "Dữ liệu gửi lên phải là JSON (Content-Type: application/json)."
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"):
        answer = kiosk.post("/tickets", content=json.dumps({"field_id": HO_TICH}), headers={"Content-Type": content_type})
        refused(answer, 422, "invalid_request", not_json)
    # Nor is a body without a Content-Type read as JSON.
    refused(kiosk.post("/tickets", content=b'{"field_id": 999}', headers={"Content-Type": ""}), 422, "invalid_request", not_json)


def test_bytes_that_are_not_utf8_are_refused_clearly(live: Live, clients: Clients, unchanged: None) -> None:
    admin = clients.admin
    # In the body: a name in the old Windows Vietnamese code page, a lone continuation byte, a
    # UTF-16 byte order mark. The body cannot be read as text at all (tests/test_api.py has the
    # same answer for the kiosk).
    for body in ('{"code": "TB", "name": "Thương binh"}'.encode("cp1258"), b'{"name": "\x80"}', b"\xff\xfe\x00"):
        answer = admin.post("/admin/priority-groups", content=body, headers={"Content-Type": "application/json"})
        refused(answer, 400, "body_not_utf8", "Nội dung gửi lên không đọc được: cần là JSON viết bằng bảng mã UTF-8.")
    # In the query string and in the path (percent-encoded, as any client sends them).
    message = refused(admin.get("/reports?date_from=%FF%FE&date_to=2026-11-23"), 422)
    assert message.startswith("Từ ngày ")
    refused(admin.get("/tickets/%FF%FE"), 422, "invalid_request", "Dữ liệu gửi lên không hợp lệ: ticket_id: phải là số nguyên")
    refused(clients.anonymous.get("/public/tickets/%FF%FE"), 404)
    refused(
        admin.get("/admin/fields?centre_id=%C3%28"),
        422,
        "invalid_request",
        "Dữ liệu gửi lên không hợp lệ: centre_id: phải là số nguyên",
    )


def test_raw_bytes_that_are_not_utf8_in_the_address_are_refused(live: Live, clients: Clients, unchanged: None) -> None:
    """Not percent-encoded: bytes no browser or client sends, straight on the socket. The HTTP
    server itself (uvicorn; nginx on a province server) refuses such a request line with its own
    plain 400, before the application sees it."""
    token = clients.admin.headers["Authorization"].removeprefix("Bearer ")
    for target in (b"/api/v1/public/tickets/\xff\xfe", b"/api/v1/reports?date_from=\xff&date_to=2026-11-23"):
        head = b"GET " + target + b" HTTP/1.1\r\nHost: hangdoi\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"
        answer = _raw_exchange(live, head, [])
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:300]


def test_absurd_numbers_are_refused_clearly(live: Live, clients: Clients, unchanged: None) -> None:
    huge = 2**70
    officer, admin, kiosk = clients.officer, clients.admin, clients.kiosk
    out_of_range = "Dữ liệu gửi lên không hợp lệ: số hoặc giá trị vượt giới hạn cho phép."
    for answer in (
        kiosk.post("/tickets", json={"field_id": HO_TICH, "priority_group_id": huge}),
        officer.post("/counters/1/call", json={"ticket_id": huge}),
        officer.post(f"/counters/{huge}/call-next"),
        officer.post("/auth/counter/" + str(huge)),
        admin.patch(f"/admin/officers/{huge}", json={"phone": "0912"}),
        admin.delete(f"/admin/devices/{huge}"),
        clients.province.get(f"/admin/counters?centre_id={huge}"),
        admin.get(f"/centres/{huge}/state"),
    ):
        assert answer.status_code in (404, 422), answer.text
        if answer.status_code == 422:
            refused(answer, 422, "value_out_of_range", out_of_range)
        else:
            refused(answer, 404)
    invalid, field = "Dữ liệu gửi lên không hợp lệ: ", f"/admin/fields/{HO_TICH}"
    answer = admin.patch(field, json={"display_order": huge})
    refused(answer, 422, "invalid_request", invalid + "display_order: phải nhỏ hơn hoặc bằng 1000")
    answer = admin.patch(field, json={"number_end": huge})
    refused(answer, 422, "invalid_request", invalid + "number_end: phải nhỏ hơn hoặc bằng 999999")
    answer = clients.panel.post("/counters/1/rating", json={"ticket_id": 1, "level": -huge})
    refused(answer, 422, "invalid_request", invalid + "level: phải lớn hơn hoặc bằng 1")
    # An integer with more digits than Python reads (4300) is no JSON the server takes.
    answer = kiosk.post("/tickets", content=b'{"field_id": 1' + b"0" * 5000 + b"}", headers={"Content-Type": "application/json"})
    refused(answer, answer.status_code)
    assert answer.status_code in (400, 422)


def test_very_long_strings_are_refused_without_being_echoed(live: Live, clients: Clients, unchanged: None) -> None:
    admin = clients.admin
    long_name = "Lĩnh vực " + "ễ" * 100_000
    answer = admin.post("/admin/fields", json={"code": "LV", "name": long_name})
    refused(answer, 422, "invalid_request", "Dữ liệu gửi lên không hợp lệ: name: quá dài (nhiều nhất 200 ký tự)")
    assert len(answer.content) < 2000  # the answer names the problem; it does not send the text back
    answer = clients.anonymous.post("/auth/login", json={"username": "lan.nt", "password": "p" * 100_000})
    refused(answer, 422, "invalid_request", "Dữ liệu gửi lên không hợp lệ: password: quá dài (nhiều nhất 200 ký tự)")
    assert "ppppp" not in answer.text  # nor a password
    answer = admin.get("/reports", params={"date_from": "2026-11-01" * 1000, "date_to": "2026-11-23"})
    refused(answer, 422, "invalid_request", "Dữ liệu gửi lên không hợp lệ: date_from: quá dài (nhiều nhất 32 ký tự)")
    assert len(answer.content) < 2000
    # Deeply nested JSON within the size limit.
    answer = clients.kiosk.post("/tickets", content=b"[" * 100_000 + b"]" * 100_000, headers={"Content-Type": "application/json"})
    refused(answer, answer.status_code)
    assert answer.status_code in (400, 422)


def test_nul_characters_are_refused_on_both_databases(live: Live, clients: Clients, unchanged: None) -> None:
    admin, panel = clients.admin, clients.panel
    nul = "Dữ liệu gửi lên không hợp lệ: {}: không được chứa ký tự NUL (\\x00)"
    cases: list[tuple[httpx.Response, str]] = [
        (admin.post("/admin/priority-groups", json={"code": "TB", "name": "Thương binh\x00"}), nul.format("name")),
        (admin.patch(f"/admin/fields/{HO_TICH}", json={"name": "Hộ\x00tịch"}), nul.format("name")),
        (admin.post("/admin/centres", json={"name": "Trung tâm", "notice_text": "\x00"}), nul.format("notice_text")),
        (admin.patch("/admin/officers/2", json={"phone": "0912\x00"}), nul.format("phone")),
        (clients.anonymous.post("/auth/login", json={"username": "lan.nt\x00", "password": "demo12345"}), nul.format("username")),
        (clients.anonymous.post("/auth/login", json={"username": "lan.nt", "password": "demo\x0012345"}), nul.format("password")),
        (panel.post("/counters/1/rating", json={"ticket_id": 1, "level": 1, "reason": "Chờ lâu\x00"}), nul.format("reason")),
    ]
    for answer, message in cases:
        refused(answer, 422, "invalid_request", message)
    # In the address: the same on SQLite and PostgreSQL (which cannot even compare text with NUL).
    in_address = "Địa chỉ yêu cầu không hợp lệ: không được chứa ký tự NUL (%00)."
    for answer in (
        clients.anonymous.get("/public/tickets/abc%00def"),
        admin.get("/reports?date_from=2026-11-01%00&date_to=2026-11-23"),
        admin.get("/admin/fields?centre_id=1%00"),
    ):
        refused(answer, 422, "nul_character", in_address)


# --- the websocket --------------------------------------------------------------------------------


def _next_event(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = receive(ws, timeout=5)
        if message.get("type") == "event" and message.get("kind") == kind:
            return message


def test_an_oversized_websocket_message_closes_that_connection_only(live: Live) -> None:
    noisy, noisy_snapshot = live.subscribe("centre")
    quiet, quiet_snapshot = live.subscribe("centre")
    with noisy, quiet:
        # Just within the limit: read, and answered.
        padding = WS_MAX_MESSAGE_BYTES - len('{"type": "ping", "padding": ""}')
        noisy.send(json.dumps({"type": "ping", "padding": "x" * padding}))
        assert receive(noisy, skip_pings=False) == {"type": "pong"}
        # One byte over: that connection is closed as "message too big".
        noisy.send("x" * (WS_MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                noisy.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        # The other screen's feed goes on, with no gap.
        live.issue(HO_TICH)
        event = _next_event(quiet, "ticket.issued")
        assert event["seq"] == quiet_snapshot["seq"] + 1
    assert noisy_snapshot["seq"] == quiet_snapshot["seq"]


def test_garbage_on_the_websocket_does_not_break_the_feed(live: Live) -> None:
    ws, snapshot = live.subscribe("centre")
    other, _ = live.subscribe("centre")
    with ws, other:
        for garbage in (
            b"\xff\xfe\x00\x80 not text",  # a binary frame, and not UTF-8
            b"",
            "{not json",
            "",
            "[1, 2]",
            '"subscribe"',
            "null",
            "42",
            '{"type": "hello"}',
            '{"type": 5}',
            '{"type": ["snapshot"]}',
            '{"type": "subscribe", "scope": "centre", "token": "x"}',
            "\x00",
            "[" * 30_000 + "]" * 30_000,  # valid JSON, too deep to read
        ):
            ws.send(garbage)
        ws.send('{"type": "ping"}')
        assert receive(ws, skip_pings=False) == {"type": "pong"}
        live.issue(HO_TICH)
        assert _next_event(ws, "ticket.issued")["seq"] == snapshot["seq"] + 1
        assert _next_event(other, "ticket.issued")["seq"] == snapshot["seq"] + 1


def test_a_subscribe_message_with_a_nul_or_binary_is_refused_clearly(live: Live) -> None:
    for first in (
        json.dumps({"type": "subscribe", "scope": "centre", "token": "hdd\x00x"}),
        json.dumps({"type": "subscribe", "scope": "ticket", "code": "abc\x00"}),
        b"\xff\xfe binary",
        "[" * 30_000 + "]" * 30_000,
    ):
        with connect(live.ws_url) as ws:
            ws.send(first)
            message = json.loads(ws.recv(timeout=5))
            assert message["type"] == "error" and message["code"] == "subscribe_expected", message
            assert VIETNAMESE.search(message["message"])
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4422
    # The feed of a well-formed subscriber is untouched by all that.
    ws, snapshot = live.subscribe("centre")
    with ws:
        live.issue(HO_TICH)
        assert _next_event(ws, "ticket.issued")["seq"] == snapshot["seq"] + 1
