"""How often one kiosk may take a number. A child tapping for fun, a stuck touch screen or a
script replaying the kiosk's token must not use up a field's numbers for the day; a real rush
is bounded by the printer (a ticket every few seconds) and stays well inside the limits."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    """At most `most` tickets within any `seconds`."""

    seconds: int
    most: int


def wait_before_next(recent: Iterable[datetime], now: datetime, windows: Iterable[Window]) -> int:
    """Whole seconds until one more ticket fits every window; 0 when it fits now. `recent` are the
    issue times of the device's earlier tickets, in any order."""
    times = sorted(recent)
    wait = 0.0
    for window in windows:
        span = timedelta(seconds=window.seconds)
        # A ticket dated after `now` (the clock was put back since) is not counted: counting it
        # would hold the kiosk until the clock caught up.
        inside = [t for t in times if timedelta(0) <= now - t < span]
        if window.most <= 0:
            return math.ceil(window.seconds)
        if len(inside) >= window.most:
            # One more fits once the oldest of the newest `most` has left the window.
            leaving = inside[len(inside) - window.most]
            wait = max(wait, (leaving + span - now).total_seconds())
    return math.ceil(wait)


def wait_text(seconds: int) -> str:
    """How long to wait, as a citizen reads it."""
    if seconds <= 60:
        return f"{max(seconds, 1)} giây"
    return f"{math.ceil(seconds / 60)} phút"


# --- signing in -----------------------------------------------------------------------------------

# Failed sign-ins are remembered this long. Within it, one username from one address may fail
# this many times freely (a mistyped password or two, a Caps Lock); after that every attempt from
# there waits, longer each time, up to MAX_LOGIN_DELAY. Looser limits hold a username tried from
# many addresses (guessing spread out) and an address trying many usernames (a centre behind one
# router has many officers): someone failing on purpose elsewhere does not lock an officer out at
# her own desk unless they fail that often.
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES_PER_PAIR = 5
FREE_FAILURES_PER_USERNAME = 30
FREE_FAILURES_PER_ADDRESS = 50
FIRST_LOGIN_DELAY_SECONDS = 5
MAX_LOGIN_DELAY_SECONDS = 300


def login_wait(failures: Iterable[datetime], free: int, now: datetime) -> int:
    """Whole seconds before the next sign-in may be tried, given the earlier failures (of one
    username or one address): 0 while there have been fewer than `free`; then 5 s after the last
    failure, doubling with every further failure, at most 5 minutes. A guessing script gets a
    handful of tries an hour; an officer who mistyped waits seconds."""
    inside = sorted(t for t in failures if timedelta(0) <= now - t < LOGIN_FAILURE_WINDOW)
    extra = len(inside) - free
    if extra < 0:
        return 0
    delay = min(FIRST_LOGIN_DELAY_SECONDS * 2**extra, MAX_LOGIN_DELAY_SECONDS)
    return max(math.ceil((inside[-1] + timedelta(seconds=delay) - now).total_seconds()), 0)
