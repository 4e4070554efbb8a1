"""Counter commands (officer signed in at the counter) and the counter's own view."""

from __future__ import annotations

from fastapi import APIRouter

from server import schemas
from server.api.common import BODY_COMMAND_REFUSALS, COMMAND_REFUSALS, refusals
from server.api.deps import Ctx, CurrentActor, IdempotencyKey
from server.services import commands, ratings, views
from server.services.errors import NotFound
from server.storage import tables

router = APIRouter(prefix="/counters/{counter_id}", tags=["counter"])

Out = schemas.CounterCommandOut


@router.get("/state", response_model=schemas.CounterStateOut, responses=refusals(401, 404, 422))
def counter_state(counter_id: int, ctx: Ctx, actor: CurrentActor) -> schemas.CounterStateOut:
    """The counter, its current ticket and the waiting tickets in the order "call next" takes them."""
    with ctx.read() as session:
        counter = session.get(tables.Counter, counter_id)
        if counter is None or (actor.centre_id is not None and counter.centre_id != actor.centre_id):
            raise NotFound("counter_not_found", "Không tìm thấy quầy.")
        return views.counter_state(session, counter_id, ctx.clock.now())


@router.post("/call-next", response_model=Out, responses=COMMAND_REFUSALS)
def call_next(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Gọi số tiếp theo: the counter's first field with someone waiting, priority first within the bound."""
    return commands.call_next(ctx, actor, counter_id, key)


@router.post("/call", response_model=Out, responses=BODY_COMMAND_REFUSALS)
def call_ticket(counter_id: int, body: schemas.CallTicketIn, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Call one particular waiting ticket, chosen from the list."""
    return commands.call_ticket(ctx, actor, counter_id, body, key)


@router.post("/recall", response_model=Out, responses=COMMAND_REFUSALS)
def recall(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Gọi lại: announce the current ticket again."""
    return commands.recall(ctx, actor, counter_id, key)


@router.post("/start", response_model=Out, responses=COMMAND_REFUSALS)
def start(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """The citizen has arrived: service time starts now."""
    return commands.start_service(ctx, actor, counter_id, key)


@router.post("/finish", response_model=Out, responses=COMMAND_REFUSALS)
def finish(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Hoàn thành."""
    return commands.finish(ctx, actor, counter_id, key)


@router.post("/no-show", response_model=Out, responses=BODY_COMMAND_REFUSALS)
def no_show(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey, body: schemas.NoShowIn | None = None) -> Out:
    """Vắng mặt; with requeue, the ticket goes back to the end of the queue (once)."""
    return commands.no_show(ctx, actor, counter_id, body or schemas.NoShowIn(), key)


@router.post("/transfer", response_model=Out, responses=BODY_COMMAND_REFUSALS)
def transfer(counter_id: int, body: schemas.TransferIn, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Chuyển quầy / chuyển lĩnh vực: the ticket keeps its number and its place by issue time."""
    return commands.transfer(ctx, actor, counter_id, body, key)


@router.post("/cancel", response_model=Out, responses=BODY_COMMAND_REFUSALS)
def cancel(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey, body: schemas.CancelIn | None = None) -> Out:
    return commands.cancel(ctx, actor, counter_id, body or schemas.CancelIn(), key)


@router.post("/pause", response_model=Out, responses=COMMAND_REFUSALS)
def pause(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Tạm dừng."""
    return commands.pause(ctx, actor, counter_id, key)


@router.post("/resume", response_model=Out, responses=COMMAND_REFUSALS)
def resume(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> Out:
    """Tiếp tục."""
    return commands.resume(ctx, actor, counter_id, key)


@router.post("/rating", response_model=schemas.RatingOut, responses=BODY_COMMAND_REFUSALS)
def rate(counter_id: int, body: schemas.RatingIn, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> schemas.RatingOut:
    """Đánh giá mức độ hài lòng of a ticket this counter finished, within 15 minutes, once. Sent by
    the counter's rating tablet (its device token) or the officer signed in at the counter."""
    return ratings.rate(ctx, actor, counter_id, body, key)
