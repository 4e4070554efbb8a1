"""Shared benchmark helpers: a real hangdoi server in a subprocess, and the metric output format.

The server runs exactly as in production (`hangdoi server`, uvicorn) on a fresh data directory
with the demo centre, so figures include HTTP parsing, auth and the commit. On SQLite (the
default) it is one process on a file in WAL mode; on PostgreSQL it is a fresh database on
127.0.0.1:5432 (user postgres, trust auth), dropped again on exit, with one or more workers.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import httpx

HOST = "127.0.0.1"
API = "/api/v1"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
# What the server may take of PostgreSQL's max_connections (100 here), leaving room for the
# benchmark's own admin connection and for other users of the same PostgreSQL (the test suite).
POSTGRES_CONNECTION_BUDGET = 60
# A province administrator (no centre), created only when a benchmark asks for one: it creates
# the extra centres through the admin API, as a province's administrator would.
PROVINCE_ADMIN = ("tinh.quantri", "bench-province-12345")

# Load generators play many kiosks with the demo's one kiosk token: its rate limit is lifted.
UNLIMITED_KIOSK = {
    "HANGDOI_KIOSK_TICKETS_PER_MINUTE": "1000000",
    "HANGDOI_KIOSK_TICKETS_PER_15_MINUTES": "1000000",
    "HANGDOI_KIOSK_TICKETS_PER_HOUR": "1000000",
}

Db = Literal["sqlite", "postgres"]
_database_numbers = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    pass


class Server:
    """A hangdoi server process on a data directory with the demo centre. It can be stopped and
    started again on the same data (a restart mid-morning), on the same port."""

    def __init__(self, data_dir: Path, env: dict[str, str], credentials: dict[str, Any], workers: int = 1) -> None:
        self.data_dir = data_dir
        self.env = env
        self.credentials = credentials
        self.workers = workers
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._worker_pids: list[int] = []

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}{API}/ws"

    @property
    def kiosk_token(self) -> str:
        return str(self.credentials["devices"]["kiosk"])

    @property
    def display_token(self) -> str:
        return str(self.credentials["devices"]["display"])

    @property
    def password(self) -> str:
        return str(self.credentials["password"])

    def start(self, settle: bool = True) -> None:
        """Start the server and return once it answers /health. With several workers and
        `settle`, also wait until every worker has finished starting, which a benchmark needs
        before it measures; a restart under load (after kill()) cannot wait for idle workers and
        passes settle=False."""
        # The CLI prints to stdout; send it to stderr so a benchmark's stdout stays metric lines.
        args = ["server", "--host", HOST, "--port", str(self.port)]
        if self.workers > 1:
            args += ["--workers", str(self.workers)]
        self.process = subprocess.Popen(_cli(*args), env=self.env, stdout=sys.stderr, stderr=sys.stderr)
        _wait_healthy(self.process, self.base_url)
        if self.workers > 1:
            self._worker_pids = (_wait_workers_started if settle else _wait_workers_spawned)(self.process, self.workers)
        workers = f", workers {self._worker_pids}" if self.workers > 1 else ""
        log(f"server pid {self.process.pid} ready at {self.base_url}{workers}")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as systemd does on a restart. Workers still alive after
        their master is gone (a master that had to be killed) are stopped one by one by PID."""
        if self.process is not None:
            _stop(self.process)
        for pid in self._worker_pids:
            # Only our own worker, still under its master or orphaned: a recycled PID is someone else's.
            if _is_worker_of(pid, {self.pid, 1}):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._worker_pids = []

    def kill(self) -> None:
        """`kill -9` of the whole server, as a power cut or the OOM killer would do it: no clean
        shutdown, no lifespan end, open transactions and sockets simply cut. With several workers
        every process goes, the workers too (they are found while the master is frozen with
        SIGSTOP, so it cannot start a replacement between the listing and the kills). Returns once
        they are all dead, so that start() can take the same port and data again."""
        if self.process is None or self.process.poll() is not None:
            self._worker_pids = []
            return
        master = self.process.pid
        with suppress(ProcessLookupError):
            os.kill(master, signal.SIGSTOP)
        # Every process of the server: uvicorn's workers and multiprocessing's helpers alike.
        doomed = _descendants(master)
        for pid in doomed:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with suppress(ProcessLookupError):
            os.kill(master, signal.SIGKILL)
        self.process.wait()
        _wait_dead(doomed)
        self._worker_pids = []
        log(f"server pid {master} killed (SIGKILL){f', with {len(doomed)} child processes' if doomed else ''}")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or the server itself with one worker."""
        if self.workers == 1:
            return [self.pid]
        return _uvicorn_workers(self.pid)

    def worker_rss_kb(self) -> dict[int, int]:
        """Resident memory (VmRSS, kB) of each worker process."""
        return {pid: rss_kb(pid) for pid in self.worker_pids()}

    def worker_cpu_s(self) -> float:
        """CPU time (user + system) the workers have used so far, in seconds."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())


def log(message: str) -> None:
    """Progress goes to stderr: stdout carries only metric lines."""
    print(message, file=sys.stderr, flush=True)


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"metric": metric, "value": round(value, 3), "unit": unit}), flush=True)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (no interpolation: a real sample)."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(pct / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def metric_tag(db: Db, workers: int) -> str:
    """The part of a metric name that says where it was measured: empty for the SQLite figures,
    whose names predate PostgreSQL, else e.g. `pg_w4_`."""
    return "" if db == "sqlite" else f"pg_w{workers}_"


# --- /proc --------------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    """VmRSS of a process in kB, from /proc (no psutil here)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _is_worker_of(pid: int, parents: set[int]) -> bool:
    """A process started by multiprocessing's spawn (as uvicorn starts its workers; not its
    resource tracker) whose parent is one of `parents`."""
    if _parent_pid(pid) not in parents:
        return False
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False


def _uvicorn_workers(master: int) -> list[int]:
    """The worker processes of a uvicorn master, by their parent PID in /proc."""
    return sorted(
        int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit() and _is_worker_of(int(entry.name), {master})
    )


def _descendants(root: int) -> list[int]:
    """Every process below `root` (children, their children…), by parent PIDs in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_pid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Whether any thread of a process is still running. A killed process's main thread may be a
    zombie while its other threads are still exiting, holding its sockets: all must be done."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return False
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X"):
            return True
    return False


def _wait_dead(pids: Sequence[int]) -> None:
    """Until every process is gone or a zombie (which holds no socket or file any more)."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {list(pids)} still alive {STOP_TIMEOUT_S:.0f} s after SIGKILL")
        time.sleep(0.01)


# --- process control ----------------------------------------------------------------------------


def _free_port() -> int:
    # The OS picks an unused port; the tiny window before the server binds it is acceptable here.
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> list[str]:
    # sys.executable: the server runs in the same venv as the benchmark.
    return [sys.executable, "-c", f"from server.cli import main; raise SystemExit(main({list(args)!r}))"]


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited during start-up with code {process.returncode}")
            try:
                if client.get(f"{API}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.05)
    raise RuntimeError(f"server did not answer {API}/health within {STARTUP_TIMEOUT_S:.0f} s")


def _wait_workers_started(process: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The first worker to answer /health says nothing of the others, which may still be importing
    the application; a benchmark started then would run on fewer workers. So: wait until all the
    workers exist and none has used CPU for a moment (start-up is CPU-bound imports, serving an
    idle socket uses none)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    quiet_since: float | None = None
    previous: dict[int, float] = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited during start-up with code {process.returncode}")
        pids = _uvicorn_workers(process.pid)
        try:
            now = {pid: cpu_seconds(pid) for pid in pids}
        except FileNotFoundError:
            now = {}  # a worker exited between the listing and the read: look again
        if len(now) == workers and now.keys() == previous.keys() and all(now[p] - previous[p] < 0.02 for p in now):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.5:
                return sorted(now)
        else:
            quiet_since = None
        previous = now
        time.sleep(0.1)
    raise RuntimeError(f"the server's {workers} workers did not all start within {STARTUP_TIMEOUT_S:.0f} s")


def _wait_workers_spawned(process: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The worker processes, once they all exist (started or not)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        pids = _uvicorn_workers(process.pid)
        if len(pids) == workers:
            return pids
        time.sleep(0.05)
    raise RuntimeError(f"the server's {workers} workers were not all there within {STARTUP_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- PostgreSQL ---------------------------------------------------------------------------------


def _postgres_admin_url() -> str:
    return f"host={POSTGRES_HOST} port={POSTGRES_PORT} user={POSTGRES_USER} dbname=postgres connect_timeout=5"


def _postgres_execute(statement: str) -> None:
    import psycopg  # only the PostgreSQL runs need it

    try:
        with psycopg.connect(_postgres_admin_url(), autocommit=True) as connection:
            connection.execute(statement)  # type: ignore[arg-type]  # our own fixed statements, no input
    except psycopg.OperationalError as error:
        raise PostgresUnavailable(str(error).strip()) from error


def _pool_env(workers: int) -> dict[str, str]:
    """Per-worker pool sizes so that workers x (pool + overflow + 1 listener) stays within the
    budget: the server's defaults (10 + 10) with one worker, smaller pools with more."""
    per_worker = POSTGRES_CONNECTION_BUDGET // workers - 1
    pool = min(10, per_worker * 2 // 3)
    overflow = min(10, per_worker - pool)
    return {"HANGDOI_DB_POOL_SIZE": str(pool), "HANGDOI_DB_POOL_OVERFLOW": str(overflow)}


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A fresh, empty database for one server, dropped (WITH (FORCE), so even a server that failed
    to stop does not keep it) on exit, whatever happens, SIGTERM included."""
    name = f"hangdoi_bench_{os.getpid()}_{next(_database_numbers)}"
    _postgres_execute(f'CREATE DATABASE "{name}"')
    previous = signal.getsignal(signal.SIGTERM)

    def terminated(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally below

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            _postgres_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except PostgresUnavailable as error:
            log(f"could not drop the benchmark database {name}: {error}")


@contextmanager
def running_server(db: Db = "sqlite", workers: int = 1, province_admin: bool = False) -> Iterator[Server]:
    """A fresh database with the demo centre (and, if asked, the province administrator
    PROVINCE_ADMIN) and a server on a free loopback port; the server is stopped, the data
    directory removed and a PostgreSQL database dropped on exit, whatever happens in between.

    PostgreSQL unreachable: says so on stderr and exits with status 2."""
    if db == "sqlite" and workers != 1:
        raise ValueError("several workers need PostgreSQL (--db postgres)")
    if db == "postgres":
        _require_postgres()
    with tempfile.TemporaryDirectory(prefix="hangdoi-bench-") as tmp:
        data_dir = Path(tmp)
        env = {
            **os.environ,
            "HANGDOI_DATA_DIR": str(data_dir),
            "HANGDOI_LOG_LEVEL": "warning",
            **UNLIMITED_KIOSK,
        }
        # A stray hangdoi.toml or database URL from the caller's environment must not leak in.
        for name in (
            "HANGDOI_CONFIG",
            "HANGDOI_DATABASE_URL",
            "HANGDOI_HOST",
            "HANGDOI_PORT",
            "HANGDOI_PUBLIC_BASE_URL",
            "HANGDOI_WORKERS",
            "HANGDOI_DB_POOL_SIZE",
            "HANGDOI_DB_POOL_OVERFLOW",
        ):
            env.pop(name, None)
        # `init … --demo` also creates the demo centre; it must come first, since init creates
        # no administrator once the demo's centre administrator exists.
        seed = _cli("init", "--admin-username", PROVINCE_ADMIN[0], "--admin-password", PROVINCE_ADMIN[1], "--demo")
        if db == "sqlite":
            subprocess.run(seed if province_admin else _cli("demo"), env=env, check=True, stdout=sys.stderr, stderr=sys.stderr)
            with _serving(data_dir, env, workers) as server:
                yield server
            return
        with _postgres_database() as url:
            env.update({"HANGDOI_DATABASE_URL": url, **_pool_env(workers)})
            # On PostgreSQL the province administrator is always there: a benchmark that does not
            # use it is not affected, and there is one seeding path to keep working.
            subprocess.run(seed, env=env, check=True, stdout=sys.stderr, stderr=sys.stderr)
            with _serving(data_dir, env, workers) as server:
                yield server


def _require_postgres() -> None:
    try:
        _postgres_execute("SELECT 1")
    except PostgresUnavailable as error:
        log(
            f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT} as user {POSTGRES_USER}: {error}\n"
            "Start it (with trust authentication for local connections), or run the benchmark with --db sqlite."
        )
        raise SystemExit(2) from error


@contextmanager
def _serving(data_dir: Path, env: dict[str, str], workers: int) -> Iterator[Server]:
    credentials = json.loads((data_dir / "demo-credentials.json").read_text())
    server = Server(data_dir, env, credentials, workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()
