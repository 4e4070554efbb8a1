"""What the server refuses of a request before any route sees it.

- A body over MAX_BODY_BYTES: 413, before it is read into memory. The largest real request, an
  administrator's centre form, is a few kilobytes; nothing a kiosk, a counter or a screen sends
  comes near the limit. A request that declares a larger Content-Length is answered at once,
  without reading its body. A chunked request (no Content-Length) is read up to the limit and
  answered as soon as it passes it; one within the limit is handed on as it came.
- A NUL character in the path or the query string (%00): 422. No id, code or date holds one, and
  PostgreSQL cannot even compare text with it. (Bodies are checked by their models.)

Websockets are not concerned: uvicorn limits their messages (server/cli.py, WS_MAX_MESSAGE_BYTES).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024

TOO_LARGE = "Dữ liệu gửi lên quá lớn: mỗi yêu cầu được gửi tối đa 1 MB."
NUL_CHARACTER = "Địa chỉ yêu cầu không hợp lệ: không được chứa ký tự NUL (%00)."


class RequestLimits:
    """A pure ASGI middleware: app.add_middleware(RequestLimits)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await _refuse(send, 422, "nul_character", NUL_CHARACTER)
            return
        declared = _content_length(scope)
        if declared is not None:
            # The server delivers no more than Content-Length bytes, so a request within the
            # limit needs no counting.
            if declared > self.max_bytes:
                await _refuse(send, 413, "body_too_large", TOO_LARGE)
                return
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read up to the limit, then hand on what was read.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client left; the application sees it
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _refuse(send, 413, "body_too_large", TOO_LARGE)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses such a request before it gets here
    return None


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    """The usual error JSON (server/api/errors.py), sent without calling the application."""
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # A body, if any, is never read: this connection cannot carry another request.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
