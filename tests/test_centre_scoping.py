"""Many centres on one server: an officer or device of one centre can neither see nor change anything
of another, through any HTTP route or any subscription.

Two centres share one database: the demo centre (A) and a second one (B) set up through the API by
the province administrator, each with an administrator, an officer signed in at counter 1 serving a
called ticket, a kiosk, a display, a counter panel, finished, rated and waiting tickets. Every route
of the app is listed in ROUTES, either probed (PROBES: each actor of one centre sends the request
with the other centre's ids) or exempt with the reason; a route missing from the table fails
test_every_route_is_in_the_scoping_table, so no future route can skip this.

A probe passes when the answer is a refusal (401, 403 or 404 with {"error": {"code", "message"}}),
identical in status and code to the same request with ids that exist nowhere (so the answer does
not even tell that the other centre's thing exists), with none of the other centre's names or
ticket codes in it; a list answers with the caller's own rows only. Around all probes, every row of
every table is compared: nothing changed. Then the same requests succeed for the province
administrator and for the owning centre's own actors, so the refusals are not broken routes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import SQLModel
from starlette.routing import Mount
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server.app import create_app
from server.config import Settings
from server.demo import DEMO_PASSWORD
from server.storage import tables  # noqa: F401  (registers every table in SQLModel.metadata)
from tests.conftest import CHUNG_THUC, HO_TICH, NGUOI_CAO_TUOI, PROVINCE_ADMIN, Live, nothing_more, receive

# Every test here runs against SQLite and against PostgreSQL.
pytestmark = pytest.mark.both_databases

B_NAME = "Trung tâm Phục vụ hành chính công xã Tân Lập"
B_PASSWORD = "tanlap-2026"
# An id no row has: the answer to it is what the other centre's ids must get too.
MISSING = 987_654
TODAY = {"date_from": "2026-11-23", "date_to": "2026-11-23"}

# --- the route table -----------------------------------------------------------------------------

PROBED = "probed"
PAGE_SHELL = "a static page shell: its data comes through the API routes and the websocket checked here, with the page's token"
PUBLIC_CODE = (
    "public by design: the unguessable ticket code is the key and shows that one ticket only "
    "(checked in test_subscriptions_stay_in_their_centre)"
)
VOICE = "the server's one voice pack, shared by every centre; nothing of any centre"
API_DOCS = "the API's description, the same for everyone"

# (method, path) → PROBED, or why the route needs no cross-centre probe. "WS" is a websocket route,
# "MOUNT" a mounted folder of static files.
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): PROBED,
    ("POST", "/api/v1/auth/logout"): "revokes the caller's own token and leaves the counter it holds; takes no id",
    ("GET", "/api/v1/auth/me"): "the caller's own identity, from its token; takes no id",
    ("GET", "/api/v1/auth/me/today"): "the caller's own figures (events recorded with the caller's officer id); takes no id",
    ("POST", "/api/v1/auth/counter/{counter_id}"): PROBED,
    ("DELETE", "/api/v1/auth/counter"): "leaves the counter the caller's token holds, which sign-in keeps in its centre; no id",
    ("POST", "/api/v1/tickets"): PROBED,
    ("GET", "/api/v1/tickets/{ticket_id}"): PROBED,
    ("GET", "/api/v1/public/tickets/{code}"): PUBLIC_CODE,
    ("GET", "/api/v1/fields/{field_id}/queue"): PROBED,
    ("GET", "/api/v1/centres/{centre_id}/state"): PROBED,
    ("GET", "/api/v1/counters/{counter_id}/state"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/call-next"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/call"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/recall"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/start"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/finish"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/no-show"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/transfer"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/cancel"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/pause"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/resume"): PROBED,
    ("POST", "/api/v1/counters/{counter_id}/rating"): PROBED,
    ("POST", "/api/v1/devices/me/status"): "the calling device's own heartbeat and printer state; takes no id",
    ("GET", "/api/v1/admin/centres"): PROBED,
    ("POST", "/api/v1/admin/centres"): PROBED,
    ("GET", "/api/v1/admin/centres/{item_id}"): PROBED,
    ("PATCH", "/api/v1/admin/centres/{item_id}"): PROBED,
    ("DELETE", "/api/v1/admin/centres/{item_id}"): PROBED,
    ("GET", "/api/v1/admin/fields"): PROBED,
    ("POST", "/api/v1/admin/fields"): PROBED,
    ("GET", "/api/v1/admin/fields/{item_id}"): PROBED,
    ("PATCH", "/api/v1/admin/fields/{item_id}"): PROBED,
    ("DELETE", "/api/v1/admin/fields/{item_id}"): PROBED,
    ("GET", "/api/v1/admin/counters"): PROBED,
    ("POST", "/api/v1/admin/counters"): PROBED,
    ("GET", "/api/v1/admin/counters/{item_id}"): PROBED,
    ("PATCH", "/api/v1/admin/counters/{item_id}"): PROBED,
    ("DELETE", "/api/v1/admin/counters/{item_id}"): PROBED,
    ("GET", "/api/v1/admin/officers"): PROBED,
    ("POST", "/api/v1/admin/officers"): PROBED,
    ("GET", "/api/v1/admin/officers/{item_id}"): PROBED,
    ("PATCH", "/api/v1/admin/officers/{item_id}"): PROBED,
    ("DELETE", "/api/v1/admin/officers/{item_id}"): PROBED,
    ("GET", "/api/v1/admin/devices"): PROBED,
    ("POST", "/api/v1/admin/devices"): PROBED,
    ("GET", "/api/v1/admin/devices/{item_id}"): PROBED,
    ("PATCH", "/api/v1/admin/devices/{item_id}"): PROBED,
    ("DELETE", "/api/v1/admin/devices/{item_id}"): PROBED,
    ("GET", "/api/v1/admin/priority-groups"): PROBED,
    ("POST", "/api/v1/admin/priority-groups"): PROBED,
    ("GET", "/api/v1/admin/priority-groups/{item_id}"): PROBED,
    ("PATCH", "/api/v1/admin/priority-groups/{item_id}"): PROBED,
    ("DELETE", "/api/v1/admin/priority-groups/{item_id}"): PROBED,
    ("GET", "/api/v1/reports"): PROBED,
    ("GET", "/api/v1/reports/export.xlsx"): PROBED,
    ("GET", "/api/v1/reports/export.csv"): PROBED,
    ("GET", "/api/v1/health"): "the server's liveness and version; nothing of any centre",
    ("WS", "/api/v1/ws"): "every scope (centre, counter, ticket) in test_subscriptions_stay_in_their_centre",
    ("GET", "/"): "a redirect to /admin",
    ("GET", "/admin"): PAGE_SHELL,
    ("GET", "/admin/dashboard"): PAGE_SHELL,
    ("GET", "/admin/reports"): PAGE_SHELL,
    ("GET", "/board"): PAGE_SHELL,
    ("GET", "/rating"): PAGE_SHELL,
    ("GET", "/t"): "the 'no such ticket' page; takes no code",
    ("GET", "/t/{code:path}"): PUBLIC_CODE,
    ("GET", "/board/time"): "the server's clock; nothing of any centre",
    ("GET", "/voice/pack"): VOICE,
    ("GET", "/voice/call"): VOICE,
    ("GET", "/voice/clips/{file_name:path}"): VOICE,
    ("GET", "/openapi.json"): API_DOCS,
    ("GET", "/docs"): API_DOCS,
    ("GET", "/docs/oauth2-redirect"): API_DOCS,
    ("GET", "/redoc"): API_DOCS,
    ("MOUNT", "/static"): "the pages' scripts, styles and images, the same for every centre",
    ("MOUNT", "/static/fonts"): "the bundled fonts, the same for every centre",
}


# --- the probes ----------------------------------------------------------------------------------

ALL = ("admin", "officer", "kiosk", "display", "panel")
ADMIN_COLLECTIONS = ("centres", "fields", "counters", "officers", "devices", "priority-groups")
NOT_ADMIN = ("officer", "kiosk", "display", "panel")


@dataclass(frozen=True)
class Probe:
    """One request an actor of the attacking centre sends. `{name}` in the path, and any JSON value
    or parameter that is exactly `{name}`, is the victim centre's id of that name; `{own_name}` is
    the attacker's own."""

    method: str
    path: str  # under /api/v1
    attackers: tuple[str, ...]
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    listing: bool = False  # a list: answered, with the attacker's own rows only
    controls: tuple[str, ...] = ()  # who succeeds with the same request: "province" or the victim's own actors


def _admin_probes() -> list[Probe]:
    probes: list[Probe] = []
    for collection in ADMIN_COLLECTIONS:
        probes += [
            Probe("GET", f"/admin/{collection}", ("admin",), listing=True, controls=("province", "admin")),
            Probe(
                "GET", f"/admin/{collection}", ("admin",), params={"centre_id": "{centre}"}, listing=True, controls=("province",)
            ),
            Probe("GET", f"/admin/{collection}", NOT_ADMIN, params={"centre_id": "{centre}"}),
        ]
    # (collection, which of the victim's rows, a change, whether the victim's admin may make it afterwards)
    items: list[tuple[str, str, dict[str, Any], bool]] = [
        ("centres", "centre", {"notice_text": "Chiều nay Trung tâm nghỉ làm việc."}, True),
        ("fields", "field", {"name": "Lĩnh vực đã đổi tên", "daily_cap": 500}, True),
        ("counters", "counter", {"name": "Quầy đã đổi tên", "field_ids": ["{field2}", "{field}"]}, True),
        ("officers", "officer", {"phone": "0900 000 000", "role": "admin"}, True),
        ("officers", "admin_officer", {"password": "mat-khau-moi-2026"}, False),
        ("officers", "province_officer", {"password": "mat-khau-moi-2026"}, False),
        ("devices", "device_kiosk", {"name": "Thiết bị đã đổi tên"}, True),
        ("devices", "device_panel", {"counter_id": "{counter2}"}, False),
        ("devices", "device_display", {"active": False}, False),
        ("priority-groups", "group", {"name": "Nhóm đã đổi tên"}, True),
    ]
    for collection, row, change, admin_may in items:
        readers = ("province",) if row == "province_officer" else ("province", "admin")
        probes += [
            Probe("GET", f"/admin/{collection}/{{{row}}}", ALL, controls=readers),
            Probe(
                "PATCH",
                f"/admin/{collection}/{{{row}}}",
                ("admin", "officer"),
                json=change,
                controls=("admin",) if admin_may else (),
            ),
            Probe("DELETE", f"/admin/{collection}/{{{row}}}", ("admin", "officer")),
        ]
    creators = ("admin", "officer")
    probes += [
        Probe("POST", "/admin/centres", creators, json={"name": "Trung tâm mới lạ"}),
        Probe(
            "POST",
            "/admin/fields",
            creators,
            json={"centre_id": "{centre}", "code": "LA", "name": "Lĩnh vực lạ", "number_start": 8001, "number_end": 8999},
        ),
        Probe("POST", "/admin/counters", creators, json={"centre_id": "{centre}", "number": 9}),
        Probe("POST", "/admin/counters", creators, json={"number": 9, "field_ids": ["{own_field}", "{field}"]}),
        Probe("PATCH", "/admin/counters/{own_counter}", ("admin",), json={"field_ids": ["{own_field}", "{field}"]}),
        Probe(
            "POST",
            "/admin/officers",
            creators,
            json={
                "centre_id": "{centre}",
                "username": "nguoi.la",
                "full_name": "Người Lạ",
                "role": "admin",
                "password": "12345678",
            },
        ),
        Probe("POST", "/admin/devices", creators, json={"centre_id": "{centre}", "kind": "display", "name": "Màn hình lạ"}),
        Probe(
            "POST", "/admin/devices", creators, json={"kind": "counter_panel", "name": "Màn hình lạ", "counter_id": "{counter}"}
        ),
        Probe("PATCH", "/admin/devices/{own_device_panel}", ("admin",), json={"counter_id": "{counter}"}),
        Probe("POST", "/admin/priority-groups", creators, json={"centre_id": "{centre}", "code": "LA", "name": "Nhóm lạ"}),
    ]
    return probes


def _counter_probes() -> list[Probe]:
    probes = [Probe("GET", "/counters/{counter}/state", ALL, controls=("province", "officer", "panel"))]
    for command in ("call-next", "start", "finish", "no-show", "pause", "resume"):
        probes.append(Probe("POST", f"/counters/{{counter}}/{command}", ALL))
    seated = ("officer",)  # signed in at the attacker's own counter 1, serving a called ticket there
    probes += [
        Probe("POST", "/counters/{counter}/recall", ALL, controls=("officer",)),
        Probe("POST", "/counters/{counter}/call", ALL, json={"ticket_id": "{ticket_waiting}"}),
        Probe("POST", "/counters/{own_counter}/call", seated, json={"ticket_id": "{ticket_waiting}"}),
        Probe("POST", "/counters/{counter}/no-show", ALL, json={"requeue": True}),
        Probe("POST", "/counters/{counter}/transfer", ALL, json={"field_id": "{field2}"}),
        Probe("POST", "/counters/{own_counter}/transfer", seated, json={"field_id": "{field}"}),
        Probe("POST", "/counters/{own_counter}/transfer", seated, json={"counter_id": "{counter}"}),
        Probe(
            "POST", "/counters/{own_counter}/transfer", seated, json={"ticket_id": "{ticket_waiting}", "field_id": "{own_field2}"}
        ),
        Probe("POST", "/counters/{counter}/cancel", ALL),
        Probe("POST", "/counters/{counter}/cancel", ALL, json={"ticket_id": "{ticket_waiting}"}),
        Probe("POST", "/counters/{own_counter}/cancel", seated, json={"ticket_id": "{ticket_waiting}"}),
        Probe("POST", "/counters/{counter}/rating", ALL, json={"ticket_id": "{ticket_unrated}", "level": 1}),
        Probe("POST", "/counters/{own_counter}/rating", ("panel", "officer"), json={"ticket_id": "{ticket_unrated}", "level": 1}),
    ]
    return probes


PROBES: list[Probe] = [
    Probe(
        "POST",
        "/auth/login",
        ("anonymous",),
        json={"username": "{own_admin_username}", "password": "{own_password}", "counter_id": "{counter}"},
    ),
    Probe("POST", "/auth/counter/{counter}", ("admin", "officer", "kiosk", "panel")),
    Probe("POST", "/tickets", ("kiosk", "officer", "admin"), json={"field_id": "{field}"}, controls=("kiosk",)),
    Probe("POST", "/tickets", ("kiosk", "officer"), json={"field_id": "{own_field}", "priority_group_id": "{group}"}),
    # The victim's kiosk issued its first ticket with this key and this body: a replay by another
    # centre's kiosk must not hand that ticket out.
    Probe(
        "POST",
        "/tickets",
        ("kiosk",),
        json={"field_id": "{field}", "priority_group_id": None},
        headers={"Idempotency-Key": "{issue_key}"},
    ),
    Probe("GET", "/tickets/{ticket_called}", ALL, controls=("province", "officer")),
    Probe("GET", "/tickets/{ticket_waiting}", ALL, controls=("province", "officer")),
    Probe("GET", "/tickets/{ticket_done}", ALL, controls=("province", "officer")),
    Probe("GET", "/fields/{field}/queue", ALL, controls=("province", "officer", "admin")),
    Probe("GET", "/centres/{centre}/state", ALL, controls=("province", "display", "kiosk", "officer")),
    *_counter_probes(),
    *_admin_probes(),
    Probe("GET", "/reports", ALL, params={**TODAY, "centre_id": "{centre}"}, controls=("province", "admin")),
    Probe("GET", "/reports/export.xlsx", ALL, params={**TODAY, "centre_id": "{centre}"}, controls=("province", "admin")),
    Probe("GET", "/reports/export.csv", ALL, params={**TODAY, "centre_id": "{centre}", "table": "hai-long"}, controls=("admin",)),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def route_of(probe: Probe) -> tuple[str, str]:
    """The ROUTES entry a probe exercises."""
    shapes = {(method, _shape(path)): (method, path) for method, path in ROUTES}
    key = (probe.method, _shape("/api/v1" + probe.path))
    assert key in shapes, f"probe {probe.method} {probe.path} matches no route in ROUTES"
    return shapes[key]


def app_routes(settings: Settings) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: the OpenAPI paths, and everything found by walking the
    routers (pages, websocket, mounts, docs), which OpenAPI leaves out."""
    app = create_app(settings)
    described = {(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations}
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                # This FastAPI keeps included routers as a branch: its prefix, then its own routes.
                walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif isinstance(route, Mount):
                found.add(("MOUNT", prefix + route.path))
            elif getattr(route, "methods", None):
                found.update((method, prefix + route.path) for method in route.methods if method != "HEAD")
            elif type(route).__name__.endswith("WebSocketRoute"):
                found.add(("WS", prefix + route.path))
            else:
                raise AssertionError(f"a route of an unknown kind: {route!r}; teach app_routes about it")

    walk(app.routes, "")
    app.state.ctx.engine.dispose()
    assert described <= found, f"the walk missed routes OpenAPI lists: {sorted(described - found)}"
    return found


def test_every_route_is_in_the_scoping_table(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'routes.sqlite3'}")
    routes = app_routes(settings)
    unlisted = sorted(routes - set(ROUTES))
    assert not unlisted, (
        f"new routes: add each to ROUTES with probes for cross-centre access, or the reason it needs none: {unlisted}"
    )
    stale = sorted(set(ROUTES) - routes)
    assert not stale, f"ROUTES names routes the app no longer has: {stale}"
    probed = {route_of(probe) for probe in PROBES}
    assert all(ROUTES[route] == PROBED for route in probed), [r for r in probed if ROUTES[r] != PROBED]
    unprobed = sorted(route for route, how in ROUTES.items() if how == PROBED and route not in probed)
    assert not unprobed, f"routes marked probed with no probe: {unprobed}"
    assert all(probe.attackers for probe in PROBES)


# --- two centres ---------------------------------------------------------------------------------


@dataclass
class Centre:
    label: str
    name: str = ""
    ids: dict[str, Any] = field(default_factory=dict)  # its things, by the names the probes use
    rows: dict[str, set[int]] = field(default_factory=dict)  # the ids of its rows, by admin collection
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, httpx.Client] = field(default_factory=dict)
    strings: set[str] = field(default_factory=set)  # its names and ticket codes: none may reach the other centre
    waiting_code: str = ""  # the code of a waiting ticket, for its QR page and ticket subscription


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def build_centre_b(province: httpx.Client) -> dict[str, Any]:
    """Centre B, set up the way a province administrator does it, through the API."""
    centre = created(
        province.post(
            "/admin/centres",
            json={"name": B_NAME, "address": "Xã Tân Lập, huyện Đan Phượng, thành phố Hà Nội", "working_days": "0123456"},
        )
    )
    cid = centre["id"]
    tu_phap = created(
        province.post(
            "/admin/fields",
            json={"centre_id": cid, "code": "TP", "name": "Tư pháp", "prefix": "TL", "number_start": 1, "number_end": 999},
        )
    )
    nong_nghiep = created(
        province.post(
            "/admin/fields",
            json={"centre_id": cid, "code": "NN", "name": "Nông nghiệp và Môi trường", "prefix": "NM", "number_end": 999},
        )
    )
    counter = created(province.post("/admin/counters", json={"centre_id": cid, "number": 1, "field_ids": [tu_phap["id"]]}))
    created(
        province.post("/admin/counters", json={"centre_id": cid, "number": 2, "field_ids": [nong_nghiep["id"], tu_phap["id"]]})
    )
    created(province.post("/admin/priority-groups", json={"centre_id": cid, "code": "TB", "name": "Thương binh, bệnh binh"}))
    for username, full_name, role in (("tam.dtt", "Đặng Thị Thanh Tâm", "admin"), ("binh.hv", "Hoàng Văn Bình", "officer")):
        created(
            province.post(
                "/admin/officers",
                json={"centre_id": cid, "username": username, "full_name": full_name, "role": role, "password": B_PASSWORD},
            )
        )
    tokens: dict[str, str] = {}
    for kind, name, counter_id in (
        ("kiosk", "Máy lấy số xã Tân Lập", None),
        ("display", "Màn hình phòng chờ xã Tân Lập", None),
        ("counter_panel", "Màn hình đánh giá quầy 1 xã Tân Lập", counter["id"]),
    ):
        answer = created(
            province.post("/admin/devices", json={"centre_id": cid, "kind": kind, "name": name, "counter_id": counter_id})
        )
        tokens[kind] = answer["token"]
    return {"centre_id": cid, "tokens": tokens}


def describe(live: Live, province: httpx.Client, centre: Centre, centre_id: int, logins: tuple[str, str, str]) -> None:
    """The centre's ids, names and signed-in actors, read back as the province administrator."""
    admin_username, officer_username, password = logins

    def rows(collection: str) -> list[dict[str, Any]]:
        answer = province.get(f"/admin/{collection}", params={"centre_id": centre_id})
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    fields, counters, officers, devices, groups = (
        rows(c) for c in ("fields", "counters", "officers", "devices", "priority-groups")
    )
    # Not every row says its centre (a counter or a priority group does not): lists are judged by ids.
    for collection, listed in zip(ADMIN_COLLECTIONS[1:], (fields, counters, officers, devices, groups), strict=True):
        centre.rows[collection] = {row["id"] for row in listed}
    centre.rows["centres"] = {centre_id}
    counter = next(c for c in counters if c["number"] == 1)
    by_username = {o["username"]: o for o in officers}
    panel = next(d for d in devices if d["kind"] == "counter_panel" and d["counter_id"] == counter["id"])
    province_officer = next(o for o in province.get("/admin/officers").json() if o["username"] == PROVINCE_ADMIN[0])
    centre.ids.update(
        centre=centre_id,
        field=fields[0]["id"],
        field2=fields[1]["id"],
        counter=counter["id"],
        counter2=next(c for c in counters if c["number"] == 2)["id"],
        group=groups[0]["id"],
        officer=by_username[officer_username]["id"],
        admin_officer=by_username[admin_username]["id"],
        province_officer=province_officer["id"],
        device_kiosk=next(d for d in devices if d["kind"] == "kiosk")["id"],
        device_display=next(d for d in devices if d["kind"] == "display")["id"],
        device_panel=panel["id"],
        admin_username=admin_username,
        password=password,
    )
    centre_row = province.get(f"/admin/centres/{centre_id}").json()
    centre.name = centre_row["name"]
    centre.strings |= {centre_row["name"], centre_row["address"]}
    centre.strings |= {row["name"] for row in fields + counters + devices + groups}
    centre.strings |= {o[key] for o in officers for key in ("full_name", "username", "phone")}
    centre.tokens["admin"] = live.login(admin_username, password=password)
    centre.tokens["officer"] = live.login(officer_username, counter["id"], password=password)
    centre.actors = {name: live.client(token) for name, token in centre.tokens.items()}
    centre.actors["anonymous"] = live.client()


def populate(centre: Centre) -> None:
    """A morning at counter 1: a rated ticket, a finished one not yet rated, one called and being
    served, two waiting."""
    kiosk, officer, panel = (centre.actors[name] for name in ("kiosk", "officer", "panel"))
    issued = []
    for n in range(5):
        answer = kiosk.post(
            "/tickets",
            json={"field_id": centre.ids["field"], "priority_group_id": None},
            headers={"Idempotency-Key": f"phieu-{centre.label}-{n}"},
        )
        issued.append(created(answer))
    counter = centre.ids["counter"]

    def command(name: str) -> dict[str, Any]:
        answer = officer.post(f"/counters/{counter}/{name}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    done = command("call-next")["ticket"]
    command("finish")
    rating = panel.post(f"/counters/{counter}/rating", json={"ticket_id": done["id"], "level": 4})
    assert rating.status_code == 200, rating.text
    unrated = command("call-next")["ticket"]
    command("finish")
    called = command("call-next")["ticket"]
    centre.ids.update(
        ticket_done=done["id"],
        ticket_unrated=unrated["id"],
        ticket_called=called["id"],
        ticket_waiting=issued[3]["ticket"]["id"],
        issue_key=f"phieu-{centre.label}-0",
    )
    centre.waiting_code = issued[4]["code"]
    centre.strings |= {t["code"] for t in issued}
    # Labels with letters only: a bare number like 1001 also appears in the other centre's own data.
    centre.strings |= {t["ticket"]["label"] for t in issued if re.search(r"[A-Z]", t["ticket"]["label"])}


def two_centres(live: Live) -> tuple[Centre, Centre, httpx.Client]:
    province = live.province_admin()
    b = build_centre_b(province)
    a, centre_b = Centre("A"), Centre("B")
    a.tokens = {"kiosk": live.devices["kiosk"], "display": live.devices["display"], "panel": live.devices["counter_panel_1"]}
    centre_b.tokens = {"kiosk": b["tokens"]["kiosk"], "display": b["tokens"]["display"], "panel": b["tokens"]["counter_panel"]}
    describe(live, province, a, 1, ("quantri", "lan.nt", DEMO_PASSWORD))
    describe(live, province, centre_b, b["centre_id"], ("tam.dtt", "binh.hv", B_PASSWORD))
    assert (a.ids["field"], a.ids["field2"], a.ids["group"]) == (HO_TICH, CHUNG_THUC, NGUOI_CAO_TUOI)
    populate(a)
    populate(centre_b)
    for centre in (a, centre_b):
        for name in ("display", "panel"):  # seen once, so later reads do not write last_seen_at
            assert centre.actors[name].get("/auth/me").status_code == 200
    return a, centre_b, province


def markers(victim: Centre, attacker: Centre) -> list[str]:
    """The victim's names and codes that cannot turn up in the attacker's own data."""
    return sorted(m for m in victim.strings if len(m) >= 4 and not any(m in own for own in attacker.strings))


# --- sending probes ------------------------------------------------------------------------------


def fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        return ids[whole.group(1)] if whole else value
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def send(client: httpx.Client, probe: Probe, ids: dict[str, Any]) -> httpx.Response:
    path = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), probe.path)
    return client.request(
        probe.method,
        path,
        params=fill(probe.params, ids),
        json=fill(probe.json, ids),
        headers=fill(probe.headers, ids),
    )


def refusal(answer: httpx.Response) -> tuple[int, str] | str:
    """(status, code) of a proper refusal, or what is wrong with the answer."""
    if answer.status_code not in (401, 403, 404):
        return f"answered {answer.status_code}: {answer.text[:300]}"
    try:
        body = answer.json()
    except ValueError:
        return f"refused with a body that is not JSON: {answer.text[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if set(body) != {"error"} or not isinstance(error, dict) or set(error) != {"code", "message"}:
        return f"refused without the error shape: {body}"
    if not (isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]):
        return f"refused with an empty code or message: {body}"
    return answer.status_code, error["code"]


def check_probes(attacker: Centre, victim: Centre, problems: list[str]) -> None:
    """Every probe from each of the attacker's actors, at the victim's ids and at ids that exist nowhere."""
    own = {f"own_{k}": v for k, v in attacker.ids.items()}
    real_ids = {**victim.ids, **own}
    missing_ids = {**{k: MISSING if isinstance(v, int) else v for k, v in victim.ids.items()}, **own}
    leaks = markers(victim, attacker)
    for probe in PROBES:
        for name in probe.attackers:
            client = attacker.actors[name]
            real, missing = send(client, probe, real_ids), send(client, probe, missing_ids)
            where = f"{attacker.label}'s {name} → {probe.method} {real.request.url.raw_path.decode()} {probe.json or ''}"
            leaked = [m for m in leaks if m in real.text]
            if leaked:
                problems.append(f"{where}: the answer holds {victim.label}'s {leaked}: {real.text[:300]}")
            if probe.listing:
                if real.status_code != 200:
                    problems.append(f"{where}: a list answered {real.status_code}: {real.text[:200]}")
                    continue
                collection = probe.path.split("/")[2]
                foreign = [row for row in real.json() if row["id"] not in attacker.rows[collection]]
                if foreign:
                    problems.append(f"{where}: lists rows of another centre: {foreign}")
                if real.json() != missing.json():
                    problems.append(f"{where}: differs from the same list for a centre that does not exist")
                continue
            outcome, expected = refusal(real), refusal(missing)
            if isinstance(outcome, str):
                problems.append(f"{where}: {outcome}")
            elif outcome != expected:
                problems.append(f"{where}: refused as {outcome}, but ids that exist nowhere get {expected}: it tells they exist")


def check_controls(victim: Centre, province: httpx.Client, problems: list[str]) -> None:
    """The refused requests work for those entitled to them."""
    ids = {**victim.ids, **{f"own_{k}": v for k, v in victim.ids.items()}}
    for probe in PROBES:
        for name in probe.controls:
            client = province if name == "province" else victim.actors[name]
            answer = send(client, probe, ids)
            where = f"control: {victim.label}'s {name} → {probe.method} {answer.request.url.raw_path.decode()}"
            if not 200 <= answer.status_code < 300:
                problems.append(f"{where}: answered {answer.status_code}: {answer.text[:300]}")
            elif probe.listing:
                collection = probe.path.split("/")[2]
                if not any(row["id"] in victim.rows[collection] for row in answer.json()):
                    problems.append(f"{where}: lists none of {victim.label}'s rows")


# A refused sign-in is recorded on purpose (repeated failures slow the next attempts down,
# tests/test_abuse.py): that record is the refusal working, not a change to any centre.
NOT_CENTRE_DATA = {"login_failure"}


def database_rows(live: Live) -> dict[str, set[str]]:
    """Every row of every table that holds a centre's data."""
    with live.ctx.engine.connect() as connection:
        return {
            table.name: {repr(tuple(row)) for row in connection.execute(table.select())}
            for table in SQLModel.metadata.sorted_tables
            if table.name not in NOT_CENTRE_DATA
        }


def changes(before: dict[str, set[str]], after: dict[str, set[str]]) -> list[str]:
    found = []
    for name in before:
        if before[name] != after[name]:
            found.append(f"{name}: gone {sorted(before[name] - after[name])}, new {sorted(after[name] - before[name])}")
    return found


def test_no_route_crosses_centres(live: Live) -> None:
    a, b, province = two_centres(live)
    problems: list[str] = []
    before = database_rows(live)
    check_probes(a, b, problems)
    check_probes(b, a, problems)
    changed = changes(before, database_rows(live))
    assert not (problems or changed), "\n".join(
        [f"{len(problems)} cross-centre problems:", *problems, "changes in the database after refused requests:", *changed]
    )
    for victim in (a, b):
        check_controls(victim, province, problems)
    assert not problems, "\n".join(problems)
    # A centre's administrator who leaves the centre out still creates in their own centre, never a
    # province-wide account that would see every centre.
    answer = a.actors["admin"].post(
        "/admin/officers", json={"centre_id": None, "username": "thu.nt", "full_name": "Ngô Thị Thu", "password": "12345678"}
    )
    assert created(answer)["centre_id"] == a.ids["centre"]


# --- subscriptions -------------------------------------------------------------------------------


def subscription_answer(live: Live, request: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The first message to a subscription request, and the close code that follows a refusal."""
    with connect(live.ws_url, open_timeout=10) as ws:
        ws.send(json.dumps(request))
        message = json.loads(ws.recv(timeout=5))
        if message.get("type") != "error":
            return message, None
        try:
            ws.recv(timeout=5)
        except ConnectionClosed as closed:
            return message, closed.rcvd.code if closed.rcvd is not None else None
        return message, None


def check_subscription_refusals(live: Live, attacker: Centre, victim: Centre, problems: list[str]) -> None:
    leaks = markers(victim, attacker)
    requests = [("centre", "centre_id", "centre"), ("counter", "counter_id", "counter"), ("counter", "counter_id", "counter2")]
    for name in ALL:
        for scope, key, target in requests:
            base = {"type": "subscribe", "scope": scope, "token": attacker.tokens[name]}
            real = subscription_answer(live, {**base, key: victim.ids[target]})
            missing = subscription_answer(live, {**base, key: MISSING})
            where = f"{attacker.label}'s {name} subscribes to {scope} {target} of {victim.label}"
            if real[0].get("type") != "error" or real[1] not in (4403, 4404):
                problems.append(f"{where}: got {json.dumps(real[0], ensure_ascii=False)[:300]} (closed {real[1]})")
            elif (real[0]["code"], real[1]) != (missing[0].get("code"), missing[1]):
                problems.append(f"{where}: refused as {real[0]['code']}, but one that exists nowhere as {missing[0].get('code')}")
            leaked = [m for m in leaks if m in json.dumps(real[0], ensure_ascii=False)]
            if leaked:
                problems.append(f"{where}: the refusal holds {leaked}")


def check_public_ticket(live: Live, attacker: Centre, victim: Centre) -> None:
    """A ticket code is the public key to that one ticket: with the victim's code, the attacker's
    device gets that ticket's status, its centre's, and nothing of its own centre."""
    leaks = markers(attacker, victim)
    public = live.client().get(f"/public/tickets/{victim.waiting_code}")
    assert public.status_code == 200, public.text
    ws, snapshot = live.subscribe("ticket", token=attacker.tokens["display"], code=victim.waiting_code)
    with ws:
        assert snapshot["state"] == public.json()
    page = httpx.get(f"{live.base_url}/t/{victim.waiting_code}", timeout=30)
    assert page.status_code == 200 and public.json()["label"] in page.text and victim.name in page.text
    for text in (public.text, page.text):
        assert not [m for m in leaks if m in text]
    assert public.json()["centre_name"] == victim.name


def open_subscriptions(live: Live, centre: Centre) -> list[tuple[str, ClientConnection, int]]:
    """The centre's screens: the waiting room, counter 1 as the officer and as its panel, a citizen's phone."""
    subscriptions = [
        ("centre", live.subscribe("centre", token=centre.tokens["display"])),
        ("counter (officer)", live.subscribe("counter", token=centre.tokens["officer"], counter_id=centre.ids["counter"])),
        ("counter (panel)", live.subscribe("counter", token=centre.tokens["panel"])),
        ("ticket", live.subscribe("ticket", code=centre.waiting_code)),
    ]
    return [(f"{centre.label}'s {name}", ws, int(snapshot["seq"])) for name, (ws, snapshot) in subscriptions]


def a_few_events(centre: Centre) -> list[str]:
    """Five things that happen at a centre; the kinds of the events they make."""
    counter, actors = centre.ids["counter"], centre.actors
    answers = [
        actors["kiosk"].post("/tickets", json={"field_id": centre.ids["field"]}),
        actors["officer"].post(f"/counters/{counter}/finish"),
        actors["panel"].post(f"/counters/{counter}/rating", json={"ticket_id": centre.ids["ticket_called"], "level": 2}),
        actors["officer"].post(f"/counters/{counter}/call-next"),
        actors["admin"].patch(f"/admin/centres/{centre.ids['centre']}", json={"notice_text": "Xin giữ trật tự trong phòng chờ."}),
    ]
    assert all(answer.status_code in (200, 201) for answer in answers), [answer.text for answer in answers]
    return ["ticket.issued", "ticket.finished", "ticket.rated", "ticket.called", "config.updated"]


def test_subscriptions_stay_in_their_centre(live: Live) -> None:
    a, b, _province = two_centres(live)
    problems: list[str] = []
    check_subscription_refusals(live, a, b, problems)
    check_subscription_refusals(live, b, a, problems)
    assert not problems, "\n".join(problems)
    check_public_ticket(live, a, b)
    check_public_ticket(live, b, a)
    # The province administrator follows any centre.
    province_token = live.login(PROVINCE_ADMIN[0], password=PROVINCE_ADMIN[1])
    ws, snapshot = live.subscribe("centre", token=province_token, centre_id=b.ids["centre"])
    with ws:
        assert snapshot["state"]["centre"]["name"] == B_NAME

    screens = {a.label: open_subscriptions(live, a), b.label: open_subscriptions(live, b)}
    try:
        for acting, quiet in ((b, a), (a, b)):
            kinds = a_few_events(acting)
            updated = []
            for name, ws, seq in screens[acting.label]:
                messages = [receive(ws) for _ in kinds]
                assert [m["seq"] for m in messages] == list(range(seq + 1, seq + 1 + len(kinds))), (name, messages)
                if name.endswith("centre"):
                    assert [m["kind"] for m in messages] == kinds
                updated.append((name, ws, seq + len(kinds)))
            screens[acting.label] = updated
            # The acting centre's screens have all five: had any gone to the other centre, it would be here.
            for _name, ws, _seq in screens[quiet.label]:
                nothing_more(ws)
    finally:
        for subscriptions in screens.values():
            for _name, ws, _seq in subscriptions:
                ws.close()
