"""The pure rules behind the kiosk's rate limit and the sign-in slow-down (server/engine/limits.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.engine.limits import Window, login_wait, wait_before_next, wait_text

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_ticket_fits_while_every_window_has_room() -> None:
    windows = [Window(60, 3), Window(900, 5)]
    assert wait_before_next([], T0, windows) == 0
    assert wait_before_next([at(0), at(10)], at(20), windows) == 0


def test_the_wait_is_until_the_oldest_counted_ticket_leaves_the_window() -> None:
    windows = [Window(60, 3)]
    recent = [at(0), at(10), at(20)]
    assert wait_before_next(recent, at(20), windows) == 40
    assert wait_before_next(recent, at(59.5), windows) == 1  # whole seconds, rounded up
    assert wait_before_next(recent, at(60), windows) == 0
    # Only the newest `most` matter: an older burst that has left the window is forgotten.
    assert wait_before_next([at(-100), *recent], at(20), windows) == 40


def test_tickets_dated_after_now_do_not_count() -> None:
    # The server's clock was put back an hour: the kiosk's tickets of "the last minute" are dated
    # in the future. They must not hold the kiosk until the clock catches up.
    recent = [at(3600 + i) for i in range(3)]
    assert wait_before_next(recent, at(10), [Window(60, 3)]) == 0
    assert login_wait([at(3600 + i) for i in range(10)], 5, at(10)) == 0


def test_the_longest_wait_of_all_windows_wins() -> None:
    windows = [Window(60, 3), Window(900, 4)]
    recent = [at(0), at(100), at(200), at(300)]
    assert wait_before_next(recent, at(310), windows) == 590
    assert wait_before_next(recent, at(310), [Window(60, 0)]) == 60  # a limit of none refuses all


def test_sign_ins_wait_only_after_the_free_failures_then_double() -> None:
    assert login_wait([at(i) for i in range(4)], 5, at(4)) == 0
    assert login_wait([at(i) for i in range(5)], 5, at(4)) == 5
    assert login_wait([at(i) for i in range(5)], 5, at(9)) == 0
    assert login_wait([at(i) for i in range(6)], 5, at(5)) == 10
    assert login_wait([at(i) for i in range(7)], 5, at(6)) == 20
    # At most five minutes, however many failures.
    assert login_wait([at(i) for i in range(40)], 5, at(39)) == 300
    # Failures older than a quarter of an hour are forgotten.
    assert login_wait([at(i) for i in range(5)], 5, at(4 + 15 * 60)) == 0


def test_waits_are_said_in_seconds_then_minutes() -> None:
    assert wait_text(0) == "1 giây"
    assert wait_text(45) == "45 giây"
    assert wait_text(60) == "60 giây"
    assert wait_text(61) == "2 phút"
    assert wait_text(540) == "9 phút"
