"""What routes share: the error responses they document."""

from __future__ import annotations

from typing import Any

from server.schemas import ErrorResponse


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


COMMAND_REFUSALS = refusals(401, 403, 404, 409, 422)
# A command with a JSON body may also get 400 (a body that is not UTF-8 text) and 413 (a body
# over the size limit, server/api/limits.py).
BODY_COMMAND_REFUSALS = refusals(400, 401, 403, 404, 409, 413, 422)
# Taking a number: a kiosk tapped too often in a short time is told to wait (429, Retry-After).
ISSUE_REFUSALS = refusals(400, 401, 403, 404, 409, 413, 422, 429)
