"""A real TCP server on 127.0.0.1 that behaves like an ESC/POS network printer (port 9100 style).

Connections are served one at a time, like a real printer; all bytes of a connection are one job.
DLE EOT n status queries are answered per the current mode (``paper``: "ok" | "low" | "out"), unless
``silent`` is set, as on the many cheap printers that never answer. To simulate an offline printer,
stop it or use :func:`unused_port`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Literal

DLE_EOT = b"\x10\x04"
GS_V_0 = b"\x1dv0"
PaperMode = Literal["ok", "low", "out"]

# Epson status bytes: bits 1 and 4 are always set; see the DLE EOT n table of the ESC/POS manual.
FIXED_BITS = 0x12
PAPER_STATUS: dict[str, int] = {"ok": FIXED_BITS, "low": FIXED_BITS | 0x0C, "out": FIXED_BITS | 0x0C | 0x60}


def status_byte(n: int, paper: PaperMode) -> int:
    """The answer to DLE EOT n."""
    if n == 4:
        return PAPER_STATUS[paper]
    if n == 1:  # printer status: bit 3 set = offline (a paper-out printer goes offline)
        return FIXED_BITS | (0x08 if paper == "out" else 0)
    if n == 2:  # offline cause: bit 5 = stopped by paper end
        return FIXED_BITS | (0x20 if paper == "out" else 0)
    return FIXED_BITS  # n == 3: no errors


def unused_port() -> int:
    """A loopback port with nothing listening (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakePrinter:
    def __init__(self, paper: PaperMode = "ok", silent: bool = False) -> None:
        self.paper: PaperMode = paper
        self.silent = silent
        self.jobs: list[bytes] = []
        self.queries: list[int] = []  # n of every DLE EOT n received
        self.last_byte_at: float | None = None  # time.monotonic() of the last byte of the last job
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=4)
        self._listener.settimeout(0.05)
        self.host = "127.0.0.1"
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="fake-printer", daemon=True)
        self._thread.start()

    @property
    def spec(self) -> str:
        return f"network:{self.host}:{self.port}"

    def __enter__(self) -> FakePrinter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def wait_for_jobs(self, n: int, timeout: float = 5.0) -> list[bytes]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.jobs) >= n, timeout):
                raise TimeoutError(f"expected {n} job(s), got {len(self.jobs)}")
            return list(self.jobs)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                job = self._receive(conn)
            with self._changed:
                self.jobs.append(job)
                self._changed.notify_all()

    def _receive(self, conn: socket.socket) -> bytes:
        conn.settimeout(0.05)
        received = bytearray()
        parsed = 0  # bytes of `received` already scanned for commands
        raster_left = 0  # bytes of GS v 0 image data still to come (not scanned: they are pixels)
        while not self._stopping.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            self.last_byte_at = time.monotonic()
            received += chunk
            # Parse the stream so that status queries are answered, but never inside raster data.
            while parsed < len(received):
                if raster_left:
                    step = min(raster_left, len(received) - parsed)
                    raster_left -= step
                    parsed += step
                    continue
                rest = bytes(received[parsed : parsed + 8])  # enough for any header handled here
                if rest.startswith(GS_V_0):
                    if len(rest) < 8:
                        break
                    width_bytes = rest[4] + 256 * rest[5]
                    height = rest[6] + 256 * rest[7]
                    raster_left = width_bytes * height
                    parsed += 8
                elif rest.startswith(DLE_EOT):
                    if len(rest) < 3:
                        break
                    self.queries.append(rest[2])
                    if not self.silent:
                        with contextlib.suppress(OSError):
                            conn.sendall(bytes([status_byte(rest[2], self.paper)]))
                    parsed += 3
                elif len(rest) < len(GS_V_0) and (GS_V_0.startswith(rest) or DLE_EOT.startswith(rest)):
                    break  # a command split across two recv() calls
                else:
                    parsed += 1
        return bytes(received)
