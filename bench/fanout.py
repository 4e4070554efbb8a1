"""Benchmark: one counter call fanned out to thousands of live subscribers, and what an idle
subscriber costs the server in memory.

Run: python bench/fanout.py [--subscribers 5000] [--db postgres] [--workers 4] [--quick]
Prints one JSON metric per line on stdout: `fanout_p50_ms_5000subs`, `fanout_p99_ms_5000subs`,
`fanout_missed_5000subs` (subscribers that missed an event or could not connect: must be 0, the
exit status is 1 otherwise) and `memory_kb_per_subscriber`. The suffix follows the actual count; a run on another database,
worker count or without compression adds it to every name (`…_pg_w1`, `…_sqlite_w1`,
`…_nodeflate`), so its figures are never mistaken for the reference configuration's.

What a province server carries: every centre's waiting-room boards, browser TVs, counter panels
and citizens' ticket pages stay connected all day. Here they are N centre subscriptions of the
demo centre, all on loopback (the benchmark refuses addresses other than 127.0.0.1 by
construction and more than MAX_SUBSCRIBERS), made with the display token and default websocket
options (permessage-deflate on, as browsers negotiate it; --no-compression turns it off to show
what it costs). Each reads its snapshot, then answers the server's application heartbeat
({"type":"ping"} → {"type":"pong"}) like the real clients, so nobody is dropped as silent.

Memory: the resident set (VmRSS from /proc) of the server's worker processes, summed, once after
a warm-up (subscriptions opened and closed as many at once as the real connect burst, so one-off
imports, caches and the thread pool's growth are not counted) and once when all N are connected
and have been idle through a heartbeat period; the difference divided by N is
`memory_kb_per_subscriber`. The same idle period gives the server's CPU for heartbeats alone.

Latency: an officer signed in at counter 1 makes calls (WARMUP_CALLS, then CALLS measured) with
tickets waiting; each call is finished, and the next one waits until every subscriber has both
events or EVENT_TIMEOUT_S passed. The time of a call is taken with time.monotonic() just before
the call-next request is sent; each subscriber takes time.monotonic() when the frame's bytes are
handed to its connection (data_received, before the websocket and JSON parsing). On Linux
time.monotonic() is CLOCK_MONOTONIC, one clock for every process of the machine, so times taken
in different processes subtract exactly. A subscriber's latency is its receive time minus the
call's; p50/p99 are over every (call, subscriber) pair, and a subscriber that never got a call's
event counts as missed.

Why several client processes: reading 5,000 frames is real CPU in Python (the run logs the
client's CPU per frame), and one process reads them one after another, so the last subscriber's
time would include the client's own work on the 4,999 before it. The subscribers
are spread over --clients processes (multiprocessing, default 4) that read in parallel and send
their receive times back over a pipe. They still share this machine's cores with the server, so
on a small machine the figure stays an upper bound of what screens on their own hardware see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import resource
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx
from _server import API, Db, Server, cpu_seconds, emit, log, percentile, running_server
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

MAX_SUBSCRIBERS = 20_000  # a bound on what this benchmark opens, whatever the command line says
DEFAULT_SUBSCRIBERS = 5000
QUICK_SUBSCRIBERS = 500
OFFICER = "lan.nt"
COUNTER_ID = 1
COUNTER_FIELDS = (1, 2)  # what counter 1 of the demo centre serves
WARMUP_CALLS = 3
CALLS = 20
CONNECT_CONCURRENCY = 16  # handshakes in flight per client process: the subscribe reads the database
CONNECT_TIMEOUT_S = 120.0  # a handshake and snapshot while thousands of others queue for the same
EVENT_TIMEOUT_S = 10.0  # an event this late is counted as missed
SETTLE_S = 3.0  # after the last connection, before measuring: allocations of the connect burst settle
IDLE_WINDOW_S = 16.0  # just over one server heartbeat period (15 s): every subscriber pinged once
PAUSE_BETWEEN_CALLS_S = 0.2
HTTP_TIMEOUT_S = 30.0
FD_MARGIN = 1000  # descriptors beyond one per subscriber: the server's database pool, pipes, logs


# --- client processes ---------------------------------------------------------------------------


class TimedConnection(ClientConnection):
    """A client connection that notes when bytes last arrived, before any parsing: the receive time
    of the message they complete."""

    arrived: float = 0.0

    def data_received(self, data: bytes) -> None:
        self.arrived = time.monotonic()
        super().data_received(data)


@dataclass
class ClientState:
    """One client process's subscribers (by index): receive times per (event kind, ticket id), and problems."""

    subscribers: int = 0
    closing: bool = False
    arrivals: dict[tuple[str, int], dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    complete: dict[tuple[str, int], asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    problems: Counter[str] = field(default_factory=Counter)
    closed_at: list[float] = field(default_factory=list)  # when the server closed a connection (monotonic)

    def seen(self, kind: str, ticket_id: int, subscriber: int, at: float) -> None:
        times = self.arrivals[(kind, ticket_id)]
        times[subscriber] = at
        if len(times) >= self.subscribers:
            self.complete[(kind, ticket_id)].set()

    async def collect(self, kind: str, ticket_id: int, timeout: float) -> tuple[list[float], list[int]]:
        """The receive times of an event, once every subscriber has it or at the timeout, and the
        subscribers that do not have it."""
        key = (kind, ticket_id)
        if len(self.arrivals[key]) < self.subscribers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.complete[key].wait(), timeout)
        self.complete.pop(key, None)
        times = self.arrivals.pop(key, {})
        return list(times.values()), [i for i in range(self.subscribers) if i not in times]


async def _subscribe(ws_url: str, token: str, compression: bool) -> tuple[TimedConnection, int]:
    ws = await connect(
        ws_url,
        compression="deflate" if compression else None,
        # Real screens keep the connection alive with the application heartbeat, not protocol pings.
        ping_interval=None,
        open_timeout=CONNECT_TIMEOUT_S,
        max_size=2**22,
        create_connection=TimedConnection,
    )
    assert isinstance(ws, TimedConnection)
    await ws.send(json.dumps({"type": "subscribe", "scope": "centre", "token": token}))
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
    if snapshot.get("type") != "snapshot":
        await ws.close()
        raise RuntimeError(f"expected a snapshot, got {str(snapshot)[:200]}")
    return ws, int(snapshot["seq"])


async def _receive(ws: TimedConnection, index: int, seq: int, state: ClientState) -> None:
    try:
        async for raw in ws:
            at = ws.arrived
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await ws.send('{"type":"pong"}')
            elif kind == "event":
                if message["seq"] != seq + 1:
                    state.problems[f"event seq {message['seq']} after {seq}"] += 1
                seq = message["seq"]
                ticket = message.get("ticket") or {}
                if ticket.get("id") is not None:
                    state.seen(message["kind"], ticket["id"], index, at)
            elif kind == "snapshot":
                state.problems["fresh snapshot pushed (the subscriber fell behind)"] += 1
                seq = int(message["seq"])
            elif kind != "pong":
                state.problems[f"unexpected message type {kind!r}"] += 1
    except ConnectionClosed as closed:
        state.problems[f"connection closed by the server: {closed}"] += 1
        state.closed_at.append(time.monotonic())
    else:
        if not state.closing:
            state.problems["connection closed by the server"] += 1
            state.closed_at.append(time.monotonic())


async def _client(pipe: Connection, ws_url: str, token: str, count: int, compression: bool) -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def read_commands() -> None:
        # The pipe blocks: a thread reads it and hands each command to the event loop.
        while True:
            try:
                command = pipe.recv()
            except EOFError:
                command = ("close",)
            loop.call_soon_threadsafe(commands.put_nowait, command)
            if command[0] == "close":
                return

    threading.Thread(target=read_commands, daemon=True).start()
    state = ClientState()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    connections: list[TimedConnection] = []
    receivers: list[asyncio.Task[None]] = []

    async def open_one() -> None:
        async with limit:
            ws, seq = await _subscribe(ws_url, token, compression)
        # Reading starts at once: connecting thousands takes longer than the server's heartbeat
        # timeout, and a subscriber that leaves its pings unanswered that long is rightly dropped.
        receivers.append(asyncio.create_task(_receive(ws, len(connections), seq, state)))
        connections.append(ws)

    started = time.monotonic()
    opened = await asyncio.gather(*(open_one() for _ in range(count)), return_exceptions=True)
    failures = Counter(f"{type(item).__name__}: {str(item)[:200]}" for item in opened if isinstance(item, BaseException))
    state.subscribers = len(connections)
    pipe.send(("connected", len(connections), dict(failures), time.monotonic() - started))
    while True:
        command = await commands.get()
        if command[0] == "collect":
            _, kind, ticket_id, timeout = command
            pipe.send(("collected", *await state.collect(kind, ticket_id, timeout)))
        elif command[0] == "problems":
            pipe.send(("problems", dict(state.problems), state.closed_at))
        elif command[0] == "close":
            state.closing = True
            await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)
            await asyncio.gather(*receivers, return_exceptions=True)
            return


def client_process(pipe: Connection, ws_url: str, token: str, count: int, compression: bool) -> None:
    """A client process's entry point (spawned: a fresh interpreter, no state copied from the parent)."""
    asyncio.run(_client(pipe, ws_url, token, count, compression))


class Clients:
    """The client processes, seen from the parent: each holds a share of the subscribers."""

    def __init__(self, server: Server, subscribers: int, processes: int, compression: bool) -> None:
        context = multiprocessing.get_context("spawn")
        shares = [subscribers // processes + (1 if i < subscribers % processes else 0) for i in range(processes)]
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for share in shares:
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=client_process, args=(child_end, server.ws_url, server.display_token, share, compression), daemon=True
            )
            process.start()
            child_end.close()
            self.pipes.append(parent_end)
            self.processes.append(process)

    def _ask(self, command: tuple[Any, ...], answer: str, timeout: float) -> list[tuple[Any, ...]]:
        for pipe in self.pipes:
            pipe.send(command)
        return [self._answer(pipe, answer, timeout) for pipe in self.pipes]

    def _answer(self, pipe: Connection, answer: str, timeout: float) -> tuple[Any, ...]:
        if not pipe.poll(timeout):
            raise RuntimeError(f"a client process did not answer {answer!r} within {timeout:.0f} s")
        message: tuple[Any, ...] = pipe.recv()
        if message[0] != answer:
            raise RuntimeError(f"a client process answered {message[0]!r} instead of {answer!r}")
        return message

    def connected(self, timeout: float) -> tuple[int, Counter[str], float]:
        """Waits until every process has opened its share; the number open, failures, the slowest's time."""
        answers = [self._answer(pipe, "connected", timeout) for pipe in self.pipes]
        failures: Counter[str] = Counter()
        for answer in answers:
            failures.update(answer[2])
        return sum(a[1] for a in answers), failures, max(a[3] for a in answers)

    def collect(self, kind: str, ticket_id: int) -> tuple[list[float], set[tuple[int, int]]]:
        """Every subscriber's receive time of one event, and the subscribers (process, index) that missed it."""
        answers = self._ask(("collect", kind, ticket_id, EVENT_TIMEOUT_S), "collected", EVENT_TIMEOUT_S + 30)
        times = [t for answer in answers for t in answer[1]]
        missed = {(process, index) for process, answer in enumerate(answers) for index in answer[2]}
        return times, missed

    def problems(self) -> tuple[Counter[str], list[float]]:
        """What went wrong in the client processes, and when the server closed connections."""
        total: Counter[str] = Counter()
        closed_at: list[float] = []
        for answer in self._ask(("problems",), "problems", 30):
            total.update(answer[1])
            closed_at += answer[2]
        return total, sorted(closed_at)

    def cpu_s(self) -> float:
        """CPU time the client processes have used so far, in seconds."""
        return sum(cpu_seconds(process.pid) for process in self.processes if process.pid is not None)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
                process.join()


# --- the parent: server, calls, memory ----------------------------------------------------------


@dataclass
class CallResult:
    latencies_s: list[float] = field(default_factory=list)  # per (call, subscriber)
    last_s: list[float] = field(default_factory=list)  # the slowest subscriber, per call
    answers_s: list[float] = field(default_factory=list)  # call-next's HTTP answer, per call
    missed: set[tuple[int, int]] = field(default_factory=set)  # subscribers (process, index) that missed an event


class Officer:
    """The officer at counter 1, and the demo kiosk that fills its queue, over one keep-alive HTTP connection."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(base_url=f"{server.base_url}{API}", timeout=HTTP_TIMEOUT_S)
        self.officer = ""

    def post(self, path: str, token: str, body: object, expected: int) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        response = self.http.post(path, json=body, headers=headers)
        if response.status_code != expected:
            raise RuntimeError(f"POST {path}: HTTP {response.status_code} {response.text[:300]}")
        return dict(response.json())

    def fill_queue(self, tickets: int) -> None:
        for number in range(tickets):
            self.post("/tickets", self.server.kiosk_token, {"field_id": COUNTER_FIELDS[number % len(COUNTER_FIELDS)]}, 201)

    def login(self) -> None:
        body = {"username": OFFICER, "password": self.server.password, "counter_id": COUNTER_ID}
        response = self.http.post("/auth/login", json=body)
        response.raise_for_status()
        self.officer = str(response.json()["token"])

    def command(self, name: str) -> dict[str, Any]:
        return self.post(f"/counters/{COUNTER_ID}/{name}", self.officer, None, 200)

    def close(self) -> None:
        self.http.close()


def make_calls(officer: Officer, clients: Clients, calls: int, result: CallResult) -> None:
    for _ in range(calls):
        started = time.monotonic()
        called = officer.command("call-next")
        result.answers_s.append(time.monotonic() - started)
        ticket_id = int(called["ticket"]["id"])
        received, missed = clients.collect("ticket.called", ticket_id)
        result.latencies_s.extend(at - started for at in received)
        if received:
            result.last_s.append(max(received) - started)
        result.missed |= missed
        officer.command("finish")
        result.missed |= clients.collect("ticket.finished", ticket_id)[1]
        time.sleep(PAUSE_BETWEEN_CALLS_S)


async def _warm_subscriptions(server: Server, at_once: int, compression: bool, rounds: int = 3) -> None:
    """Open and close subscriptions as many at once as the measured run will, a few times, before
    the baseline: every worker then has run the websocket path and grown its thread pool (threads
    and their malloc arenas) to what the connect burst needs, so the baseline includes that fixed
    cost and the difference holds only what the subscribers keep."""
    for _ in range(rounds):
        opened = await asyncio.gather(*(_subscribe(server.ws_url, server.display_token, compression) for _ in range(at_once)))
        await asyncio.gather(*(ws.close() for ws, _seq in opened))


def _raise_open_files_limit(needed: int) -> None:
    """Up to the hard limit; the server and client processes started after this inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"{needed} open files are needed but the hard limit is {hard} (ulimit -Hn)")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _ms(values_s: list[float]) -> list[float]:
    return sorted(x * 1000 for x in values_s)


def run(server: Server, args: argparse.Namespace, suffix: str) -> int:
    n = args.subscribers
    officer = Officer(server)
    clients: Clients | None = None
    try:
        # The queue is filled before anyone subscribes, so these events reach no subscriber.
        officer.fill_queue(WARMUP_CALLS + CALLS + 5)
        officer.login()
        asyncio.run(_warm_subscriptions(server, args.clients * CONNECT_CONCURRENCY, not args.no_compression))
        time.sleep(SETTLE_S)
        rss_before = server.worker_rss_kb()
        log(f"server RSS before subscribers: {sum(rss_before.values()) / 1024:.1f} MB ({rss_before} kB)")

        started = time.monotonic()
        clients = Clients(server, n, args.clients, not args.no_compression)
        connected, failures, slowest = clients.connected(timeout=CONNECT_TIMEOUT_S + 30 + n * 0.05)
        connected_after = time.monotonic() - started
        log(f"{connected} of {n} subscribers connected in {connected_after:.1f} s (slowest process {slowest:.1f} s)")
        for what, count in failures.most_common(5):
            log(f"connection failed x{count}: {what}")
        if connected == 0:
            log("no subscriber connected: nothing to measure")
            return 1

        time.sleep(SETTLE_S)
        rss_connected = server.worker_rss_kb()
        cpu_before = server.worker_cpu_s()
        time.sleep(IDLE_WINDOW_S)
        idle_cpu = (server.worker_cpu_s() - cpu_before) / IDLE_WINDOW_S
        rss_idle = server.worker_rss_kb()
        per_worker = {pid: rss_idle.get(pid, 0) - rss_before.get(pid, 0) for pid in rss_idle}
        delta_kb = sum(rss_idle.values()) - sum(rss_before.values())
        connected_kb = sum(rss_connected.values()) - sum(rss_before.values())
        log(
            f"server RSS with {connected} idle subscribers: {sum(rss_idle.values()) / 1024:.1f} MB "
            f"(+{delta_kb / 1024:.1f} MB; just after connecting +{connected_kb / 1024:.1f} MB); "
            f"growth per worker {per_worker} kB"
        )
        log(f"server CPU with {connected} idle subscribers (heartbeats only): {idle_cpu:.2f} cores")

        calls_after = time.monotonic() - started
        warmup = CallResult()
        make_calls(officer, clients, WARMUP_CALLS, warmup)
        result = CallResult()
        server_cpu, client_cpu = server.worker_cpu_s(), clients.cpu_s()
        make_calls(officer, clients, CALLS, result)
        # Each call delivers two events (called, finished) to every subscriber.
        frames = 2 * CALLS * connected
        log(
            f"CPU per event delivered to one subscriber: server {(server.worker_cpu_s() - server_cpu) / frames * 1e6:.0f} µs, "
            f"client {(clients.cpu_s() - client_cpu) / frames * 1e6:.0f} µs"
        )
        problems, closed_at = clients.problems()
    finally:
        if clients is not None:
            clients.close()
        officer.close()

    name = f"{n}subs{suffix}"
    latencies_ms = _ms(result.latencies_s)
    if latencies_ms:
        emit(f"fanout_p50_ms_{name}", percentile(latencies_ms, 50), "ms")
        emit(f"fanout_p99_ms_{name}", percentile(latencies_ms, 99), "ms")
    # A subscriber that could not connect missed every event too.
    missed = len(warmup.missed | result.missed) + n - connected
    emit(f"fanout_missed_{name}", missed, "subscribers")
    emit(f"memory_kb_per_subscriber{suffix}", delta_kb / connected, "kB")
    if latencies_ms:
        last_ms, answers_ms = _ms(result.last_s), _ms(result.answers_s)
        log(
            f"{len(latencies_ms)} samples ({CALLS} calls x {connected} subscribers), max {latencies_ms[-1]:.1f} ms; "
            f"last subscriber per call p50 {percentile(last_ms, 50):.1f} / max {last_ms[-1]:.1f} ms; "
            f"call-next answer p50 {percentile(answers_ms, 50):.1f} / max {answers_ms[-1]:.1f} ms"
        )
    for what, count in problems.most_common(5):
        log(f"problem x{count}: {what}")
    if closed_at:
        log(
            f"the server closed {len(closed_at)} connection(s) between {closed_at[0] - started:.1f} s and "
            f"{closed_at[-1] - started:.1f} s after the subscribers started connecting "
            f"(all connected at {connected_after:.1f} s; calls from {calls_after:.1f} s)"
        )
    return 1 if missed or problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, help=f"default {DEFAULT_SUBSCRIBERS} ({QUICK_SUBSCRIBERS} with --quick)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres", help="default: postgres")
    parser.add_argument("--workers", type=int, default=4, help="server processes, default 4 (more than 1 needs postgres)")
    parser.add_argument("--clients", type=int, default=4, help="client processes the subscribers are spread over, default 4")
    parser.add_argument("--no-compression", action="store_true", help="subscribers do not offer permessage-deflate")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SUBSCRIBERS} subscribers unless --subscribers says otherwise"
    )
    args = parser.parse_args(argv)
    db: Db = args.db
    if args.subscribers is None:
        args.subscribers = QUICK_SUBSCRIBERS if args.quick else DEFAULT_SUBSCRIBERS
    if not 1 <= args.subscribers <= MAX_SUBSCRIBERS:
        parser.error(f"--subscribers must be between 1 and {MAX_SUBSCRIBERS}")
    if args.workers < 1 or (args.workers > 1 and db == "sqlite"):
        parser.error("--workers must be 1 on SQLite (several workers need --db postgres)")
    if not 1 <= args.clients <= 16:
        parser.error("--clients must be between 1 and 16")
    suffix = "" if (db, args.workers) == ("postgres", 4) else f"_{'pg' if db == 'postgres' else 'sqlite'}_w{args.workers}"
    suffix += "_nodeflate" if args.no_compression else ""
    # The server process holds every subscriber's socket (a worker at most all of them).
    _raise_open_files_limit(args.subscribers + FD_MARGIN)
    log(f"fan-out: {args.subscribers} subscribers over {args.clients} client processes; {db}, {args.workers} worker(s)")
    with running_server(db, args.workers) as server:
        return run(server, args, suffix)


if __name__ == "__main__":
    sys.exit(main())
