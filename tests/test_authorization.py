"""Who may use what: every route of the app × every kind of caller, within one centre; and the life
of a token (it expires, it can be revoked, it is stored only as a hash).

MATRIX is the policy: for each route (the same keys as ROUTES in test_centre_scoping, which itself
fails when the app grows a route it does not list), the roles that may use it. STEPS are the
requests, in the order they are sent, each against the demo centre with ids that exist and bodies
that are valid. test_every_route_has_a_policy ties the three together.

test_the_matrix walks every step × role once, on one server, and reports every wrong cell at once:

* a role the policy leaves out is refused: 401 when it brings no usable credentials (anonymous, a
  malformed token, an expired or revoked officer token, a revoked device token), 403 or 404 when it
  is signed in but not entitled; always with {"error": {"code", "message"}} and a Vietnamese
  message, and with nothing in the answer that the role could not read through the routes it is
  allowed (no names, phones, ticket codes or labels), and never a token. Every row of every table
  is the same before and after all the refusals (and the refused subscriptions);
* a role the policy allows gets an answer, not a refusal (409 or 422 when the state does not fit
  the command are fine: the request got through), and every step succeeds for at least one role,
  so its ids and body are right;
* the websocket's scopes (WS_SCOPES) the same way: a snapshot, or a refusal closed with 4401, or
  4403/4404;
* afterwards no table holds any of the plain tokens the run handled, only their hashes.

The other centre's ids are not probed here: test_centre_scoping sends every route and subscription
of one centre's officers and devices to the other centre's ids.

The token tests add what tests/test_auth.py and tests/test_heartbeat.py do not already check:

* already elsewhere: the default 12-hour expiry (test_auth.test_token_expires); logout revokes the
  token and closes the counter (test_auth.test_logout_*); a password reset refuses the reset
  officer's one token (test_auth.test_password_reset_signs_the_officer_out_everywhere); a
  deactivated officer cannot sign in again (test_auth.test_deactivated_officer_cannot_sign_in); a
  deactivated device is refused on HTTP (test_auth.test_deactivated_device_is_refused_at_once) and
  its display feed closed with 4401 (test_heartbeat.test_a_revoked_device_loses_its_live_feed); the
  token columns hold hashes (test_auth.test_passwords_and_tokens_are_stored_hashed); one heartbeat
  checks many tokens (test_auth.test_live_feeds_check_many_tokens_in_one_batch);
* here: HANGDOI_TOKEN_TTL_HOURS is honoured to the second and an expired session's live feed is
  closed with 4401; logout revokes only that token (the same officer's other sign-in and its feed
  carry on); a password reset or a deactivation revokes every token of that officer, feeds
  included, and nobody else's, and reactivating the officer does not bring the old tokens back; a
  revoked device token stays revoked (the device cannot be reactivated with it) and a counter
  panel's counter feed is closed; no plain token in any row of any table.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed

from server.config import Settings
from server.demo import DEMO_PASSWORD
from server.storage import tables
from tests.conftest import CHUNG_THUC, HO_TICH, NGUOI_CAO_TUOI, PROVINCE_ADMIN, Live
from tests.test_centre_scoping import ROUTES, app_routes, changes, database_rows, refusal, subscription_answer

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases

TTL_HOURS = 2.0  # not the default 12: the setting must be what counts
HEARTBEAT_SECONDS = 0.5  # a feed silent for three periods is closed: room for a slow request meanwhile


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"heartbeat_seconds": HEARTBEAT_SECONDS, "token_ttl_hours": TTL_HOURS})


# --- the roles -----------------------------------------------------------------------------------

ANONYMOUS = "anonymous"  # no Authorization header
MALFORMED = "malformed"  # a bearer token of no known shape
EXPIRED = "expired"  # the centre administrator's token from a sign-in longer ago than the TTL
REVOKED_OFFICER = "revoked_officer"  # the province administrator's token after logout
REVOKED_DEVICE = "revoked_device"  # a kiosk's token after the admin deactivated the kiosk
KIOSK, DISPLAY, PANEL = "kiosk", "display", "counter_panel"  # the panel is counter 1's
OFFICER = "officer"  # signed in, at no counter
SEATED = "seated"  # an officer signed in at counter 1
ADMIN = "admin"  # the demo centre's administrator
PROVINCE = "province"  # the province administrator (no centre of their own)

ROLES = (ANONYMOUS, MALFORMED, EXPIRED, REVOKED_OFFICER, REVOKED_DEVICE, KIOSK, DISPLAY, PANEL, OFFICER, SEATED, ADMIN, PROVINCE)

NOT_SIGNED_IN = frozenset({ANONYMOUS, MALFORMED, EXPIRED, REVOKED_OFFICER, REVOKED_DEVICE})
DEVICES = frozenset({KIOSK, DISPLAY, PANEL})
OFFICERS = frozenset({OFFICER, SEATED, ADMIN, PROVINCE})  # every officer account, admins included
ADMINS = frozenset({ADMIN, PROVINCE})
ONLY_PROVINCE = frozenset({PROVINCE})
AT_COUNTER_1 = frozenset({SEATED})
SIGNED_IN = DEVICES | OFFICERS
EVERYONE = NOT_SIGNED_IN | SIGNED_IN

# --- the policy ----------------------------------------------------------------------------------

API = "/api/v1"

MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # signing in and out
    ("POST", f"{API}/auth/login"): EVERYONE,  # the body's credentials count, not the header
    ("POST", f"{API}/auth/logout"): OFFICERS,
    ("GET", f"{API}/auth/me"): SIGNED_IN,
    ("GET", f"{API}/auth/me/today"): OFFICERS,
    ("POST", f"{API}/auth/counter/{{counter_id}}"): OFFICERS,
    ("DELETE", f"{API}/auth/counter"): OFFICERS,
    # tickets, and what the screens of the centre read
    ("POST", f"{API}/tickets"): OFFICERS | {KIOSK},
    ("GET", f"{API}/tickets/{{ticket_id}}"): SIGNED_IN,
    ("GET", f"{API}/public/tickets/{{code}}"): EVERYONE,
    ("GET", f"{API}/fields/{{field_id}}/queue"): OFFICERS,
    ("GET", f"{API}/centres/{{centre_id}}/state"): SIGNED_IN,
    ("GET", f"{API}/counters/{{counter_id}}/state"): SIGNED_IN,
    # the counter: only the officer signed in there (and, for ratings, its tablet)
    ("POST", f"{API}/counters/{{counter_id}}/call-next"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/call"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/recall"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/start"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/finish"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/no-show"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/transfer"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/cancel"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/pause"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/resume"): AT_COUNTER_1,
    ("POST", f"{API}/counters/{{counter_id}}/rating"): AT_COUNTER_1 | {PANEL},
    ("POST", f"{API}/devices/me/status"): DEVICES,
    # configuration: administrators; a new centre, or closing one, is the province's
    ("GET", f"{API}/admin/centres"): ADMINS,
    ("POST", f"{API}/admin/centres"): ONLY_PROVINCE,
    ("GET", f"{API}/admin/centres/{{item_id}}"): ADMINS,
    ("PATCH", f"{API}/admin/centres/{{item_id}}"): ADMINS,
    ("DELETE", f"{API}/admin/centres/{{item_id}}"): ONLY_PROVINCE,
    ("GET", f"{API}/admin/fields"): ADMINS,
    ("POST", f"{API}/admin/fields"): ADMINS,
    ("GET", f"{API}/admin/fields/{{item_id}}"): ADMINS,
    ("PATCH", f"{API}/admin/fields/{{item_id}}"): ADMINS,
    ("DELETE", f"{API}/admin/fields/{{item_id}}"): ADMINS,
    ("GET", f"{API}/admin/counters"): ADMINS,
    ("POST", f"{API}/admin/counters"): ADMINS,
    ("GET", f"{API}/admin/counters/{{item_id}}"): ADMINS,
    ("PATCH", f"{API}/admin/counters/{{item_id}}"): ADMINS,
    ("DELETE", f"{API}/admin/counters/{{item_id}}"): ADMINS,
    ("GET", f"{API}/admin/officers"): ADMINS,
    ("POST", f"{API}/admin/officers"): ADMINS,
    ("GET", f"{API}/admin/officers/{{item_id}}"): ADMINS,
    ("PATCH", f"{API}/admin/officers/{{item_id}}"): ADMINS,
    ("DELETE", f"{API}/admin/officers/{{item_id}}"): ADMINS,
    ("GET", f"{API}/admin/devices"): ADMINS,
    ("POST", f"{API}/admin/devices"): ADMINS,
    ("GET", f"{API}/admin/devices/{{item_id}}"): ADMINS,
    ("PATCH", f"{API}/admin/devices/{{item_id}}"): ADMINS,
    ("DELETE", f"{API}/admin/devices/{{item_id}}"): ADMINS,
    ("GET", f"{API}/admin/priority-groups"): ADMINS,
    ("POST", f"{API}/admin/priority-groups"): ADMINS,
    ("GET", f"{API}/admin/priority-groups/{{item_id}}"): ADMINS,
    ("PATCH", f"{API}/admin/priority-groups/{{item_id}}"): ADMINS,
    ("DELETE", f"{API}/admin/priority-groups/{{item_id}}"): ADMINS,
    # reports
    ("GET", f"{API}/reports"): ADMINS,
    ("GET", f"{API}/reports/export.xlsx"): ADMINS,
    ("GET", f"{API}/reports/export.csv"): ADMINS,
    # public: nothing of a centre but what a ticket's code opens; a stale token must not break them
    ("GET", f"{API}/health"): EVERYONE,
    ("WS", f"{API}/ws"): EVERYONE,  # anyone may connect; what each may follow is WS_SCOPES
    ("GET", "/"): EVERYONE,
    ("GET", "/admin"): EVERYONE,
    ("GET", "/admin/dashboard"): EVERYONE,
    ("GET", "/admin/reports"): EVERYONE,
    ("GET", "/board"): EVERYONE,
    ("GET", "/rating"): EVERYONE,
    ("GET", "/t"): EVERYONE,
    ("GET", "/t/{code:path}"): EVERYONE,
    ("GET", "/board/time"): EVERYONE,
    ("GET", "/voice/pack"): EVERYONE,
    ("GET", "/voice/call"): EVERYONE,
    ("GET", "/voice/clips/{file_name:path}"): EVERYONE,
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/redoc"): EVERYONE,
    ("MOUNT", "/static"): EVERYONE,
    ("MOUNT", "/static/fonts"): EVERYONE,
}

# Who may follow what on the websocket (the subscribe message's scope).
WS_SCOPES: dict[str, frozenset[str]] = {
    "centre": SIGNED_IN,  # the waiting room: the centre's screens and officers
    "counter": OFFICERS | {PANEL},  # a counter: its officers, and the panel of that counter only
    "ticket": EVERYONE,  # a citizen's phone: the ticket's code is the key, no token needed
}

# --- the requests --------------------------------------------------------------------------------

TODAY = {"date_from": "2026-11-23", "date_to": "2026-11-23"}


@dataclass(frozen=True)
class Step:
    """One request every role sends. `{name}` in the path, and in any JSON value or parameter, is
    filled from the setup's ids; `{n}` and `{letters}` are unique per role, so two roles may both
    create something. `vary` gives a role other ids (role → {placeholder: id name})."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    vary: dict[str, dict[str, str]] = field(default_factory=dict)
    also_fine: tuple[int, ...] = ()  # what an allowed role may get besides 2xx, 3xx, 409 and 422


def _admin_steps() -> list[Step]:
    """Per collection: the list, one of the centre's rows, a new row, then a change to and the
    deactivation of a spare row made for the purpose (the demo's own rows stay as they are)."""
    tables_ = [
        ("fields", "field", {"centre_id": "{centre}", "code": "X{n}", "name": "Lĩnh vực thử {n}", "prefix": "{letters}"}),
        ("counters", "counter", {"centre_id": "{centre}", "number": "{n}", "field_ids": ["{field}"]}),
        (
            "officers",
            "officer",
            {"centre_id": "{centre}", "username": "thu{n}", "full_name": "Ngô Thị Thu", "password": "mat-khau-2026"},
        ),
        ("devices", "device", {"centre_id": "{centre}", "kind": "display", "name": "Màn hình tầng {n}"}),
        ("priority-groups", "group", {"centre_id": "{centre}", "code": "N{n}", "name": "Nhóm thử {n}"}),
    ]
    changes_ = {
        "fields": {"daily_cap": 300},
        "counters": {"name": "Quầy dự phòng"},
        "officers": {"phone": "0912 000 999"},
        "devices": {"name": "Màn hình dự phòng tầng 2"},
        "priority-groups": {"name": "Nhóm dự phòng đã đổi tên"},
    }
    steps = [
        Step("GET", f"{API}/admin/centres", params={"centre_id": "{centre}"}),
        Step("GET", f"{API}/admin/centres/{{centre}}"),
        Step("PATCH", f"{API}/admin/centres/{{centre}}", json={"notice_text": "Chiều thứ Bảy Trung tâm làm việc đến 17 giờ."}),
        Step("POST", f"{API}/admin/centres", json={"name": "Trung tâm Phục vụ hành chính công số {n}"}),
        # The centre administrator tries to close their own centre; the province closes a spare one.
        Step("DELETE", f"{API}/admin/centres/{{centre}}", vary={PROVINCE: {"centre": "spare_centre"}}),
    ]
    for collection, shown, new in tables_:
        spare = "{spare_" + shown + "}"
        steps += [
            Step("GET", f"{API}/admin/{collection}", params={"centre_id": "{centre}"}),
            Step("GET", f"{API}/admin/{collection}/{{{shown}}}"),
            Step("POST", f"{API}/admin/{collection}", json=new),
            Step("PATCH", f"{API}/admin/{collection}/{spare}", json=changes_[collection]),
            Step("DELETE", f"{API}/admin/{collection}/{spare}"),
        ]
    return steps


COUNTER = f"{API}/counters/{{counter}}"

STEPS: list[Step] = [
    # public pages and files
    Step("GET", "/"),
    Step("GET", "/admin"),
    Step("GET", "/admin/dashboard"),
    Step("GET", "/admin/reports"),
    Step("GET", "/board"),
    Step("GET", "/rating"),
    Step("GET", "/t", also_fine=(404,)),  # the "no such ticket" page, 404 by design
    Step("GET", "/t/{code}"),
    Step("GET", "/board/time"),
    Step("GET", "/voice/pack"),
    Step("GET", "/voice/call", params={"label": "1001", "counter": 1}),
    Step("GET", "/voice/clips/{clip}", also_fine=(404,)),  # the tests build no voice pack
    Step("GET", "/openapi.json"),
    Step("GET", "/docs"),
    Step("GET", "/docs/oauth2-redirect"),
    Step("GET", "/redoc"),
    Step("GET", "/static/admin.css"),
    Step("GET", "/static/fonts/OFL.txt"),
    Step("GET", f"{API}/health"),
    Step("GET", f"{API}/public/tickets/{{code}}"),
    # signing in, reading
    Step("POST", f"{API}/auth/login", json={"username": "mai.lt", "password": DEMO_PASSWORD}),
    Step("GET", f"{API}/auth/me"),
    Step("GET", f"{API}/auth/me/today"),
    Step("POST", f"{API}/tickets", json={"field_id": "{field}"}),
    Step("GET", f"{API}/tickets/{{waiting}}"),
    Step("GET", f"{API}/fields/{{field}}/queue"),
    Step("GET", f"{API}/centres/{{centre}}/state"),
    Step("GET", f"{COUNTER}/state"),
    # counter 1 through its morning, in an order in which each command fits
    Step("POST", f"{COUNTER}/call-next"),
    Step("POST", f"{COUNTER}/recall"),
    Step("POST", f"{COUNTER}/start"),
    Step("POST", f"{COUNTER}/finish"),
    Step("POST", f"{COUNTER}/rating", json={"ticket_id": "{finished}", "level": 4}, vary={SEATED: {"finished": "finished2"}}),
    Step("POST", f"{COUNTER}/call", json={"ticket_id": "{waiting}"}),
    Step("POST", f"{COUNTER}/no-show", json={"requeue": True}),
    Step("POST", f"{COUNTER}/call-next"),
    Step("POST", f"{COUNTER}/transfer", json={"field_id": "{field2}"}),
    Step("POST", f"{COUNTER}/call-next"),
    Step("POST", f"{COUNTER}/cancel"),
    Step("POST", f"{COUNTER}/pause"),
    Step("POST", f"{COUNTER}/resume"),
    Step("POST", f"{API}/devices/me/status", json={"printer_state": "ok"}),
    *_admin_steps(),
    Step("GET", f"{API}/reports", params={**TODAY, "centre_id": "{centre}"}),
    Step("GET", f"{API}/reports/export.xlsx", params={**TODAY, "centre_id": "{centre}"}),
    Step("GET", f"{API}/reports/export.csv", params={**TODAY, "centre_id": "{centre}", "table": "hai-long"}),
    # last, as they change who sits where and end the sessions
    Step("POST", f"{API}/auth/counter/{{free_counter}}"),
    Step("DELETE", f"{API}/auth/counter"),
    Step("POST", f"{API}/auth/logout"),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def route_of(step: Step) -> tuple[str, str]:
    """The MATRIX entry a step exercises: by the path's shape, or the mount that serves it."""
    for method, path in MATRIX:
        if method == step.method and _shape(path) == _shape(step.path):
            return method, path
    mounts = [path for method, path in MATRIX if method == "MOUNT" and step.method == "GET" and step.path.startswith(path + "/")]
    assert mounts, f"{step.method} {step.path} matches no route in MATRIX"
    return "MOUNT", max(mounts, key=len)


def test_every_route_has_a_policy(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'routes.sqlite3'}")
    routes = app_routes(settings)
    assert not sorted(routes - set(MATRIX)), f"routes with no policy in MATRIX: {sorted(routes - set(MATRIX))}"
    assert set(MATRIX) == set(ROUTES), f"MATRIX and test_centre_scoping.ROUTES differ: {sorted(set(MATRIX) ^ set(ROUTES))}"
    stepped = {route_of(step) for step in STEPS}
    unsent = sorted(route for route in MATRIX if route not in stepped and route[0] != "WS")
    assert not unsent, f"routes no step sends: {unsent}"
    assert frozenset(ROLES) == EVERYONE
    assert all(allowed <= EVERYONE for allowed in [*MATRIX.values(), *WS_SCOPES.values()])


# --- the centre and its callers ------------------------------------------------------------------

MALFORMED_TOKEN = "abc.def-not-a-token"
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
TOKEN = re.compile(r"hd[sd]_[A-Za-z0-9_-]{20,}")


@dataclass
class World:
    tokens: dict[str, str | None]  # by role
    ids: dict[str, Any]
    secrets: set[str] = field(default_factory=set)  # the centre's names, phones, usernames, ticket codes and labels
    plain_tokens: set[str] = field(default_factory=set)  # every token handed out during the test


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def build_world(live: Live) -> World:
    """The demo centre with a caller of each role, a spare row of each kind to change and
    deactivate, and counter 1's morning: two tickets finished (to be rated), four waiting."""
    start = live.clock.now()
    live.clock.set(start - timedelta(hours=TTL_HOURS, minutes=1))
    expired = live.login("quantri")
    live.clock.set(start)
    province_token = live.login(PROVINCE_ADMIN[0], password=PROVINCE_ADMIN[1])
    province = live.client(province_token)
    revoked_officer = live.login(PROVINCE_ADMIN[0], password=PROVINCE_ADMIN[1])
    assert live.client(revoked_officer).post("/auth/logout").status_code == 204

    spare_centre = created(province.post("/admin/centres", json={"name": "Trung tâm Phục vụ hành chính công xã Dự Phòng"}))
    spare_field = created(
        province.post(
            "/admin/fields",
            json={"centre_id": 1, "code": "DP", "name": "Lĩnh vực dự phòng", "prefix": "DP", "number_end": 99},
        )
    )
    spare_counter = created(
        province.post("/admin/counters", json={"centre_id": 1, "number": 9, "field_ids": [spare_field["id"]]})
    )
    spare_officer = created(
        province.post(
            "/admin/officers",
            json={
                "centre_id": 1,
                "username": "phong.dv",
                "full_name": "Đỗ Văn Phong",
                "password": "mat-khau-2026",
                "phone": "0912 301 199",
            },
        )
    )
    spare_device = created(province.post("/admin/devices", json={"centre_id": 1, "kind": "display", "name": "Màn hình sảnh phụ"}))
    revoked_kiosk = created(province.post("/admin/devices", json={"centre_id": 1, "kind": "kiosk", "name": "Máy lấy số tầng 2"}))
    assert province.delete(f"/admin/devices/{revoked_kiosk['device']['id']}").status_code == 200
    spare_group = created(province.post("/admin/priority-groups", json={"centre_id": 1, "code": "DP", "name": "Nhóm dự phòng"}))

    tokens: dict[str, str | None] = {
        ANONYMOUS: None,
        MALFORMED: MALFORMED_TOKEN,
        EXPIRED: expired,
        REVOKED_OFFICER: revoked_officer,
        REVOKED_DEVICE: revoked_kiosk["token"],
        KIOSK: live.devices["kiosk"],
        DISPLAY: live.devices["display"],
        PANEL: live.devices["counter_panel_1"],
        OFFICER: live.login("hung.tv"),
        SEATED: live.login("lan.nt", 1),
        ADMIN: live.login("quantri"),
        PROVINCE: province_token,
    }
    # Issued by the officer, not the kiosk: the kiosk's own rate of issuing stays out of this test.
    seated = live.client(tokens[SEATED])
    issued = [created(seated.post("/tickets", json={"field_id": HO_TICH})) for _ in range(6)]
    for _ in range(2):
        for command in ("call-next", "finish"):
            assert seated.post(f"/counters/1/{command}").status_code == 200
    for role in DEVICES:  # seen once now, so no later request of theirs writes last_seen_at
        assert live.client(tokens[role]).get("/auth/me").status_code == 200

    def rows(collection: str) -> list[dict[str, Any]]:
        answer = province.get(f"/admin/{collection}", params={"centre_id": 1})
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    officers, devices, counters, fields = rows("officers"), rows("devices"), rows("counters"), rows("fields")
    by_number = {c["number"]: c["id"] for c in counters}
    ids = {
        "centre": 1,
        "field": HO_TICH,
        "field2": CHUNG_THUC,
        "group": NGUOI_CAO_TUOI,
        "counter": by_number[1],
        "free_counter": by_number[3],
        "officer": next(o["id"] for o in officers if o["username"] == "lan.nt"),
        "device": next(d["id"] for d in devices if d["kind"] == "kiosk" and d["active"]),
        "finished": issued[0]["ticket"]["id"],
        "finished2": issued[1]["ticket"]["id"],
        "waiting": issued[4]["ticket"]["id"],
        "code": issued[5]["code"],
        "clip": "chime.ogg",
        "spare_centre": spare_centre["id"],
        "spare_field": spare_field["id"],
        "spare_counter": spare_counter["id"],
        "spare_officer": spare_officer["id"],
        "spare_device": spare_device["device"]["id"],
        "spare_group": spare_group["id"],
    }
    secrets = {o[key] for o in officers for key in ("full_name", "username", "phone")}
    secrets |= {row["name"] for row in devices + counters + fields}
    secrets |= {issued[0]["centre_name"]} | {t["code"] for t in issued} | {t["ticket"]["label"] for t in issued}
    plain = {t for t in tokens.values() if t and t != MALFORMED_TOKEN} | {spare_device["token"]}
    return World(tokens, ids, {s for s in secrets if len(s) >= 4}, plain)


# --- sending and judging -------------------------------------------------------------------------


def fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        return ids[whole.group(1)] if whole else re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), value)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def send(client: httpx.Client, step: Step, role: str, world: World) -> httpx.Response:
    index = ROLES.index(role)
    ids = {**world.ids, "n": 20 + index, "letters": "Q" + chr(ord("A") + index)}
    ids |= {name: world.ids[other] for name, other in step.vary.get(role, {}).items()}
    return client.request(step.method, fill(step.path, ids), params=fill(step.params, ids), json=fill(step.json, ids))


def text_of(answer: httpx.Response) -> str:
    kind = answer.headers.get("content-type", "")
    return answer.text if kind.startswith(("application/json", "text/")) else ""


def refusal_problems(role: str, answer: httpx.Response) -> list[str]:
    """What is wrong with the answer to a request the role may not make."""
    shape = refusal(answer)
    if isinstance(shape, str):
        return [shape]
    status, _code = shape
    found = []
    if role in NOT_SIGNED_IN and status != 401:
        found.append(f"refused with {status}, but a caller with no usable credentials gets 401: {answer.text[:200]}")
    if role not in NOT_SIGNED_IN and status == 401:
        found.append(f"refused with 401, but the caller is signed in: 403 or 404: {answer.text[:200]}")
    if status == 401 and answer.headers.get("www-authenticate") != "Bearer":
        found.append("a 401 without WWW-Authenticate: Bearer")
    if not VIETNAMESE.search(answer.json()["error"]["message"]):
        found.append(f"the message is not Vietnamese: {answer.text[:200]}")
    return found


@dataclass
class Run:
    problems: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # role, where, text of the answer
    visible: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # role → texts it was allowed
    through: set[int] = field(default_factory=set)  # the steps some allowed role got a success (2xx, 3xx) for

    def seen(self, role: str, text: str, world: World) -> None:
        self.visible[role].append(text)
        world.plain_tokens |= set(TOKEN.findall(text))


def walk_refusals(clients: dict[str, httpx.Client], world: World, run: Run) -> None:
    for step in STEPS:
        allowed = MATRIX[route_of(step)]
        for role in ROLES:
            if role in allowed:
                continue
            answer = send(clients[role], step, role, world)
            where = f"{role} → {step.method} {answer.request.url.raw_path.decode()}"
            run.problems += [f"{where}: {p}" for p in refusal_problems(role, answer)]
            run.refused.append((role, where, answer.text))


def walk_allowed(clients: dict[str, httpx.Client], world: World, run: Run) -> None:
    for index, step in enumerate(STEPS):
        allowed = MATRIX[route_of(step)]
        for role in ROLES:
            if role not in allowed:
                continue
            answer = send(clients[role], step, role, world)
            where = f"{role} → {step.method} {answer.request.url.raw_path.decode()}"
            status = answer.status_code
            if 200 <= status < 400 or status in step.also_fine:
                run.through.add(index)
            elif status not in (409, 422):
                run.problems.append(f"{where}: allowed, but answered {status}: {answer.text[:300]}")
            run.seen(role, text_of(answer), world)
        if index not in run.through:
            run.problems.append(f"{step.method} {step.path}: no allowed role got through (a state or body the step must fix)")


def walk_subscriptions(live: Live, world: World, run: Run) -> None:
    targets = {"centre": {"centre_id": world.ids["centre"]}, "counter": {"counter_id": world.ids["counter"]}}
    targets["ticket"] = {"code": world.ids["code"]}
    for scope, allowed in WS_SCOPES.items():
        for role in ROLES:
            request = {"type": "subscribe", "scope": scope, "token": world.tokens[role], **targets[scope]}
            message, code = subscription_answer(live, request)
            where = f"{role} → subscribe to {scope}"
            text = json.dumps(message, ensure_ascii=False)
            if role in allowed:
                if message.get("type") != "snapshot":
                    run.problems.append(f"{where}: allowed, but got {text[:300]} (closed {code})")
                run.seen(role, text, world)
                continue
            expected = (4401,) if role in NOT_SIGNED_IN else (4403, 4404)
            if message.get("type") != "error" or code not in expected:
                run.problems.append(f"{where}: expected a refusal closed with {expected}, got {text[:300]} (closed {code})")
            elif not VIETNAMESE.search(str(message.get("message", ""))):
                run.problems.append(f"{where}: the refusal's message is not Vietnamese: {text}")
            run.refused.append((role, where, text))


def check_leaks(world: World, run: Run) -> None:
    """A refusal tells nothing the role could not read through what it may use, and no token."""
    for role, where, text in run.refused:
        visible = "\n".join(run.visible[role])
        leaked = [s for s in sorted(world.secrets) if s in text and s not in visible]
        tokens = [t[:12] + "…" for t in world.plain_tokens if t in text]
        if leaked or tokens:
            run.problems.append(f"{where}: the refusal holds {leaked + tokens}: {text[:300]}")


def test_the_matrix(live: Live) -> None:
    world = build_world(live)
    clients = {}
    for role, token in world.tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        clients[role] = httpx.Client(base_url=live.base_url, headers=headers, timeout=30)
    run = Run()
    try:
        before = database_rows(live)
        walk_refusals(clients, world, run)
        walk_subscriptions(live, world, run)
        changed = changes(before, database_rows(live))
        walk_allowed(clients, world, run)
    finally:
        for client in clients.values():
            client.close()
    check_leaks(world, run)
    stored = [
        f"{table}: a plain token ({token[:12]}…)"
        for table, rows in database_rows(live).items()
        for token in world.plain_tokens
        if any(token in row for row in rows)
    ]
    assert not (run.problems or changed or stored), "\n".join(
        [
            f"{len(run.problems)} wrong cells:",
            *run.problems,
            "changes in the database after refused requests:",
            *changed,
            "plain tokens stored:",
            *stored,
        ]
    )
    assert len(world.plain_tokens) > len(world.tokens)  # the tokens handed out by logins and new devices too


# --- tokens: expiry and revocation ---------------------------------------------------------------


class Feed:
    """A live subscription whose pings a thread of its own answers, whatever the test is doing
    meanwhile, so only its credentials can end it."""

    def __init__(self, live: Live, scope: str, token: str | None, **extra: Any) -> None:
        self.ws, _snapshot = live.subscribe(scope, token=token, **extra)
        self.pings = 0
        self.error: dict[str, Any] | None = None
        self.closed_with: int | None = None
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        try:
            while True:
                message = json.loads(self.ws.recv())
                if message.get("type") == "ping":
                    self.pings += 1
                    with contextlib.suppress(ConnectionClosed):  # closing: what it sent last is still to be read
                        self.ws.send('{"type": "pong"}')
                elif message.get("type") == "error":
                    self.error = message
        except ConnectionClosed as closed:
            self.closed_with = closed.rcvd.code if closed.rcvd is not None else None
        finally:
            self.closed.set()

    def close(self) -> None:
        self.ws.close()
        self.thread.join(timeout=10)


def ended_and_stayed(ending: list[Feed], staying: list[Feed], patience: float = 30.0) -> list[str]:
    """Waits until each of `ending` is closed, then until each of `staying` has passed two more
    heartbeats (each of which checked its token). What went wrong, if anything. `patience` only
    bounds the wait; nothing is timed."""
    for feed in ending:
        feed.closed.wait(timeout=patience)
    marks = [feed.pings for feed in staying]
    for _ in range(int(patience / 0.05)):
        if all(feed.closed.is_set() or feed.pings >= mark + 2 for feed, mark in zip(staying, marks, strict=True)):
            break
        time.sleep(0.05)
    found = []
    for n, feed in enumerate(ending):
        code = (feed.error or {}).get("code")
        if not (feed.closed.is_set() and feed.closed_with == 4401 and code == "invalid_token"):
            found.append(f"ending feed {n}: closed with {feed.closed_with}, error {feed.error}")
    for n, (feed, mark) in enumerate(zip(staying, marks, strict=True)):
        if feed.closed.is_set() or feed.error is not None:
            found.append(f"staying feed {n}: closed with {feed.closed_with}, error {feed.error}")
        elif feed.pings < mark + 2:
            # Without two heartbeats since, its token was never checked again: nothing was shown.
            found.append(f"staying feed {n}: only {feed.pings - mark} heartbeats in {patience:.0f} s")
    for feed in [*ending, *staying]:
        feed.close()
    return found


def me(live: Live, token: str) -> int:
    return live.client(token).get("/auth/me").status_code


def test_a_sign_in_lasts_the_configured_hours_and_its_feed_then_ends(live: Live) -> None:
    answer = live.client().post("/auth/login", json={"username": "lan.nt", "password": DEMO_PASSWORD, "counter_id": 1})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert datetime.fromisoformat(answer.json()["expires_at"]) == live.clock.now() + timedelta(hours=TTL_HOURS)
    live.clock.advance(hours=TTL_HOURS, seconds=-1)
    assert me(live, token) == 200
    later = live.login("hung.tv")  # signed in an hour and 59 minutes later: still good after lan.nt's ends
    feeds = [Feed(live, "counter", token, counter_id=1), Feed(live, "centre", later), Feed(live, "centre", None)]
    live.clock.advance(seconds=1)
    refused = live.client(token).get("/auth/me")
    assert refused.status_code == 401 and "hết hạn" in refused.json()["error"]["message"]
    assert me(live, later) == 200
    assert not ended_and_stayed(feeds[:1], feeds[1:])


def test_logout_revokes_only_that_token(live: Live) -> None:
    at_counter = live.login("lan.nt", 1)
    on_phone = live.login("lan.nt")  # the same officer, signed in on a second device
    colleague = live.login("hung.tv")
    feeds = [Feed(live, "counter", at_counter, counter_id=1), Feed(live, "counter", on_phone, counter_id=1)]
    feeds.append(Feed(live, "centre", colleague))
    assert live.client(at_counter).post("/auth/logout").status_code == 204
    assert (me(live, at_counter), me(live, on_phone), me(live, colleague)) == (401, 200, 200)
    assert live.client(at_counter).post("/auth/logout").status_code == 401
    assert not ended_and_stayed(feeds[:1], feeds[1:])
    with Session(live.ctx.engine) as session:
        revoked = [s.revoked_at is not None for s in session.exec(select(tables.AuthSession).order_by(tables.AuthSession.id))]
    assert revoked == [True, False, False]


def test_a_password_reset_or_a_deactivation_revokes_every_token_of_that_officer_only(live: Live) -> None:
    admin_token = live.login("quantri")
    admin = live.client(admin_token)
    officers = {o["username"]: o["id"] for o in admin.get("/admin/officers").json()}
    lan = [live.login("lan.nt", 1), live.login("lan.nt")]
    hung = [live.login("hung.tv", 2), live.login("hung.tv")]
    lan_feeds = [Feed(live, "counter", lan[0], counter_id=1), Feed(live, "centre", lan[1])]
    hung_feeds = [Feed(live, "counter", hung[0], counter_id=2), Feed(live, "centre", hung[1])]
    display = Feed(live, "centre", None)

    reset = admin.patch(f"/admin/officers/{officers['lan.nt']}", json={"password": "mat-khau-moi-2026"})
    assert reset.status_code == 200, reset.text
    assert [me(live, t) for t in [*lan, *hung, admin_token]] == [401, 401, 200, 200, 200]
    assert not ended_and_stayed(lan_feeds, [*hung_feeds, display])

    hung_feeds = [Feed(live, "counter", hung[0], counter_id=2), Feed(live, "centre", hung[1])]
    display = Feed(live, "centre", None)
    assert admin.delete(f"/admin/officers/{officers['hung.tv']}").status_code == 200
    assert [me(live, t) for t in [*hung, admin_token]] == [401, 401, 200]
    assert not ended_and_stayed(hung_feeds, [display])
    # Back at work: a fresh sign-in works, the old tokens stay dead.
    assert admin.patch(f"/admin/officers/{officers['hung.tv']}", json={"active": True}).status_code == 200
    assert me(live, live.login("hung.tv")) == 200
    assert [me(live, t) for t in hung] == [401, 401]


def test_a_revoked_device_token_stays_revoked(live: Live) -> None:
    admin = live.admin()
    devices = {d["name"]: d["id"] for d in admin.get("/admin/devices").json()}
    panel_token = live.devices["counter_panel_1"]
    feeds = [Feed(live, "counter", panel_token), Feed(live, "counter", live.devices["counter_panel_2"])]
    feeds.append(Feed(live, "centre", live.devices["display"]))
    assert admin.delete(f"/admin/devices/{devices['Màn hình quầy 1']}").status_code == 200
    assert (me(live, panel_token), me(live, live.devices["counter_panel_2"])) == (401, 200)
    assert not ended_and_stayed(feeds[:1], feeds[1:])
    # The console shows the token as revoked ("Mã đã thu hồi"): the API cannot bring it back either.
    again = admin.patch(f"/admin/devices/{devices['Màn hình quầy 1']}", json={"active": True})
    assert again.status_code == 409 and VIETNAMESE.search(again.json()["error"]["message"]), again.text
    assert me(live, panel_token) == 401
