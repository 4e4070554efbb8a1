"""A centre at work, from threads: kiosks issuing tickets and officers calling and finishing them,
over HTTP (httpx), each command with a fresh Idempotency-Key. A command that gets no answer (the
server died under it, or is not back yet) is sent again with the same key until it is answered,
as the apps' Connection does, so that every command is acknowledged exactly once in the end.

Everything sent is recorded (key, target, failed attempts, the answer), for the crash test and the
crash-recovery benchmark to compare with the database.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from client.connection import RECONNECT_DELAYS  # the apps' own retry delays

API = "/api/v1"
HTTP_TIMEOUT_S = 30.0
# A command unanswered for this long is given up and reported: the server never came back.
GIVE_UP_S = 90.0


@dataclass
class Sent:
    """One command, with every attempt it took to get its answer."""

    kind: str  # "issue", "call-next" or "finish"
    key: str
    target: int  # the field (issue) or the counter
    failures: int = 0  # attempts that got no answer
    status: int | None = None
    answer: Any = None

    @property
    def ticket(self) -> dict[str, Any] | None:
        if self.status is None or not 200 <= self.status < 300 or not isinstance(self.answer, dict):
            return None
        return self.answer.get("ticket")


class Load:
    """`kiosks` threads issuing tickets in `fields` (round robin), and one thread per signed-in
    officer at `officers` (counter id → session token) calling the next ticket and finishing it.
    Each thread pauses `pause_s` between its commands."""

    def __init__(
        self,
        base_url: str,
        kiosk_token: str,
        fields: list[int],
        officers: dict[int, str],
        kiosks: int = 3,
        pause_s: float = 0.0,
    ) -> None:
        self.base_url = base_url
        self.kiosk_token = kiosk_token
        self.fields = fields
        self.officers = officers
        self.kiosks = kiosks
        self.pause_s = pause_s
        self.sent: list[Sent] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- running --------------------------------------------------------------------------------

    def start(self) -> None:
        for index in range(self.kiosks):
            self._threads.append(threading.Thread(target=self._guarded, args=(self._kiosk, index), name=f"kiosk-{index}"))
        for counter_id in self.officers:
            self._threads.append(
                threading.Thread(target=self._guarded, args=(self._officer, counter_id), name=f"counter-{counter_id}")
            )
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop after the commands in flight are answered (an officer finishes the ticket they
        called), and wait for the threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join(GIVE_UP_S + HTTP_TIMEOUT_S)
            if thread.is_alive():
                self._problem(f"{thread.name} did not stop")

    def _guarded(self, work: Any, arg: int) -> None:
        try:
            work(arg)
        except Exception as error:  # reported to the test, which fails on any problem
            self._problem(f"{threading.current_thread().name}: {error!r}")

    def _kiosk(self, index: int) -> None:
        with httpx.Client(base_url=self.base_url + API, timeout=HTTP_TIMEOUT_S) as http:
            headers = {"Authorization": f"Bearer {self.kiosk_token}"}
            turn = index
            while not self._stop.is_set():
                field_id = self.fields[turn % len(self.fields)]
                turn += 1
                sent = self._send(http, headers, "issue", field_id, "/tickets", {"field_id": field_id})
                if sent.status != 201:
                    self._problem(f"issue in field {field_id}: HTTP {sent.status} {sent.answer}")
                    return
                self._pause()

    def _officer(self, counter_id: int) -> None:
        with httpx.Client(base_url=self.base_url + API, timeout=HTTP_TIMEOUT_S) as http:
            headers = {"Authorization": f"Bearer {self.officers[counter_id]}"}
            while not self._stop.is_set():
                called = self._send(http, headers, "call-next", counter_id, f"/counters/{counter_id}/call-next")
                if called.status == 409 and _error_code(called.answer) == "queue_empty":
                    time.sleep(max(self.pause_s, 0.05))
                    continue
                if called.status != 200:
                    self._problem(f"call-next at counter {counter_id}: HTTP {called.status} {called.answer}")
                    return
                self._pause()
                finished = self._send(http, headers, "finish", counter_id, f"/counters/{counter_id}/finish")
                if finished.status != 200:
                    self._problem(f"finish at counter {counter_id}: HTTP {finished.status} {finished.answer}")
                    return
                self._pause()

    def _send(self, http: httpx.Client, headers: dict[str, str], kind: str, target: int, path: str, body: Any = None) -> Sent:
        sent = Sent(kind, str(uuid.uuid4()), target)
        with self._lock:
            self.sent.append(sent)
        give_up = time.monotonic() + GIVE_UP_S
        while True:
            try:
                answer = http.post(path, json=body, headers={**headers, "Idempotency-Key": sent.key})
            except httpx.TransportError:
                # No answer: the command may or may not have been done. Only the same key may ask again.
                sent.failures += 1
                if time.monotonic() > give_up:
                    raise
                time.sleep(RECONNECT_DELAYS[min(sent.failures - 1, len(RECONNECT_DELAYS) - 1)])
                continue
            sent.answer = answer.json() if answer.content else None
            sent.status = answer.status_code
            return sent

    def _pause(self) -> None:
        if self.pause_s:
            self._stop.wait(self.pause_s)

    def _problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)

    # --- what happened --------------------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.kind == kind]

    def acknowledged(self, kind: str) -> list[Sent]:
        """The commands of this kind answered with a ticket."""
        return [s for s in self.of_kind(kind) if s.ticket is not None]

    def retried(self) -> list[Sent]:
        """The commands that needed more than one attempt."""
        with self._lock:
            return [s for s in self.sent if s.failures]


def _error_code(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("code", ""))
    return ""
