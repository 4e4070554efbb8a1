"""Officers sign in and out, and take or leave a counter."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server import schemas
from server.api.common import COMMAND_REFUSALS, refusals
from server.api.deps import Ctx, CurrentActor, IdempotencyKey
from server.services import auth, ratings
from server.services.errors import Forbidden

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=schemas.LoginOut, responses=refusals(400, 401, 404, 409, 413, 422, 429))
def login(body: schemas.LoginIn, ctx: Ctx, request: Request) -> schemas.LoginOut:
    """Sign in with username and password; with counter_id, also take that counter. After
    repeated failures for a username or from an address, attempts must wait (429, Retry-After)."""
    return auth.login(ctx, body, request.client.host if request.client else "")


@router.post("/logout", status_code=204, responses=refusals(401, 403, 409))
def logout(ctx: Ctx, actor: CurrentActor) -> Response:
    """Revoke this token (and leave the counter)."""
    if actor.kind != "officer":
        raise Forbidden("officer_required", "Thao tác này cần cán bộ đăng nhập.")
    auth.logout(ctx, actor)
    return Response(status_code=204)


@router.get("/me", response_model=schemas.MeOut, responses=refusals(401))
async def me(actor: CurrentActor) -> schemas.MeOut:
    return auth.me(actor, actor.counter_id)


@router.get("/me/today", response_model=schemas.OfficerTodayOut, responses=refusals(401, 403))
def my_day(ctx: Ctx, actor: CurrentActor) -> schemas.OfficerTodayOut:
    """The signed-in officer's own figures for today: served, no-shows, transfers, ratings."""
    return ratings.officer_today(ctx, actor)


@router.post("/counter/{counter_id}", response_model=schemas.MeOut, responses=COMMAND_REFUSALS)
def sign_in_counter(counter_id: int, ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> schemas.MeOut:
    """Take a counter: it opens, shows this officer, and only this token may act for it."""
    return auth.sign_in_counter(ctx, actor, counter_id, key)


@router.delete("/counter", response_model=schemas.MeOut, responses=COMMAND_REFUSALS)
def sign_out_counter(ctx: Ctx, actor: CurrentActor, key: IdempotencyKey) -> schemas.MeOut:
    """Leave the counter: it closes."""
    return auth.sign_out_counter(ctx, actor, key)
