"""The FastAPI application."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from server import __version__
from server.api import admin, auth, counters, devices, errors, limits, reports, tickets, ws
from server.clock import Clock, SystemClock
from server.config import Settings
from server.postgres_broker import PostgresBroker
from server.realtime import Broker, Hub, InProcessBroker
from server.services import maintenance, service_day
from server.services.context import AppContext
from server.storage.database import is_postgres, is_sqlite, make_engine
from server.web import pages

API_PREFIX = "/api/v1"
HOUSEKEEPING_EVERY_SECONDS = 3600.0
log = logging.getLogger("hangdoi")


async def _housekeeping(ctx: AppContext) -> None:
    while True:
        try:
            pruned = await asyncio.to_thread(maintenance.prune_idempotency_records, ctx)
            if pruned:
                log.info("forgot %d idempotency records older than two days", pruned)
            await asyncio.to_thread(maintenance.prune_login_failures, ctx)
        except Exception:  # a failed pass must not stop the next one
            log.exception("housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_EVERY_SECONDS)


async def _day_watch(ctx: AppContext) -> None:
    while True:
        try:
            started = await asyncio.to_thread(service_day.start_due_days, ctx)
            if started:
                log.info("started the new service day of %d centres", started)
        except Exception:  # the database may be away for a moment; try again next time
            log.exception("could not start the new service day")
        await asyncio.sleep(ctx.settings.day_check_seconds)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url, settings.db_pool_size, settings.db_pool_overflow)
    hub = Hub()
    # One process on SQLite; on PostgreSQL any number of workers and servers share events.
    broker: Broker = PostgresBroker(hub, settings.database_url) if is_postgres(settings.database_url) else InProcessBroker(hub)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        broker=broker,
        write_lock=threading.Lock() if is_sqlite(settings.database_url) else None,
    )

    heartbeats = ws.Heartbeats(ctx)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.attach(asyncio.get_running_loop())
        await broker.start()
        heartbeats.start()
        # Everything allocated so far lives as long as the server: keeping it out of the garbage
        # collector's full passes removes 100 ms pauses that would delay calls to the screens.
        gc.collect()
        gc.freeze()
        housekeeping = asyncio.create_task(_housekeeping(ctx))
        day_watch = asyncio.create_task(_day_watch(ctx))
        yield
        day_watch.cancel()
        housekeeping.cancel()
        await heartbeats.stop()
        await broker.stop()
        engine.dispose()

    app = FastAPI(
        title="hangdoi",
        version=__version__,
        summary="Hệ thống xếp hàng lấy số thứ tự cho Trung tâm Phục vụ hành chính công.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.hub = hub
    app.state.heartbeats = heartbeats
    app.state.centre_snapshots = ws.CentreSnapshots()
    errors.install(app)
    app.add_middleware(limits.RequestLimits)  # 413 for a body over 1 MB before it is read; no NUL in the address

    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, tickets, counters, devices, admin, reports):
        api.include_router(module.router)

    @api.get("/health", tags=["public"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api)
    ws.install(app, f"{API_PREFIX}/ws")
    pages.install(app)
    return app
