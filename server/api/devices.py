"""What a device says about itself: that it is alive, and its printer's state."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from server import schemas
from server.api.common import refusals
from server.api.deps import Ctx, CurrentActor
from server.services import auth
from server.services.errors import Forbidden

router = APIRouter(prefix="/devices", tags=["devices"])


class DeviceStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    printer_state: Literal["ok", "offline", "paper_out", "paper_low", "cover_open", "error", ""] | None = None


@router.post("/me/status", response_model=schemas.MeOut, responses=refusals(400, 401, 403, 413, 422))
def report_status(body: DeviceStatusIn, ctx: Ctx, actor: CurrentActor) -> schemas.MeOut:
    """A device's heartbeat; a kiosk also reports its printer so admins see it."""
    if actor.kind != "device":
        raise Forbidden("device_required", "Chỉ thiết bị mới gửi được trạng thái thiết bị.")
    auth.touch_device(ctx, actor.id, body.printer_state)
    return auth.me(actor, actor.counter_id)
