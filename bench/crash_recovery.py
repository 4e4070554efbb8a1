"""Benchmark: `kill -9` the server under load, start it again at once, and time how long the kiosk,
the waiting-room display and the counter app take to be back online with a fresh snapshot.

Run: python bench/crash_recovery.py [--quick] [--db sqlite|postgres] [--workers N] [--repeat N].
Prints one JSON metric per line on stdout; the target is in the output too
(`crash_recovery_target_s`, 5 s from the restarted server answering to every app back).

In this process, on Qt's offscreen platform, the three real apps: the kiosk (KioskWindow, no
printer), the display (DisplayModel + DisplayWindow, no voice) and the counter app (CounterModel +
CounterWindow, signed in at counter 3). bench/_load.py's threads play three kiosks and the
officers at counters 1, 2 and 4, each retrying an unanswered command with the same key.

Each repetition: LOAD_S of load, then Server.kill() (SIGKILL of the master and every worker) and
Server.start() at once, in a thread, while Qt's loop runs. A poller asks /api/v1/health every
10 ms from the kill on; its first 200 is the moment the server is back. For each app, the moment
its Connection says online again (online_changed(True), emitted once the fresh snapshot has been
applied) is taken in a slot. Both clocks are time.monotonic().

- `crash_restart_s_{max,p50}`: kill → the restarted server answers /health (process start,
  imports, migrations check, and on PostgreSQL every worker's start).
- `crash_{kiosk,display,counter}_back_s_{max,p50}`: /health answers → that app is online with a
  fresh snapshot. Dominated by the apps' reconnect delays (client/connection.py RECONNECT_DELAYS:
  0.2, 0.5, 1, 2, then every 3 s): an app that has been failing for a while waits up to 3 s for
  its next try.
- `crash_errors`: anything lost, doubled or missed (an acknowledged ticket not in the database or
  there twice, a gap in numbers or events, a call announced twice or never, an app not back within
  BACK_TIMEOUT_S, a load thread's failure). 0 is the only good value.
On PostgreSQL the names carry the tag, e.g. `crash_pg_w4_restart_s_max`.
"""

from __future__ import annotations

import os

# Before any Qt import: no display server needed, and the windows never appear on a real screen.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _load import Load
from _server import API, Db, Server, emit, log, metric_tag, percentile, running_server
from PySide6.QtCore import QEventLoop, QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication
from sqlmodel import Session, col, select

from client.connection import Connection
from client.theme import install_fonts
from counter.model import CounterModel
from counter.window import CounterWindow
from display.model import Call, DisplayModel
from display.window import DisplayWindow
from kiosk.print_worker import PrintService
from kiosk.printer import PrinterConfig
from kiosk.window import KioskWindow
from server.storage import tables
from server.storage.database import make_engine

TARGET_S = 5.0
CENTRE_ID = 1
ISSUE_FIELDS = [1, 2, 3, 5, 6]  # Hộ tịch, Chứng thực, Đất đai, Kinh doanh, Lao động
LOAD_OFFICERS = {1: "lan.nt", 2: "hung.tv", 4: "duc.pm"}
APP_OFFICER, APP_COUNTER = "mai.lt", 3
KIOSKS = 3
PAUSE_S = 0.05
FULL_REPEAT, QUICK_REPEAT = 5, 2
LOAD_S, QUICK_LOAD_S = 4.0, 2.0
BACK_TIMEOUT_S = 60.0
HEALTH_POLL_S = 0.01
# The offscreen platform warns on every layout change of a top-level window.
QUIET_WARNINGS = frozenset({"This plugin does not support propagateSizeHints()"})
APPS = ("kiosk", "display", "counter")


@dataclass
class Apps:
    kiosk: KioskWindow
    printing: PrintService
    display: DisplayModel
    board: DisplayWindow
    counter: CounterModel
    desk: CounterWindow
    announced: list[Call] = field(default_factory=list)
    # Per app: when its connection last went offline and came back online.
    went_offline: dict[str, float] = field(default_factory=dict)
    came_online: dict[str, float] = field(default_factory=dict)

    @property
    def connections(self) -> dict[str, Connection]:
        return {"kiosk": self.kiosk.connection, "display": self.display.connection, "counter": self.counter.connection}

    def online(self) -> bool:
        return all(c.online for c in self.connections.values())

    def close(self) -> None:
        for connection in self.connections.values():
            connection.stop()
        self.printing.shutdown()
        self.kiosk.locked = False
        for window in (self.kiosk, self.board, self.desk):
            window.close()


def open_apps(server: Server, state_dir: Path) -> Apps:
    kiosk_connection = Connection(server.base_url, server.kiosk_token)
    printing = PrintService(PrinterConfig.parse("none"))
    kiosk = KioskWindow(kiosk_connection, printing, admin_pin="2468", ticket_seconds=60)
    kiosk.resize(1080, 1920)
    display = DisplayModel(Connection(server.base_url, server.display_token))
    board = DisplayWindow(display, None)
    board.resize(1920, 1080)
    counter = CounterModel(Connection(server.base_url, None, scope="counter"), state_dir / "counter.json")
    desk = CounterWindow(counter, server.base_url)
    desk.resize(1280, 760)
    apps = Apps(kiosk, printing, display, board, counter, desk)
    display.announce.connect(apps.announced.append)
    for name, connection in apps.connections.items():
        connection.online_changed.connect(lambda online, name=name: _note(apps, name, online))
    for window in (kiosk, board, desk):
        window.show()
    kiosk_connection.start()
    display.connection.start()
    counter.choose_counter.connect(lambda _counters: counter.take_counter(APP_COUNTER))
    counter.sign_in(APP_OFFICER, server.password)
    if not spin_until(lambda: apps.online() and counter.counter_id == APP_COUNTER and not counter.busy, BACK_TIMEOUT_S):
        raise RuntimeError("the apps did not come online")
    return apps


def _note(apps: Apps, name: str, online: bool) -> None:
    (apps.came_online if online else apps.went_offline)[name] = time.monotonic()


def quiet_qt_messages(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if message not in QUIET_WARNINGS:
        print(message, file=sys.stderr, flush=True)


def spin_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Run Qt's event loop until `condition` holds or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() >= deadline else None)
    poll.start()
    if not condition():
        loop.exec()
    poll.stop()
    return condition()


def spin(seconds: float) -> None:
    spin_until(lambda: False, seconds)


def login(server: Server, username: str, counter_id: int) -> str:
    body = {"username": username, "password": server.password, "counter_id": counter_id}
    answer = httpx.post(f"{server.base_url}{API}/auth/login", json=body, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["token"])


class HealthWatch(threading.Thread):
    """From its start, asks /health every HEALTH_POLL_S; `healthy_at` is the first 200's time."""

    def __init__(self, base_url: str) -> None:
        super().__init__(name="health", daemon=True)
        self.base_url = base_url
        self.healthy_at: float | None = None

    def run(self) -> None:
        deadline = time.monotonic() + BACK_TIMEOUT_S
        # A long timeout: while the new server listens but no worker accepts yet, the request
        # waits in the listen queue and is answered the moment one does (a short timeout would
        # give up and ask again, and see the server late).
        with httpx.Client(base_url=self.base_url, timeout=BACK_TIMEOUT_S) as http:
            while time.monotonic() < deadline:
                try:
                    if http.get(f"{API}/health").status_code == 200:
                        self.healthy_at = time.monotonic()
                        return
                except httpx.TransportError:
                    pass
                time.sleep(HEALTH_POLL_S)


@dataclass
class Result:
    restart_s: list[float] = field(default_factory=list)
    back_s: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in APPS})
    problems: Counter[str] = field(default_factory=Counter)


def crash_once(server: Server, apps: Apps, result: Result) -> None:
    apps.went_offline.clear()
    apps.came_online.clear()
    killed_at = time.monotonic()
    server.kill()
    health = HealthWatch(server.base_url)
    health.start()
    restart = threading.Thread(target=server.start, kwargs={"settle": False}, name="restart")
    restart.start()
    back = spin_until(lambda: not restart.is_alive() and apps.online() and len(apps.came_online) == len(APPS), BACK_TIMEOUT_S)
    restart.join()
    health.join()
    if health.healthy_at is None:
        result.problems["the server did not answer /health after the restart"] += 1
        return
    result.restart_s.append(health.healthy_at - killed_at)
    if not back:
        missing = [name for name in APPS if name not in apps.came_online]
        result.problems[f"not back within {BACK_TIMEOUT_S:.0f} s: {missing}"] += 1
    for name in APPS:
        if name not in apps.went_offline:
            result.problems[f"{name} never noticed the crash"] += 1
        elif name in apps.came_online:
            result.back_s[name].append(apps.came_online[name] - health.healthy_at)
    figures = ", ".join(f"{name} {apps.came_online[name] - health.healthy_at:.2f} s" for name in APPS if name in apps.came_online)
    log(f"kill → healthy {health.healthy_at - killed_at:.2f} s; healthy → online: {figures}")


def check_database(server: Server, load: Load, apps: Apps, from_seq: int, problems: Counter[str]) -> None:
    """What the crash test checks, counted instead of asserted."""
    url = server.env.get("HANGDOI_DATABASE_URL") or f"sqlite:///{server.data_dir / 'hangdoi.sqlite3'}"
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            tickets = {t.id: t for t in session.exec(select(tables.Ticket)).all()}
            issued = load.acknowledged("issue")
            problems["issues never answered"] += len(load.of_kind("issue")) - len(issued)
            for sent in issued:
                ticket = sent.ticket or {}
                row = tickets.get(ticket.get("id"))
                if row is None or (row.issue_field_id, row.number) != (sent.target, ticket.get("number")):
                    problems["acknowledged ticket missing or different in the database"] += 1
            answered = {(s.ticket or {}).get("id") for s in issued}
            problems["tickets in the database nobody was answered with"] += len(set(tickets) - answered)
            numbers = Counter((t.issue_field_id, t.service_day, t.number) for t in tickets.values())
            problems["numbers given twice"] += sum(n - 1 for n in numbers.values())
            for field_id in ISSUE_FIELDS:
                got = sorted(t.number for t in tickets.values() if t.issue_field_id == field_id)
                if got and got != list(range(got[0], got[0] + len(got))):
                    problems[f"gap in the numbers of field {field_id}"] += 1
            events = select(tables.Event.seq).where(tables.Event.centre_id == CENTRE_ID)
            seqs = session.exec(events.order_by(col(tables.Event.seq))).all()
            if list(seqs) != list(range(1, len(seqs) + 1)):
                problems["gap or duplicate in the event sequence"] += 1
            called = Counter(
                e.ticket_id for e in session.exec(select(tables.Event).where(tables.Event.kind == "ticket.called")).all()
            )
            for sent in load.acknowledged("call-next"):
                if called[(sent.ticket or {}).get("id")] != 1:
                    problems["acknowledged call not in the event log exactly once"] += 1
            calls = session.exec(
                select(tables.Event.seq).where(
                    tables.Event.centre_id == CENTRE_ID,
                    col(tables.Event.kind).in_(["ticket.called", "ticket.recalled"]),
                    tables.Event.seq > from_seq,
                )
            ).all()
    finally:
        engine.dispose()
    announced = Counter(call.seq for call in apps.announced)
    problems["calls announced twice"] += sum(n - 1 for n in announced.values())
    problems["calls never announced"] += len(set(calls) - set(announced))
    for problem in [p for p, n in problems.items() if n == 0]:
        del problems[problem]


def run(server: Server, repeat: int, load_s: float) -> Result:
    result = Result()
    with tempfile.TemporaryDirectory(prefix="hangdoi-crash-") as state_dir:
        apps = open_apps(server, Path(state_dir))
        try:
            from_seq = apps.display.connection.seq or 0
            officers = {counter_id: login(server, username, counter_id) for counter_id, username in LOAD_OFFICERS.items()}
            load = Load(server.base_url, server.kiosk_token, ISSUE_FIELDS, officers, kiosks=KIOSKS, pause_s=PAUSE_S)
            load.start()
            try:
                for index in range(repeat):
                    spin(load_s)
                    log(f"repetition {index + 1}/{repeat}: kill -9 under load")
                    crash_once(server, apps, result)
                spin(load_s)
            finally:
                stopper = threading.Thread(target=load.stop, name="stop-load")
                stopper.start()
                spin_until(lambda: not stopper.is_alive(), BACK_TIMEOUT_S * 3)
            for problem in load.problems:
                result.problems[f"load: {problem}"[:200]] += 1
            log(
                f"{len(load.acknowledged('issue'))} tickets and {len(load.acknowledged('call-next'))} calls acknowledged; "
                f"{len(load.retried())} commands needed a retry after a kill"
            )
            spin(1.0)  # the last events reach the display
            check_database(server, load, apps, from_seq, result.problems)
        finally:
            apps.close()
            spin(0.2)  # let the sockets close before the server goes
    return result


def report(result: Result, tag: str) -> None:
    emit("crash_recovery_target_s", TARGET_S, "s")
    if result.restart_s:
        restart = sorted(result.restart_s)
        emit(f"crash_{tag}restart_s_max", restart[-1], "s")
        emit(f"crash_{tag}restart_s_p50", percentile(restart, 50), "s")
    worst = 0.0
    for name in APPS:
        back = sorted(result.back_s[name])
        if not back:
            continue
        worst = max(worst, back[-1])
        emit(f"crash_{tag}{name}_back_s_max", back[-1], "s")
        emit(f"crash_{tag}{name}_back_s_p50", percentile(back, 50), "s")
    verdict = "met" if worst < TARGET_S else "MISSED"
    log(f"slowest app back {worst:.2f} s after the server answered; target < {TARGET_S:.0f} s: {verdict}")
    emit(f"crash_{tag}errors", sum(result.problems.values()), "count")
    for problem, times in result.problems.most_common(10):
        log(f"error x{times}: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two repetitions, well under a minute")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="default: sqlite")
    parser.add_argument("--workers", type=int, default=1, help="server processes (more than 1 needs --db postgres)")
    parser.add_argument("--repeat", type=int, help=f"crashes (default {FULL_REPEAT}, --quick {QUICK_REPEAT})")
    args = parser.parse_args(argv)
    db: Db = args.db
    if args.workers < 1 or (args.workers > 1 and db == "sqlite"):
        parser.error("--workers must be 1 on SQLite (several workers need --db postgres)")
    repeat = args.repeat or (QUICK_REPEAT if args.quick else FULL_REPEAT)
    qInstallMessageHandler(quiet_qt_messages)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    install_fonts(app)
    with running_server(db, args.workers) as server:
        result = run(server, repeat, QUICK_LOAD_S if args.quick else LOAD_S)
    report(result, metric_tag(db, args.workers))
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
