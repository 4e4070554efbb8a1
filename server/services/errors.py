"""Refusals the service layer adds to the engine's: who may do what."""

from __future__ import annotations

from server.engine.errors import Conflict, Invalid, NotFound, QueueError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "QueueError", "TooManyRequests", "Unauthorized"]


class Unauthorized(QueueError):
    """No valid credentials (HTTP 401)."""


class Forbidden(QueueError):
    """Valid credentials, but not allowed to do this (HTTP 403)."""


class TooManyRequests(QueueError):
    """Too many requests in a short time: try again after `retry_after` seconds (HTTP 429)."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
