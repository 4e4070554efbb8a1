"""Wait estimates: how many people are ahead of a ticket and about how many minutes that means."""

from __future__ import annotations

import math
from collections.abc import Iterable

from server.engine.model import ProcedureField, Ticket, TicketState

# Weight of the newest service time in the running average: about the last ten services count.
EWMA_WEIGHT = 0.2


def updated_service_average(field: ProcedureField, service_seconds: float) -> float:
    """Fold one finished service into the field's running average of service time."""
    # A service longer than two hours is someone forgetting to press Hoàn thành, not a real pace.
    sample = min(max(service_seconds, 0.0), 7200.0)
    if field.service_ewma_seconds is None:
        return sample
    return (1 - EWMA_WEIGHT) * field.service_ewma_seconds + EWMA_WEIGHT * sample


def seconds_per_person(field: ProcedureField, open_counters: int) -> float:
    """Average time between two calls in the field: service time shared by the counters open for it."""
    service = field.service_ewma_seconds if field.service_ewma_seconds is not None else field.default_service_seconds
    return service / max(open_counters, 1)


def wait_minutes(people_ahead: int, per_person_seconds: float) -> int:
    return math.ceil(people_ahead * per_person_seconds / 60)


def goes_first(ticket: Ticket) -> bool:
    """Whether the ticket is served ahead of normal ones. A priority ticket sent back to the queue
    after a no-show has had its turn: it waits behind everyone, or the next call would only call
    the absent citizen again."""
    return ticket.priority_group_id is not None and not ticket.requeued


def order_key(ticket: Ticket) -> tuple[int, object, int]:
    """Order within one field as a citizen sees it: priority first, then time in the queue."""
    return (0 if goes_first(ticket) else 1, ticket.queued_at, ticket.id or 0)


def people_ahead(ticket: Ticket, field_waiting: Iterable[Ticket]) -> int:
    """Waiting tickets of the same field that come before this one."""
    mine = order_key(ticket)
    return sum(
        1 for other in field_waiting if other.id != ticket.id and other.state == TicketState.WAITING and order_key(other) < mine
    )


def people_ahead_of_new(is_priority: bool, waiting_total: int, waiting_priority: int) -> int:
    """People ahead of a ticket issued now: everyone waiting, or only the priority ones for priority."""
    return waiting_priority if is_priority else waiting_total
