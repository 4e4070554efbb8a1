"""Housekeeping the server does by itself while it runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, delete

from server.services.context import AppContext
from server.storage import tables

# A device retries within seconds or minutes; two days covers a kiosk that was switched off
# overnight with a request in flight.
IDEMPOTENCY_KEPT_FOR = timedelta(days=2)
# Failed sign-ins matter for limits.LOGIN_FAILURE_WINDOW; a day is kept for whoever looks into one.
LOGIN_FAILURES_KEPT_FOR = timedelta(days=1)


def _forget_older(ctx: AppContext, column: Any, kept_for: timedelta) -> int:
    """Delete the rows whose `column` (a time) is older than `kept_for`; returns how many went."""
    with ctx.unit_of_work() as uow:
        cutoff: datetime = uow.now - kept_for
        result = uow.session.exec(delete(column.class_).where(col(column) < cutoff))  # type: ignore[call-overload]
        uow.commit()
        return int(result.rowcount or 0)


def prune_idempotency_records(ctx: AppContext) -> int:
    """Forget answers to retries older than IDEMPOTENCY_KEPT_FOR."""
    return _forget_older(ctx, tables.IdempotencyRecord.created_at, IDEMPOTENCY_KEPT_FOR)


def prune_login_failures(ctx: AppContext) -> int:
    """Forget failed sign-ins older than LOGIN_FAILURES_KEPT_FOR."""
    return _forget_older(ctx, tables.LoginFailure.at, LOGIN_FAILURES_KEPT_FOR)
