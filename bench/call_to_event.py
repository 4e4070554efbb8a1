"""Benchmark: from a counter's "call next" to every subscribed screen holding the event.

Run: python bench/call_to_event.py [--quick] [--db sqlite|postgres] [--workers N]. Prints one
JSON metric per line on stdout: `call_to_event_p99_ms_50subs` … on SQLite (one server process),
`call_to_event_p99_ms_pg_w4_50subs` … on PostgreSQL with 4 workers. With several workers the
officer's command and each subscriber may land on different workers, so the figure includes the
hop between workers (PostgreSQL LISTEN/NOTIFY).

One process holds the officer's HTTP client and the websocket subscribers (the `websockets`
library, asyncio), so both ends of each measurement use the same time.perf_counter clock: the
start is taken just before the call-next request is sent, the end in each subscriber's receiving
task as soon as the frame is read.

A cycle is call-next, finish, and one new ticket from the kiosk; each step waits until every
subscriber has its event, so cycles never overlap. The new ticket keeps the counter's queue at
QUEUE_DEPTH: call-next's cost grows with the queue, so a fixed depth makes --quick and the full
run measure the same thing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from _server import API, Db, Server, emit, log, metric_tag, percentile, running_server
from websockets.asyncio.client import ClientConnection, connect

OFFICER = "lan.nt"
COUNTER_ID = 1
COUNTER_FIELDS = (1, 2)  # what counter 1 of the demo centre serves
FIELD_CAPACITY = 999  # numbers per field per day in the demo centre
QUEUE_DEPTH = 100  # waiting tickets at the counter: a busy morning at a commune centre
EVENT_TIMEOUT_S = 5.0  # an event this late is counted as missed
HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Phase:
    subscribers: int
    warmup: int
    calls: int


FULL = (Phase(subscribers=1, warmup=20, calls=300), Phase(subscribers=50, warmup=20, calls=300))
QUICK = (Phase(subscribers=1, warmup=5, calls=60), Phase(subscribers=50, warmup=5, calls=60))


@dataclass
class PhaseResult:
    latencies_s: list[float] = field(default_factory=list)  # per subscriber per call
    answers_s: list[float] = field(default_factory=list)  # call-next's HTTP answer, per call
    spreads_s: list[float] = field(default_factory=list)  # last minus first subscriber, per call


@dataclass
class Problems:
    """Everything that should not happen: unexpected HTTP answers, missed or out-of-order events."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, what: str) -> None:
        self.counts[what] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Arrivals:
    """Receive times of each (event kind, ticket id), and a signal once every subscriber has it."""

    def __init__(self, subscribers: int) -> None:
        self.subscribers = subscribers
        self._times: dict[tuple[str, int], list[float]] = defaultdict(list)
        self._complete: dict[tuple[str, int], asyncio.Event] = defaultdict(asyncio.Event)

    def seen(self, kind: str, ticket_id: int, at: float) -> None:
        times = self._times[(kind, ticket_id)]
        times.append(at)
        if len(times) == self.subscribers:
            self._complete[(kind, ticket_id)].set()

    async def all_of(self, kind: str, ticket_id: int) -> list[float]:
        """The receive times once every subscriber has the event, or those there are at the timeout."""
        key = (kind, ticket_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._complete[key].wait(), EVENT_TIMEOUT_S)
        self._complete.pop(key, None)
        return self._times.pop(key, [])


@dataclass
class Bench:
    """What every step needs: the server, one HTTP client, the officer's token, the tally."""

    server: Server
    http: httpx.AsyncClient
    problems: Problems
    officer: str = ""
    issued: int = 0

    async def post(self, path: str, token: str, body: object, expected: int) -> dict[str, Any] | None:
        # A fresh Idempotency-Key each time, as a real kiosk or counter sends: the server's real path.
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        response = await self.http.post(f"{API}{path}", json=body, headers=headers)
        if response.status_code != expected:
            self.problems.add(f"POST {path}: HTTP {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    async def issue(self) -> int | None:
        """One ticket, alternating between the counter's two fields; its id."""
        body = {"field_id": COUNTER_FIELDS[self.issued % len(COUNTER_FIELDS)]}
        self.issued += 1
        answer = await self.post("/tickets", self.server.kiosk_token, body, 201)
        return int(answer["ticket"]["id"]) if answer else None

    async def login(self) -> None:
        body = {"username": OFFICER, "password": self.server.password, "counter_id": COUNTER_ID}
        response = await self.http.post(f"{API}/auth/login", json=body)
        response.raise_for_status()
        self.officer = str(response.json()["token"])

    async def counter(self, command: str) -> dict[str, Any] | None:
        return await self.post(f"/counters/{COUNTER_ID}/{command}", self.officer, None, 200)


async def _receive(ws: ClientConnection, seq: int, arrivals: Arrivals, problems: Problems) -> None:
    """One subscriber's receiving task: timestamp first, so parsing is not in the measurement."""
    async for raw in ws:
        at = time.perf_counter()
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "ping":
            await ws.send('{"type":"pong"}')  # keeps the server's heartbeat from closing us
        elif kind == "event":
            if message["seq"] != seq + 1:
                problems.add(f"event seq {message['seq']} after {seq}")
            seq = message["seq"]
            ticket = message.get("ticket") or {}
            if ticket.get("id") is not None:
                arrivals.seen(message["kind"], ticket["id"], at)
        else:
            problems.add(f"unexpected message type {kind!r}")


async def _subscribe(server: Server) -> tuple[ClientConnection, int]:
    """A centre subscription with the display token, up to its snapshot; returns the snapshot seq.
    Default websocket options, so permessage-deflate is on, as a browser display negotiates it."""
    ws = await connect(server.ws_url)
    await ws.send(json.dumps({"type": "subscribe", "scope": "centre", "token": server.display_token}))
    snapshot = json.loads(await ws.recv())
    if snapshot.get("type") != "snapshot":
        await ws.close()
        raise RuntimeError(f"expected a snapshot, got {snapshot}")
    return ws, int(snapshot["seq"])


async def _all_received(arrivals: Arrivals, kind: str, ticket_id: int, problems: Problems) -> list[float]:
    received = await arrivals.all_of(kind, ticket_id)
    if len(received) < arrivals.subscribers:
        problems.add(f"{kind} missed by {arrivals.subscribers - len(received)} subscriber(s)")
    return received


async def cycle(bench: Bench, arrivals: Arrivals, result: PhaseResult) -> None:
    """Call next, finish, issue a replacement ticket; adds the call's latency per subscriber."""
    started = time.perf_counter()
    called = await bench.counter("call-next")
    answered = time.perf_counter()
    if called is None or called.get("ticket") is None:
        return
    ticket_id = int(called["ticket"]["id"])
    received = await _all_received(arrivals, "ticket.called", ticket_id, bench.problems)
    result.latencies_s.extend(at - started for at in received)
    result.answers_s.append(answered - started)
    if received:
        result.spreads_s.append(max(received) - min(received))
    await bench.counter("finish")
    await _all_received(arrivals, "ticket.finished", ticket_id, bench.problems)
    new_ticket = await bench.issue()
    if new_ticket is not None:
        await _all_received(arrivals, "ticket.issued", new_ticket, bench.problems)


async def run_phase(bench: Bench, phase: Phase) -> PhaseResult:
    arrivals = Arrivals(phase.subscribers)
    connections = [await _subscribe(bench.server) for _ in range(phase.subscribers)]
    receivers = [asyncio.create_task(_receive(ws, seq, arrivals, bench.problems)) for ws, seq in connections]
    try:
        for _ in range(phase.warmup):
            await cycle(bench, arrivals, PhaseResult())
        result = PhaseResult()
        for _ in range(phase.calls):
            await cycle(bench, arrivals, result)
    finally:
        for ws, _seq in connections:
            await ws.close()
        await asyncio.gather(*receivers, return_exceptions=True)
    return result


def _ms(values_s: list[float]) -> list[float]:
    return sorted(x * 1000 for x in values_s)


def report(phase: Phase, result: PhaseResult, tag: str) -> None:
    name = tag + ("1sub" if phase.subscribers == 1 else f"{phase.subscribers}subs")
    latencies_ms = _ms(result.latencies_s)
    if not latencies_ms:
        log(f"{name}: no event arrived, so no figures")
        return
    emit(f"call_to_event_p50_ms_{name}", percentile(latencies_ms, 50), "ms")
    emit(f"call_to_event_p99_ms_{name}", percentile(latencies_ms, 99), "ms")
    # Where the time goes: the command itself (its HTTP answer) versus fanning the event out.
    answers_ms, spreads_ms = _ms(result.answers_s), _ms(result.spreads_s)
    log(
        f"{name}: {len(latencies_ms)} samples ({phase.calls} calls), max {latencies_ms[-1]:.1f} ms; "
        f"call-next answer p50 {percentile(answers_ms, 50):.1f} / p99 {percentile(answers_ms, 99):.1f} ms; "
        f"first-to-last subscriber p50 {percentile(spreads_ms, 50):.1f} / p99 {percentile(spreads_ms, 99):.1f} ms"
    )


async def run(server: Server, phases: tuple[Phase, ...], problems: Problems, tag: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=HTTP_TIMEOUT_S) as http:
        bench = Bench(server, http, problems)
        # The queue is filled before anyone subscribes, so these events reach no subscriber.
        for _ in range(QUEUE_DEPTH):
            await bench.issue()
        await bench.login()
        for phase in phases:
            log(f"phase: {phase.subscribers} subscriber(s), {phase.warmup} warm-up + {phase.calls} measured calls")
            report(phase, await run_phase(bench, phase), tag)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run, well under a minute")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="default: sqlite")
    parser.add_argument("--workers", type=int, default=1, help="server processes (more than 1 needs --db postgres)")
    args = parser.parse_args(argv)
    db: Db = args.db
    if args.workers < 1 or (args.workers > 1 and db == "sqlite"):
        parser.error("--workers must be 1 on SQLite (several workers need --db postgres)")
    tag = metric_tag(db, args.workers)
    phases = QUICK if args.quick else FULL
    # One server for both phases: every ticket goes to counter 1's two fields.
    assert QUEUE_DEPTH + sum(p.warmup + p.calls for p in phases) <= len(COUNTER_FIELDS) * FIELD_CAPACITY
    problems = Problems()
    with running_server(db, args.workers) as server:
        asyncio.run(run(server, phases, problems, tag))
    emit(f"call_to_event_errors{'_' + tag.rstrip('_') if tag else ''}", problems.total, "count")
    for what, count in sorted(problems.counts.items(), key=lambda item: -item[1])[:5]:
        log(f"error x{count}: {what}")
    return 1 if problems.total else 0


if __name__ == "__main__":
    sys.exit(main())
