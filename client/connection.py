"""The one connection class every app uses: HTTP commands and the live websocket, on Qt's event
loop (QNetworkAccessManager and QWebSocket are asynchronous, so the GUI never blocks).

Live state follows the server's protocol (server/api/ws.py): subscribe, take the snapshot, then
apply events whose `seq` is exactly one more than the last; on a gap ask for a fresh snapshot. When
the socket drops or goes silent the connection reconnects by itself with a growing delay, and the
snapshot after the reconnect brings the state back. The apps never compute queue state: they
render the last snapshot and the events after it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QTimer, QUrl, Signal
from PySide6.QtNetwork import QAbstractSocket, QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWebSockets import QWebSocket

log = logging.getLogger(__name__)

UNREACHABLE = "Không kết nối được máy chủ. Xin vui lòng thử lại sau giây lát."
# Close codes the server uses when it refuses a subscription (server/api/ws.py); retrying at once
# would only be refused again, so the connection waits longer and tells the app.
REFUSAL_CODES = {4401, 4403, 4404, 4422}
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0)
REFUSED_RETRY_SECONDS = 30.0


@dataclass
class Reply:
    """The outcome of one HTTP command. `status` is None when the server was not reached."""

    status: int | None
    data: Any = None
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unreachable(self) -> bool:
        return self.status is None


@dataclass
class _Pending:
    method: str
    path: str
    body: bytes | None
    key: str | None
    deadline: float
    on_done: Callable[[Reply], None] | None
    attempts: int = 0
    reply: QNetworkReply | None = field(default=None, repr=False)


def ws_url_for(server_url: str) -> str:
    base = server_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/api/v1/ws"
    return "ws://" + base.removeprefix("http://") + "/api/v1/ws"


class Connection(QObject):
    """HTTP commands plus one live subscription (scope centre, counter or ticket)."""

    snapshot_received = Signal(dict)  # the subscription's state, as of its seq
    event_received = Signal(dict)  # one event, in sequence order, after the snapshot
    online_changed = Signal(bool)  # True once a snapshot arrived; False when the socket is lost
    refused = Signal(str, str)  # code, Vietnamese message: the server refused the subscription

    def __init__(
        self,
        server_url: str,
        token: str | None,
        scope: str = "centre",
        *,
        centre_id: int | None = None,
        counter_id: int | None = None,
        code: str | None = None,
        heartbeat_seconds: float = 15.0,
        request_timeout: float = 10.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.scope = scope
        self.centre_id = centre_id
        self.counter_id = counter_id
        self.code = code
        self.heartbeat_seconds = heartbeat_seconds
        self.request_timeout = request_timeout
        self.seq: int | None = None
        self.online = False
        self.last_refusal: tuple[str, str] | None = None
        self._running = False
        self._resyncing = False
        self._attempt = 0
        self._last_heard = time.monotonic()
        self._pending_error: tuple[str, str] | None = None
        self._http = QNetworkAccessManager(self)
        self._socket: QWebSocket | None = None
        self._reconnect = QTimer(self, singleShot=True)
        self._reconnect.timeout.connect(self._open_socket)
        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(int(heartbeat_seconds * 1000))
        self._heartbeat.timeout.connect(self._beat)

    # --- live subscription ----------------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        self._open_socket()

    def stop(self) -> None:
        self._running = False
        self._reconnect.stop()
        self._heartbeat.stop()
        if self._socket is not None:
            socket, self._socket = self._socket, None
            # Nothing this socket says while closing may reach a connection that is going away:
            # a late signal into a deleted object aborts the process ("pure virtual method called").
            socket.blockSignals(True)
            socket.close()
            socket.deleteLater()
        self._set_online(False)

    def request_snapshot(self) -> None:
        """Ask for a fresh snapshot, e.g. after a clock-driven change no event announces."""
        if self._socket is not None and self.online:
            self._resyncing = True
            self._socket.sendTextMessage('{"type":"snapshot"}')

    def _open_socket(self) -> None:
        if not self._running:
            return
        if self._socket is not None:
            self._socket.disconnected.disconnect(self._on_disconnected)
            self._socket.abort()
            self._socket.deleteLater()
        socket = QWebSocket(parent=self)
        socket.connected.connect(self._on_connected)
        socket.disconnected.connect(self._on_disconnected)
        socket.textMessageReceived.connect(self._on_message)
        socket.errorOccurred.connect(self._on_socket_error)
        self._socket = socket
        self._pending_error = None
        socket.open(QUrl(ws_url_for(self.server_url)))

    def _on_connected(self) -> None:
        assert self._socket is not None
        self._last_heard = time.monotonic()
        request: dict[str, Any] = {"type": "subscribe", "scope": self.scope}
        for key in ("token", "centre_id", "counter_id", "code"):
            value = getattr(self, key)
            if value is not None:
                request[key] = value
        self._socket.sendTextMessage(json.dumps(request))
        self._heartbeat.start()

    def _on_message(self, text: str) -> None:
        self._last_heard = time.monotonic()
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            log.warning("unreadable message from the server: %.200s", text)
            return
        kind = message.get("type")
        if kind == "snapshot":
            self.seq = int(message["seq"])
            self._resyncing = False
            self._attempt = 0
            self.last_refusal = None
            self.snapshot_received.emit(message["state"])
            self._set_online(True)
        elif kind == "event":
            self._on_event(message)
        elif kind == "ping" and self._socket is not None:
            self._socket.sendTextMessage('{"type":"pong"}')
        elif kind == "error":
            self._pending_error = (str(message.get("code", "")), str(message.get("message", "")))

    def _on_event(self, message: dict[str, Any]) -> None:
        if self.seq is None or self._resyncing:
            return  # the snapshot on its way already holds this event or a later state
        seq = int(message["seq"])
        if seq <= self.seq:
            return
        if seq != self.seq + 1:
            log.info("event gap: had %s, got %s; asking for a snapshot", self.seq, seq)
            self.request_snapshot()
            return
        self.seq = seq
        self.event_received.emit(message)

    def _on_socket_error(self, error: QAbstractSocket.SocketError) -> None:
        log.debug("websocket error: %s", error)
        # A refused connection may never emit `disconnected`; make sure a retry is scheduled.
        if self._socket is not None and self._socket.state() == QAbstractSocket.SocketState.UnconnectedState:
            self._on_disconnected()

    def _on_disconnected(self) -> None:
        self._heartbeat.stop()
        self._set_online(False)
        if not self._running or self._reconnect.isActive():
            return
        # closeCode() is an enum of the standard codes; the server's own 44xx codes come as ints.
        raw_code = self._socket.closeCode() if self._socket is not None else 0
        code = int(getattr(raw_code, "value", raw_code))
        if code in REFUSAL_CODES or self._pending_error is not None:
            refusal = self._pending_error or (str(code), self._socket.closeReason() if self._socket else "")
            self.last_refusal = refusal
            self.refused.emit(*refusal)
            delay = REFUSED_RETRY_SECONDS
        else:
            delay = RECONNECT_DELAYS[min(self._attempt, len(RECONNECT_DELAYS) - 1)]
            self._attempt += 1
        self._reconnect.start(int(delay * 1000))

    def _beat(self) -> None:
        if self._socket is None:
            return
        if time.monotonic() - self._last_heard > 2.5 * self.heartbeat_seconds:
            log.info("server silent for %.0f s; reconnecting", time.monotonic() - self._last_heard)
            self._socket.abort()  # emits disconnected → reconnect
            return
        self._socket.sendTextMessage('{"type":"ping"}')

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.online_changed.emit(online)

    # --- HTTP commands --------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        on_done: Callable[[Reply], None] | None = None,
        idempotency_key: str | None = None,
        retry_for: float = 0.0,
    ) -> None:
        """Send a command to /api/v1`path`. With `retry_for`, a request that did not reach the
        server is sent again (with the same idempotency key, so it can never act twice) until
        that many seconds have passed; then `on_done` gets a Reply with status None."""
        if retry_for and idempotency_key is None:
            idempotency_key = str(uuid.uuid4())
        pending = _Pending(
            method=method.upper(),
            path=path,
            body=None if body is None else json.dumps(body).encode(),
            key=idempotency_key,
            deadline=time.monotonic() + retry_for,
            on_done=on_done,
        )
        self._dispatch(pending)

    def _dispatch(self, pending: _Pending) -> None:
        pending.attempts += 1
        request = QNetworkRequest(QUrl(f"{self.server_url}/api/v1{pending.path}"))
        request.setTransferTimeout(int(self.request_timeout * 1000))
        request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, "application/json")
        if self.token:
            request.setRawHeader(QByteArray(b"Authorization"), QByteArray(f"Bearer {self.token}".encode()))
        if pending.key:
            request.setRawHeader(QByteArray(b"Idempotency-Key"), QByteArray(pending.key.encode()))
        data = QByteArray(pending.body or b"")
        reply = self._http.sendCustomRequest(request, QByteArray(pending.method.encode()), data)
        pending.reply = reply
        reply.finished.connect(lambda: self._finished(pending))

    def _finished(self, pending: _Pending) -> None:
        reply = pending.reply
        assert reply is not None
        reply.deleteLater()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        raw = bytes(reply.readAll().data())
        if status is None:
            if time.monotonic() < pending.deadline:
                delay = RECONNECT_DELAYS[min(pending.attempts - 1, len(RECONNECT_DELAYS) - 1)]
                # Bound to this connection: a retry must not fire into one that has been deleted.
                QTimer.singleShot(int(delay * 1000), self, lambda: self._dispatch(pending))
                return
            result = Reply(None, code="unreachable", message=UNREACHABLE)
        else:
            result = _parse(int(status), raw)
        if pending.on_done is not None:
            pending.on_done(result)


def _parse(status: int, raw: bytes) -> Reply:
    try:
        data = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        data = None
    if 200 <= status < 300:
        return Reply(status, data)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return Reply(status, data, str(error.get("code", "")), str(error.get("message", "")))
    return Reply(status, data, "http_error", f"Máy chủ trả lời lỗi {status}. Xin vui lòng thử lại.")
