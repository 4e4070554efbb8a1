"""Refusals the service layer adds to the engine's: who may do what."""

from __future__ import annotations

from server.engine.errors import Conflict, Invalid, NotFound, QueueError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "QueueError", "Unauthorized"]


class Unauthorized(QueueError):
    """No valid credentials (HTTP 401)."""


class Forbidden(QueueError):
    """Valid credentials, but not allowed to do this (HTTP 403)."""
