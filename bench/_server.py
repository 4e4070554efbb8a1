"""Shared benchmark helpers: a real hangdoi server in a subprocess, and the metric output format.

The server runs exactly as in production (`hangdoi server`, uvicorn, SQLite in WAL mode) on a
fresh data directory with the demo centre, so figures include HTTP parsing, auth and the commit.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
API = "/api/v1"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class Server:
    """A hangdoi server process on a data directory with the demo centre. It can be stopped and
    started again on the same data (a restart mid-morning), on the same port."""

    def __init__(self, data_dir: Path, env: dict[str, str], credentials: dict[str, Any]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.credentials = credentials
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

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

    def start(self) -> None:
        # The CLI prints to stdout; send it to stderr so a benchmark's stdout stays metric lines.
        self.process = subprocess.Popen(
            _cli("server", "--host", HOST, "--port", str(self.port)), env=self.env, stdout=sys.stderr, stderr=sys.stderr
        )
        _wait_healthy(self.process, self.base_url)
        log(f"server pid {self.process.pid} ready at {self.base_url}")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as systemd does on a restart."""
        if self.process is not None:
            _stop(self.process)


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


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server() -> Iterator[Server]:
    """A fresh data directory with the demo centre and a server on a free loopback port; the
    server is stopped and the directory removed on exit, whatever happens in between."""
    with tempfile.TemporaryDirectory(prefix="hangdoi-bench-") as tmp:
        data_dir = Path(tmp)
        env = {**os.environ, "HANGDOI_DATA_DIR": str(data_dir), "HANGDOI_LOG_LEVEL": "warning"}
        # A stray hangdoi.toml or database URL from the caller's environment must not leak in.
        for name in ("HANGDOI_CONFIG", "HANGDOI_DATABASE_URL", "HANGDOI_HOST", "HANGDOI_PORT", "HANGDOI_PUBLIC_BASE_URL"):
            env.pop(name, None)
        subprocess.run(_cli("demo"), env=env, check=True, stdout=sys.stderr, stderr=sys.stderr)
        credentials = json.loads((data_dir / "demo-credentials.json").read_text())
        server = Server(data_dir, env, credentials)
        try:
            server.start()
            yield server
        finally:
            server.stop()
