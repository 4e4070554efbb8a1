"""Abuse: a kiosk hammered with taps cannot use up a field's numbers (a per-device rate limit,
with a clear message on its screen), repeated failed sign-ins are slowed down, and passwords are
stored as argon2id hashes. (Token expiry and revocation, and the websocket's message size limit,
are in tests/test_authorization.py and tests/test_input_limits.py.)"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from pytestqt.qtbot import QtBot
from sqlmodel import Session, col, select

from server.config import Settings
from server.demo import DEMO_PASSWORD
from server.storage import tables
from server.storage.database import writer
from tests.conftest import CHUNG_THUC, HO_TICH, Live, Template, make_settings
from tests.fake_printer import FakePrinter
from tests.test_kiosk import close_kiosk, open_kiosk

# The production defaults (server/config.py), which conftest raises for the other tests.
PER_MINUTE = 20
PER_15_MINUTES = 150
PER_HOUR = 300


@pytest.fixture
def settings(tmp_path: Path, database: Template) -> Settings:
    limits = {"kiosk_tickets_per_minute": PER_MINUTE, "kiosk_tickets_per_15_minutes": PER_15_MINUTES}
    return make_settings(tmp_path, database, **limits, kiosk_tickets_per_hour=PER_HOUR)


def ticket_count(live: Live) -> int:
    with Session(live.ctx.engine) as session:
        return len(session.exec(select(tables.Ticket)).all())


def event_count(live: Live) -> int:
    with Session(live.ctx.engine) as session:
        return len(session.exec(select(tables.Event)).all())


def issued_within(live: Live, seconds: float) -> int:
    """Tickets issued in the last `seconds` by the server's clock."""
    since = live.clock.now() - timedelta(seconds=seconds)
    with Session(live.ctx.engine) as session:
        return len(session.exec(select(tables.Ticket).where(col(tables.Ticket.issued_at) > since)).all())


def take(kiosk: httpx.Client, field_id: int = HO_TICH, key: str | None = None) -> httpx.Response:
    return kiosk.post("/tickets", json={"field_id": field_id}, headers={"Idempotency-Key": key or str(uuid.uuid4())})


# --- the kiosk's rate limit ----------------------------------------------------------------------


@pytest.mark.both_databases
def test_a_hammered_kiosk_is_told_to_wait_and_issues_nothing_more(live: Live) -> None:
    kiosk = live.kiosk()
    first_key = str(uuid.uuid4())
    answers = [take(kiosk, key=first_key)] + [take(kiosk, HO_TICH if i % 2 else CHUNG_THUC) for i in range(PER_MINUTE - 1)]
    assert [a.status_code for a in answers] == [201] * PER_MINUTE
    tickets, events = ticket_count(live), event_count(live)

    refused = take(kiosk)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "too_many_tickets"
    assert error["message"] == ("Máy lấy số vừa cấp nhiều số liên tiếp. Xin vui lòng chờ khoảng 60 giây rồi bấm lấy số lại.")
    assert refused.headers["Retry-After"] == "60"
    # A refused tap takes no number and says nothing to the screens.
    assert (ticket_count(live), event_count(live)) == (tickets, events)
    # A retry of a request that did get a ticket is answered as before: it never counts again.
    again = take(kiosk, key=first_key)
    assert again.status_code == 201 and again.json() == answers[0].json()

    # Another kiosk of the centre (its own token) is not held up, nor is an officer's issue.
    admin = live.admin()
    second = admin.post("/admin/devices", json={"kind": "kiosk", "name": "Máy lấy số tầng 2"}).json()
    other = live.client(second["token"])
    assert take(other).status_code == 201
    assert live.officer("lan.nt").post("/tickets", json={"field_id": HO_TICH}).status_code == 201

    # Half a minute on, still too soon; a minute after the burst, the kiosk has its minute's worth again.
    live.clock.advance(seconds=30)
    assert take(kiosk).headers["Retry-After"] == "30"
    live.clock.advance(seconds=30)
    assert [take(kiosk).status_code for _ in range(PER_MINUTE + 1)] == [201] * PER_MINUTE + [429]


def tap_every(live: Live, kiosk: httpx.Client, seconds: float, taps: int) -> list[int]:
    """A kiosk tapped at a steady pace: the status of each answer."""
    statuses = []
    for _ in range(taps):
        statuses.append(take(kiosk, HO_TICH if len(statuses) % 3 else CHUNG_THUC).status_code)
        live.clock.advance(seconds=seconds)
    return statuses


@pytest.mark.both_databases
def test_a_real_rush_is_never_refused_but_hours_of_hammering_are_held(live: Live) -> None:
    kiosk = live.kiosk()
    # A line of citizens at the opening, a ticket every 6 seconds for a quarter of an hour:
    # tap, print, take the paper. Nothing is refused.
    assert tap_every(live, kiosk, 6, 150) == [201] * 150
    # Someone hammering the screen (a tap a second) then gets the minute's worth and no more …
    hammered = tap_every(live, kiosk, 1, 60)
    assert 0 < hammered.count(201) < PER_MINUTE and hammered.count(429) > 40
    # … and, kept up at the fastest pace the minute allows for most of an hour, the hour's limit
    # binds: never more than 300 in any hour. A field's day has 999 numbers.
    statuses = tap_every(live, kiosk, 3, 20 * 45)
    assert statuses.count(429) > 100
    assert PER_HOUR - PER_MINUTE <= issued_within(live, seconds=3600) <= PER_HOUR


@pytest.mark.both_databases
def test_many_taps_at_once_get_no_more_than_the_limit(live: Live) -> None:
    results: list[int] = []
    barrier = threading.Barrier(30)

    def tap() -> None:
        with httpx.Client(base_url=f"{live.base_url}/api/v1", headers={"Authorization": f"Bearer {live.devices['kiosk']}"}) as k:
            barrier.wait()
            results.append(take(k).status_code)

    threads = [threading.Thread(target=tap) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] * PER_MINUTE + [429] * (30 - PER_MINUTE)
    assert ticket_count(live) == PER_MINUTE


@pytest.fixture
def kiosk_window(qtbot: QtBot, fonts: str, live: Live) -> Iterator[object]:
    with FakePrinter() as printer:
        opened = open_kiosk(qtbot, live.base_url, live.devices["kiosk"], printer.spec)
        yield opened
        close_kiosk(opened)


def test_the_kiosk_screen_says_to_wait(qtbot: QtBot, live: Live, kiosk_window: object) -> None:
    from tests.conftest import screenshot

    kiosk = kiosk_window
    for _ in range(PER_MINUTE):
        live.issue(CHUNG_THUC)
    before = ticket_count(live)
    kiosk.tap(qtbot, HO_TICH)  # type: ignore[attr-defined]
    window = kiosk.window  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: window.toast.isVisible() and "chờ khoảng" in window.toast.text(), timeout=10000)
    assert window.toast.text() == "Máy lấy số vừa cấp nhiều số liên tiếp. Xin vui lòng chờ khoảng 60 giây rồi bấm lấy số lại."
    screenshot(window, "kiosk-rate-limited")
    assert ticket_count(live) == before
    # Still usable once the minute has passed.
    live.clock.advance(seconds=60)
    kiosk.tap(qtbot, HO_TICH)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: ticket_count(live) == before + 1, timeout=10000)


# --- sign-in ----------------------------------------------------------------------------------------


def sign_in(live: Live, username: str, password: str, address: str | None = None, **extra: object) -> httpx.Response:
    """A sign-in; `address` plays another machine (the test server trusts X-Forwarded-For from
    loopback, as a server behind nginx does)."""
    headers = {"X-Forwarded-For": address} if address else {}
    return live.client().post("/auth/login", json={"username": username, "password": password, **extra}, headers=headers)


@pytest.mark.both_databases
def test_repeated_failed_sign_ins_are_slowed_down(live: Live) -> None:
    for _ in range(5):
        answer = sign_in(live, "lan.nt", "doan-thu")
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "bad_credentials"
    # The sixth try waits 5 s after the last failure, even with the right password.
    slowed = sign_in(live, "lan.nt", DEMO_PASSWORD)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "5"
    assert slowed.json()["error"] == {
        "code": "too_many_sign_in_attempts",
        "message": "Đăng nhập sai quá nhiều lần. Xin vui lòng thử lại sau 5 giây.",
    }
    # A refused try is not a failure: it does not make the wait longer.
    assert sign_in(live, "lan.nt", "doan-thu").headers["Retry-After"] == "5"
    live.clock.advance(seconds=5)
    assert sign_in(live, "lan.nt", "doan-thu").status_code == 401
    # Each further failure doubles the wait: 10 s, then 20 s.
    assert sign_in(live, "lan.nt", DEMO_PASSWORD).headers["Retry-After"] == "10"
    live.clock.advance(seconds=10)
    assert sign_in(live, "lan.nt", "doan-thu").status_code == 401
    assert sign_in(live, "lan.nt", DEMO_PASSWORD).headers["Retry-After"] == "20"
    # Other officers are not held up by it.
    assert sign_in(live, "hung.tv", DEMO_PASSWORD).status_code == 200
    # The right password once the wait is over signs in, and forgives the failures.
    live.clock.advance(seconds=20)
    assert sign_in(live, "lan.nt", DEMO_PASSWORD).status_code == 200
    for _ in range(5):
        assert sign_in(live, "lan.nt", "doan-thu").status_code == 401
    # Failures older than a quarter of an hour no longer count.
    live.clock.advance(minutes=16)
    assert sign_in(live, "lan.nt", "doan-thu").status_code == 401


@pytest.mark.both_databases
def test_guessing_usernames_is_slowed_the_same_way(live: Live) -> None:
    # An unknown username is treated exactly like a known one: nothing tells which exist.
    for _ in range(5):
        assert sign_in(live, "khong-ton-tai", "x").status_code == 401
    assert sign_in(live, "khong-ton-tai", "x").status_code == 429
    # One address trying many usernames is slowed after 50 failures, whatever the username (a
    # centre's officers may all come through one router, hence more than for one username).
    for i in range(45):
        assert sign_in(live, f"thu-{i}", "x").status_code == 401
    answer = sign_in(live, "hung.tv", DEMO_PASSWORD)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "5"
    live.clock.advance(seconds=5)
    assert sign_in(live, "hung.tv", DEMO_PASSWORD).status_code == 200


@pytest.mark.both_databases
def test_failing_on_purpose_elsewhere_does_not_lock_an_officer_out_at_her_desk(live: Live) -> None:
    desk = "192.168.1.21"
    # Someone on another machine tries Lan's username, again and again: that machine is slowed …
    for _ in range(5):
        assert sign_in(live, "lan.nt", "doan-thu", "192.168.1.99").status_code == 401
    assert sign_in(live, "lan.nt", "doan-thu", "192.168.1.99").status_code == 429
    # … while Lan signs in at her own desk at once.
    assert sign_in(live, "lan.nt", DEMO_PASSWORD, desk).status_code == 200
    # Guessing spread over many machines is held too: after 30 failures of one username in a
    # quarter of an hour, every attempt at it waits, the desk's included.
    for i in range(25):
        assert sign_in(live, "lan.nt", "doan-thu", f"10.0.0.{i}").status_code == 401
    assert sign_in(live, "lan.nt", DEMO_PASSWORD, desk).status_code == 429
    live.clock.advance(seconds=5)
    assert sign_in(live, "lan.nt", DEMO_PASSWORD, desk).status_code == 200


@pytest.mark.both_databases
def test_a_right_password_never_counts_as_a_failure(live: Live) -> None:
    # The password is right but the counter chosen no longer exists: refused, not a failure.
    for _ in range(6):
        assert sign_in(live, "lan.nt", DEMO_PASSWORD, counter_id=999).status_code == 404
    assert sign_in(live, "lan.nt", DEMO_PASSWORD).status_code == 200


@pytest.mark.both_databases
def test_a_burst_of_guesses_at_once_gets_only_the_free_tries(live: Live) -> None:
    results: list[int] = []
    barrier = threading.Barrier(12)

    def guess() -> None:
        with httpx.Client(base_url=f"{live.base_url}/api/v1") as client:
            barrier.wait()
            results.append(client.post("/auth/login", json={"username": "lan.nt", "password": "doan-thu"}).status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [401] * 5 + [429] * 7


def test_old_failures_are_forgotten_by_the_housekeeping(live: Live) -> None:
    from server.services import maintenance

    sign_in(live, "lan.nt", "doan-thu")
    live.clock.advance(days=1, seconds=1)
    sign_in(live, "lan.nt", "doan-thu")
    assert maintenance.prune_login_failures(live.ctx) == 1
    with Session(live.ctx.engine) as session:
        assert len(session.exec(select(tables.LoginFailure)).all()) == 1


# --- passwords ----------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_and_old_hashes_are_upgraded(live: Live) -> None:
    with Session(writer(live.ctx.engine)) as session:
        hashes = [o.password_hash for o in session.exec(select(tables.Officer)).all()]
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
        assert not any(DEMO_PASSWORD in h for h in hashes)
        # An officer whose hash an older release made with weaker settings …
        lan = session.exec(select(tables.Officer).where(tables.Officer.username == "lan.nt")).one()
        lan.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD)
        session.add(lan)
        session.commit()
    assert sign_in(live, "lan.nt", DEMO_PASSWORD).status_code == 200
    with Session(live.ctx.engine) as session:
        upgraded = session.exec(select(tables.Officer).where(tables.Officer.username == "lan.nt")).one().password_hash
    # … gets today's settings at the next sign-in, and the password still works.
    assert upgraded.startswith("$argon2id$") and "m=8192" not in upgraded and "t=1," not in upgraded
    assert PasswordHasher().verify(upgraded, DEMO_PASSWORD)
    assert sign_in(live, "lan.nt", DEMO_PASSWORD).status_code == 200
