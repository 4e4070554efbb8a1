"""What routes share: the error responses they document."""

from __future__ import annotations

from typing import Any

from server.schemas import ErrorResponse


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


COMMAND_REFUSALS = refusals(401, 403, 404, 409, 422)
