"""Benchmark: issuing tickets (POST /api/v1/tickets) at concurrency 1 and 16 (and 64 on PostgreSQL).

Run: python bench/issue.py [--quick] [--db sqlite|postgres] [--workers N] [--centres C].
Prints one JSON metric per line on stdout: `issue_rate_c16` … on SQLite (one server process),
`issue_rate_pg_w4_c64` … on PostgreSQL with 4 workers.

Each concurrency level gets its own fresh server (and on PostgreSQL its own fresh database), so a
later phase does not run against a database an earlier one filled, and no field's
999-numbers-a-day range runs out.

Several centres (PostgreSQL; default --centres 8): a province server hosts many centres, and every
command of one centre takes that centre's row lock (SELECT … FOR UPDATE) until it commits, so all
kiosks of one centre issue strictly one after another, however many workers there are. Sending
all of a province's load to the demo centre would measure one lock's throughput, a load no real
centre produces (a commune centre issues a few hundred tickets a day). So extra centres are
created through the admin API by the province administrator, each with the demo's seven fields
and its own kiosk, and request n goes to centre n mod C, field (n div C) mod 7 with that centre's
kiosk token: every field of every centre gets the same share, which is checked against the
fields' daily ranges before the run. On SQLite one write lock serialises everything anyway, so
the default there stays the single demo centre, as before.

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
from typing import Any

import httpx
from _server import API, PROVINCE_ADMIN, Db, Server, emit, log, metric_tag, percentile, running_server

from server.demo import FIELDS as DEMO_FIELDS

FIELD_IDS = range(1, 8)  # the demo centre's seven fields
MAX_PER_CENTRE = 6900  # under 7 fields x 999 numbers a day, so no field answers 409 field_full
DEFAULT_CENTRES = {"sqlite": 1, "postgres": 8}
# Names for the extra centres (centre 1 is the demo's): communes and wards of one province.
CENTRE_NAMES = [
    "Trung tâm Phục vụ hành chính công xã Tân Lập",
    "Trung tâm Phục vụ hành chính công phường Ngọc Hà",
    "Trung tâm Phục vụ hành chính công xã Đông Anh",
    "Trung tâm Phục vụ hành chính công phường Hoàn Kiếm",
    "Trung tâm Phục vụ hành chính công xã Sóc Sơn",
    "Trung tâm Phục vụ hành chính công phường Cầu Giấy",
    "Trung tâm Phục vụ hành chính công xã Thanh Trì",
    "Trung tâm Phục vụ hành chính công phường Long Biên",
    "Trung tâm Phục vụ hành chính công xã Gia Lâm",
    "Trung tâm Phục vụ hành chính công phường Tây Hồ",
    "Trung tâm Phục vụ hành chính công xã Mê Linh",
    "Trung tâm Phục vụ hành chính công phường Hà Đông",
    "Trung tâm Phục vụ hành chính công xã Ba Vì",
    "Trung tâm Phục vụ hành chính công phường Sơn Tây",
    "Trung tâm Phục vụ hành chính công xã Chương Mỹ",
]
REQUEST_TIMEOUT_S = 30.0  # the server's SQLite busy timeout: a slower answer is an error anyway
MAX_LOGGED_ERRORS = 5


@dataclass(frozen=True)
class Phase:
    concurrency: int
    warmup: int
    count: int


FULL = (Phase(concurrency=1, warmup=100, count=1500), Phase(concurrency=16, warmup=200, count=4000))
QUICK = (Phase(concurrency=1, warmup=30, count=300), Phase(concurrency=16, warmup=50, count=800))
# PostgreSQL adds concurrency 64: a province's kiosks at once, spread over the workers.
FULL_PG = (*FULL, Phase(concurrency=64, warmup=500, count=10000))
QUICK_PG = (*QUICK, Phase(concurrency=64, warmup=100, count=1600))


@dataclass(frozen=True)
class Kiosk:
    """One centre's kiosk: its device token and the fields it issues in."""

    token: str
    field_ids: tuple[int, ...]


@dataclass
class Result:
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0  # the server's worker processes, during the measured part
    machine_busy: float = 0.0  # share of all cores' time not idle, during the measured part

    @property
    def succeeded(self) -> int:
        return len(self.latencies_s)


class Tickets:
    """Hands out request numbers to the workers; the number picks the centre and the field
    round-robin, so every field fills evenly and the total stays within their combined capacity."""

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


def _issue_one(client: httpx.Client, kiosks: list[Kiosk], number: int) -> tuple[float, str | None]:
    """One request: its latency and, when it was not a 201, what went wrong."""
    kiosk = kiosks[number % len(kiosks)]
    body = {"field_id": kiosk.field_ids[number // len(kiosks) % len(kiosk.field_ids)]}
    headers = {"Authorization": f"Bearer {kiosk.token}", "Idempotency-Key": uuid.uuid4().hex}
    started = time.perf_counter()
    try:
        response = client.post(f"{API}/tickets", json=body, headers=headers)
    except httpx.HTTPError as error:
        return time.perf_counter() - started, type(error).__name__
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        return elapsed, f"HTTP {response.status_code}: {response.text[:200]}"
    return elapsed, None


def _worker(client: httpx.Client, kiosks: list[Kiosk], tickets: Tickets, result: Result, lock: threading.Lock) -> None:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    while (number := tickets.take()) is not None:
        elapsed, error = _issue_one(client, kiosks, number)
        if error is None:
            latencies.append(elapsed)
        else:
            errors[error] += 1
    # Merged once at the end so the hot loop takes no shared lock per request.
    with lock:
        result.latencies_s.extend(latencies)
        result.errors.update(errors)


def _drive(clients: list[httpx.Client], kiosks: list[Kiosk], tickets: Tickets) -> Result:
    """Keep len(clients) requests in flight until the tickets run out."""
    result = Result()
    lock = threading.Lock()
    threads = [threading.Thread(target=_worker, args=(c, kiosks, tickets, result, lock), daemon=True) for c in clients]
    cpu_before, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - started
    result.client_cpu_s = time.process_time() - cpu_before
    return result


def add_centres(server: Server, count: int) -> list[Kiosk]:
    """The demo centre's kiosk, then `count - 1` more centres made as the province administrator
    does it in the admin console: the centre (open every day, so the run works on a Sunday),
    the demo's seven fields with their number ranges, and a kiosk device."""
    kiosks = [Kiosk(server.kiosk_token, tuple(FIELD_IDS))]
    if count == 1:
        return kiosks
    with httpx.Client(base_url=f"{server.base_url}{API}", timeout=REQUEST_TIMEOUT_S) as http:
        login = http.post("/auth/login", json={"username": PROVINCE_ADMIN[0], "password": PROVINCE_ADMIN[1]})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['token']}"

        def create(path: str, body: dict[str, object]) -> dict[str, Any]:
            response = http.post(f"/admin/{path}", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"POST /admin/{path}: HTTP {response.status_code} {response.text[:300]}")
            return dict(response.json())

        for name in CENTRE_NAMES[: count - 1]:
            centre_id = create("centres", {"name": name, "working_days": "0123456"})["id"]
            field_ids = tuple(
                create(
                    "fields",
                    {
                        "centre_id": centre_id,
                        "code": code,
                        "name": field_name,
                        "number_start": start,
                        "number_end": end,
                        "display_order": order,
                        "default_service_seconds": minutes * 60,
                    },
                )["id"]
                for order, (code, field_name, start, end, minutes) in enumerate(DEMO_FIELDS)
            )
            device = create("devices", {"centre_id": centre_id, "kind": "kiosk", "name": "Máy lấy số sảnh chính"})
            kiosks.append(Kiosk(str(device["token"]), field_ids))
    return kiosks


def run_phase(server: Server, kiosks: list[Kiosk], phase: Phase) -> Result:
    clients = [httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) for _ in range(phase.concurrency)]
    try:
        # Warm-up at the same concurrency: opens the keep-alive connections, fills SQLAlchemy's
        # statement cache and the connection pools, so the measured part is the steady state.
        warmup = _drive(clients, kiosks, Tickets(0, phase.warmup))
        server_cpu_before, machine_before = server.worker_cpu_s(), _machine_cpu()
        result = _drive(clients, kiosks, Tickets(phase.warmup, phase.count))
        result.server_cpu_s = server.worker_cpu_s() - server_cpu_before
        busy, total = (after - before for after, before in zip(_machine_cpu(), machine_before, strict=True))
        result.machine_busy = busy / total if total else 0.0
    finally:
        for client in clients:
            client.close()
    result.errors.update(warmup.errors)
    return result


def _machine_cpu() -> tuple[int, int]:
    """Busy and total jiffies of all cores, from the first line of /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(x) for x in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def report(phase: Phase, result: Result, tag: str) -> None:
    c = phase.concurrency
    latencies_ms = sorted(x * 1000 for x in result.latencies_s)
    rate = result.succeeded / result.wall_s if result.wall_s else 0.0
    emit(f"issue_rate_{tag}c{c}", rate, "tickets/s")
    if not latencies_ms:
        log(f"c{c}: no request succeeded, so no latency figures")
        return
    emit(f"issue_p50_ms_{tag}c{c}", percentile(latencies_ms, 50), "ms")
    emit(f"issue_p99_ms_{tag}c{c}", percentile(latencies_ms, 99), "ms")
    log(
        f"c{c}: {result.succeeded} tickets in {result.wall_s:.2f} s, max {latencies_ms[-1]:.1f} ms; "
        f"client CPU {result.client_cpu_s / result.wall_s:.0%} of a core "
        f"({result.client_cpu_s / max(result.succeeded, 1) * 1e6:.0f} µs per request); "
        f"server CPU {result.server_cpu_s / result.wall_s:.2f} cores "
        f"({result.server_cpu_s / max(result.succeeded, 1) * 1e3:.1f} ms per ticket); "
        f"machine busy {result.machine_busy:.0%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run, well under a minute")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="default: sqlite")
    parser.add_argument("--workers", type=int, default=1, help="server processes (more than 1 needs --db postgres)")
    parser.add_argument(
        "--centres",
        type=int,
        help=f"centres the kiosks are spread over (default: 1 on SQLite, 8 on PostgreSQL; at most {1 + len(CENTRE_NAMES)})",
    )
    args = parser.parse_args(argv)
    db: Db = args.db
    centres = args.centres or DEFAULT_CENTRES[db]
    if args.workers < 1 or (args.workers > 1 and db == "sqlite"):
        parser.error("--workers must be 1 on SQLite (several workers need --db postgres)")
    if not 1 <= centres <= 1 + len(CENTRE_NAMES):
        parser.error(f"--centres must be between 1 and {1 + len(CENTRE_NAMES)}")
    phases = (QUICK if args.quick else FULL) if db == "sqlite" else (QUICK_PG if args.quick else FULL_PG)
    for phase in phases:
        if phase.warmup + phase.count > centres * MAX_PER_CENTRE:
            parser.error(
                f"{phase.warmup + phase.count} tickets are more than {centres} centre(s) can number in a day: use more --centres"
            )
    tag = metric_tag(db, args.workers)
    errors: Counter[str] = Counter()
    for phase in phases:
        log(f"phase: concurrency {phase.concurrency}, {phase.warmup} warm-up + {phase.count} measured")
        log(f"  on {db}, {args.workers} worker(s), {centres} centre(s)")
        with running_server(db, args.workers, province_admin=centres > 1) as server:
            result = run_phase(server, add_centres(server, centres), phase)
        report(phase, result, tag)
        errors.update(result.errors)
    emit(f"issue_errors{'_' + tag.rstrip('_') if tag else ''}", sum(errors.values()), "requests")
    for error, count in errors.most_common(MAX_LOGGED_ERRORS):
        log(f"error x{count}: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
