"""Housekeeping the server does by itself while it runs."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, delete

from server.services.context import AppContext
from server.storage import tables

# A device retries within seconds or minutes; two days covers a kiosk that was switched off
# overnight with a request in flight.
IDEMPOTENCY_KEPT_FOR = timedelta(days=2)


def prune_idempotency_records(ctx: AppContext) -> int:
    """Forget answers to retries older than IDEMPOTENCY_KEPT_FOR; returns how many went."""
    with ctx.unit_of_work() as uow:
        cutoff = uow.now - IDEMPOTENCY_KEPT_FOR
        result = uow.session.exec(  # type: ignore[call-overload]
            delete(tables.IdempotencyRecord).where(col(tables.IdempotencyRecord.created_at) < cutoff)
        )
        uow.commit()
        return int(result.rowcount or 0)


# Failed sign-ins matter for limits.LOGIN_FAILURE_WINDOW; a day is kept for whoever looks into one.
LOGIN_FAILURES_KEPT_FOR = timedelta(days=1)


def prune_login_failures(ctx: AppContext) -> int:
    """Forget failed sign-ins older than LOGIN_FAILURES_KEPT_FOR; returns how many went."""
    with ctx.unit_of_work() as uow:
        cutoff = uow.now - LOGIN_FAILURES_KEPT_FOR
        result = uow.session.exec(  # type: ignore[call-overload]
            delete(tables.LoginFailure).where(col(tables.LoginFailure.at) < cutoff)
        )
        uow.commit()
        return int(result.rowcount or 0)
