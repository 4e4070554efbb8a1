"""FastAPI dependencies: the app context, the authenticated actor, the idempotency key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.services import auth
from server.services.context import Actor, AppContext

_bearer = HTTPBearer(auto_error=False, description="An officer's sign-in token or a device token.")


async def get_ctx(request: Request) -> AppContext:
    # async: a plain attribute read must not cost a hop to the thread pool.
    return request.app.state.ctx


def get_actor(
    ctx: Annotated[AppContext, Depends(get_ctx)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    return auth.authenticate(ctx, credentials.credentials if credentials else None)


async def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=100,
            description="Any unique string per command; a retry with the same key returns the first result.",
        ),
    ] = None,
) -> str | None:
    return idempotency_key


Ctx = Annotated[AppContext, Depends(get_ctx)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
IdempotencyKey = Annotated[str | None, Depends(get_idempotency_key)]
