"""Benchmark: issuing tickets (POST /api/v1/tickets) at concurrency 1 and 16.

Run: python bench/issue.py [--quick]. Prints one JSON metric per line on stdout.

Each concurrency level gets its own fresh server, so the second phase does not run against a
database the first one filled, and no field's 999-numbers-a-day range runs out.

The load generator is threads with one keep-alive httpx.Client each: on this 2-core machine it
costs about half the client CPU per request of httpx.AsyncClient, and the client shares the cores
with the server, so the cheaper client leaves more for the server.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
from _server import API, Server, emit, log, percentile, running_server

FIELD_IDS = range(1, 8)  # the demo centre's seven fields
MAX_PER_SERVER = 6900  # under 7 fields x 999 numbers a day, so no field answers 409 field_full
REQUEST_TIMEOUT_S = 30.0  # the server's SQLite busy timeout: a slower answer is an error anyway
MAX_LOGGED_ERRORS = 5


@dataclass(frozen=True)
class Phase:
    concurrency: int
    warmup: int
    count: int


FULL = (Phase(concurrency=1, warmup=100, count=1500), Phase(concurrency=16, warmup=200, count=4000))
QUICK = (Phase(concurrency=1, warmup=30, count=300), Phase(concurrency=16, warmup=50, count=800))


@dataclass
class Result:
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def succeeded(self) -> int:
        return len(self.latencies_s)


class Tickets:
    """Hands out request numbers to the workers; the number picks the field round-robin, so the
    7 fields fill evenly and the total stays within their combined capacity."""

    def __init__(self, start: int, count: int) -> None:
        self._next = start
        self._end = start + count
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._end:
                return None
            number = self._next
            self._next += 1
            return number


def _issue_one(client: httpx.Client, number: int) -> tuple[float, str | None]:
    """One request: its latency and, when it was not a 201, what went wrong."""
    body = {"field_id": FIELD_IDS[number % len(FIELD_IDS)]}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    started = time.perf_counter()
    try:
        response = client.post(f"{API}/tickets", json=body, headers=headers)
    except httpx.HTTPError as error:
        return time.perf_counter() - started, type(error).__name__
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        return elapsed, f"HTTP {response.status_code}: {response.text[:200]}"
    return elapsed, None


def _worker(client: httpx.Client, tickets: Tickets, result: Result, lock: threading.Lock) -> None:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    while (number := tickets.take()) is not None:
        elapsed, error = _issue_one(client, number)
        if error is None:
            latencies.append(elapsed)
        else:
            errors[error] += 1
    # Merged once at the end so the hot loop takes no shared lock per request.
    with lock:
        result.latencies_s.extend(latencies)
        result.errors.update(errors)


def _drive(clients: list[httpx.Client], tickets: Tickets) -> Result:
    """Keep len(clients) requests in flight until the tickets run out."""
    result = Result()
    lock = threading.Lock()
    threads = [threading.Thread(target=_worker, args=(c, tickets, result, lock), daemon=True) for c in clients]
    cpu_before, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - started
    result.client_cpu_s = time.process_time() - cpu_before
    return result


def run_phase(server: Server, phase: Phase) -> Result:
    assert phase.warmup + phase.count <= MAX_PER_SERVER, "more tickets than the demo fields can number in a day"
    headers = {"Authorization": f"Bearer {server.kiosk_token}"}
    clients = [
        httpx.Client(base_url=server.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) for _ in range(phase.concurrency)
    ]
    try:
        # Warm-up at the same concurrency: opens the keep-alive connections, fills SQLAlchemy's
        # statement cache and the connection pool, so the measured part is the steady state.
        warmup = _drive(clients, Tickets(0, phase.warmup))
        result = _drive(clients, Tickets(phase.warmup, phase.count))
    finally:
        for client in clients:
            client.close()
    result.errors.update(warmup.errors)
    return result


def report(phase: Phase, result: Result) -> None:
    c = phase.concurrency
    latencies_ms = sorted(x * 1000 for x in result.latencies_s)
    rate = result.succeeded / result.wall_s if result.wall_s else 0.0
    emit(f"issue_rate_c{c}", rate, "tickets/s")
    if not latencies_ms:
        log(f"c{c}: no request succeeded, so no latency figures")
        return
    emit(f"issue_p50_ms_c{c}", percentile(latencies_ms, 50), "ms")
    emit(f"issue_p99_ms_c{c}", percentile(latencies_ms, 99), "ms")
    log(
        f"c{c}: {result.succeeded} tickets in {result.wall_s:.2f} s, max {latencies_ms[-1]:.1f} ms; "
        f"client CPU {result.client_cpu_s / result.wall_s:.0%} of a core "
        f"({result.client_cpu_s / max(result.succeeded, 1) * 1e6:.0f} µs per request)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run, well under a minute")
    args = parser.parse_args(argv)
    errors: Counter[str] = Counter()
    for phase in QUICK if args.quick else FULL:
        log(f"phase: concurrency {phase.concurrency}, {phase.warmup} warm-up + {phase.count} measured")
        with running_server() as server:
            result = run_phase(server, phase)
        report(phase, result)
        errors.update(result.errors)
    emit("issue_errors", sum(errors.values()), "requests")
    for error, count in errors.most_common(MAX_LOGGED_ERRORS):
        log(f"error x{count}: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
