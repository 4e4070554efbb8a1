"""Refusals of the queue engine.

Every refusal carries a stable machine code and a Vietnamese message an officer or a citizen can
read as it is. The API maps the three kinds to HTTP 404, 409 and 422.
"""

from __future__ import annotations


class QueueError(Exception):
    """A command was refused; nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(QueueError):
    """The command names something that does not exist (HTTP 404)."""


class Conflict(QueueError):
    """The command does not fit the current state (HTTP 409)."""


class Invalid(QueueError):
    """The command itself is malformed or not allowed (HTTP 422)."""
