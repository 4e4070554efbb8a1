"""Configuration routes for administrators. DELETE deactivates: history stays for the reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server import schemas
from server.api.common import refusals
from server.api.deps import Ctx, CurrentActor
from server.services import admin

router = APIRouter(prefix="/admin", tags=["admin"])

READ = refusals(401, 403, 404, 422)
# A form (POST, PATCH) may also get 400 (a body that is not UTF-8 text) and 413 (over the size limit).
WRITE = refusals(400, 401, 403, 404, 409, 413, 422)
DEACTIVATE = refusals(401, 403, 404, 409, 422)


# --- centres -------------------------------------------------------------------------------------


@router.get("/centres", response_model=list[schemas.CentreOut], responses=READ)
def list_centres(ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.list_items(ctx, actor, admin.CENTRE, None)


@router.post("/centres", status_code=201, response_model=schemas.CentreOut, responses=WRITE)
def create_centre(body: schemas.CentreIn, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.create_centre(ctx, actor, body)


@router.get("/centres/{item_id}", response_model=schemas.CentreOut, responses=READ)
def get_centre(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.get_item(ctx, actor, admin.CENTRE, item_id)


@router.patch("/centres/{item_id}", response_model=schemas.CentreOut, responses=WRITE)
def update_centre(item_id: int, body: schemas.CentreUpdate, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.update_centre(ctx, actor, item_id, body)


@router.delete("/centres/{item_id}", response_model=schemas.CentreOut, responses=DEACTIVATE)
def deactivate_centre(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.deactivate(ctx, actor, admin.CENTRE, item_id)


# --- fields --------------------------------------------------------------------------------------


@router.get("/fields", response_model=list[schemas.FieldOut], responses=READ)
def list_fields(ctx: Ctx, actor: CurrentActor, centre_id: int | None = None) -> Any:
    return admin.list_items(ctx, actor, admin.FIELD, centre_id)


@router.post("/fields", status_code=201, response_model=schemas.FieldOut, responses=WRITE)
def create_field(body: schemas.FieldIn, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.create_field(ctx, actor, body)


@router.get("/fields/{item_id}", response_model=schemas.FieldOut, responses=READ)
def get_field(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.get_item(ctx, actor, admin.FIELD, item_id)


@router.patch("/fields/{item_id}", response_model=schemas.FieldOut, responses=WRITE)
def update_field(item_id: int, body: schemas.FieldUpdate, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.update_field(ctx, actor, item_id, body)


@router.delete("/fields/{item_id}", response_model=schemas.FieldOut, responses=DEACTIVATE)
def deactivate_field(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.deactivate(ctx, actor, admin.FIELD, item_id)


# --- counters ------------------------------------------------------------------------------------


@router.get("/counters", response_model=list[schemas.CounterOut], responses=READ)
def list_counters(ctx: Ctx, actor: CurrentActor, centre_id: int | None = None) -> Any:
    return admin.list_items(ctx, actor, admin.COUNTER, centre_id)


@router.post("/counters", status_code=201, response_model=schemas.CounterOut, responses=WRITE)
def create_counter(body: schemas.CounterIn, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.create_counter(ctx, actor, body)


@router.get("/counters/{item_id}", response_model=schemas.CounterOut, responses=READ)
def get_counter(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.get_item(ctx, actor, admin.COUNTER, item_id)


@router.patch("/counters/{item_id}", response_model=schemas.CounterOut, responses=WRITE)
def update_counter(item_id: int, body: schemas.CounterUpdate, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.update_counter(ctx, actor, item_id, body)


@router.delete("/counters/{item_id}", response_model=schemas.CounterOut, responses=DEACTIVATE)
def deactivate_counter(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.deactivate(ctx, actor, admin.COUNTER, item_id)


# --- officers ------------------------------------------------------------------------------------


@router.get("/officers", response_model=list[schemas.OfficerOut], responses=READ)
def list_officers(ctx: Ctx, actor: CurrentActor, centre_id: int | None = None) -> Any:
    return admin.list_items(ctx, actor, admin.OFFICER, centre_id)


@router.post("/officers", status_code=201, response_model=schemas.OfficerOut, responses=WRITE)
def create_officer(body: schemas.OfficerIn, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.create_officer(ctx, actor, body)


@router.get("/officers/{item_id}", response_model=schemas.OfficerOut, responses=READ)
def get_officer(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.get_item(ctx, actor, admin.OFFICER, item_id)


@router.patch("/officers/{item_id}", response_model=schemas.OfficerOut, responses=WRITE)
def update_officer(item_id: int, body: schemas.OfficerUpdate, ctx: Ctx, actor: CurrentActor) -> Any:
    """Change details; a new password (reset) or a deactivation signs the officer out everywhere."""
    return admin.update_officer(ctx, actor, item_id, body)


@router.delete("/officers/{item_id}", response_model=schemas.OfficerOut, responses=DEACTIVATE)
def deactivate_officer(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.deactivate(ctx, actor, admin.OFFICER, item_id)


# --- devices -------------------------------------------------------------------------------------


@router.get("/devices", response_model=list[schemas.DeviceOut], responses=READ)
def list_devices(ctx: Ctx, actor: CurrentActor, centre_id: int | None = None) -> Any:
    return admin.list_items(ctx, actor, admin.DEVICE, centre_id)


@router.post("/devices", status_code=201, response_model=schemas.DeviceCreatedOut, responses=WRITE)
def create_device(body: schemas.DeviceIn, ctx: Ctx, actor: CurrentActor) -> Any:
    """Create a kiosk, display or counter-panel device. Its token is in this answer only."""
    return admin.create_device(ctx, actor, body)


@router.get("/devices/{item_id}", response_model=schemas.DeviceOut, responses=READ)
def get_device(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.get_item(ctx, actor, admin.DEVICE, item_id)


@router.patch("/devices/{item_id}", response_model=schemas.DeviceOut, responses=WRITE)
def update_device(item_id: int, body: schemas.DeviceUpdate, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.update_device(ctx, actor, item_id, body)


@router.delete("/devices/{item_id}", response_model=schemas.DeviceOut, responses=DEACTIVATE)
def deactivate_device(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    """Revoke the device's token at once."""
    return admin.deactivate(ctx, actor, admin.DEVICE, item_id)


# --- priority groups -----------------------------------------------------------------------------


@router.get("/priority-groups", response_model=list[schemas.PriorityGroupOut], responses=READ)
def list_priority_groups(ctx: Ctx, actor: CurrentActor, centre_id: int | None = None) -> Any:
    return admin.list_items(ctx, actor, admin.PRIORITY_GROUP, centre_id)


@router.post("/priority-groups", status_code=201, response_model=schemas.PriorityGroupOut, responses=WRITE)
def create_priority_group(body: schemas.PriorityGroupIn, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.create_priority_group(ctx, actor, body)


@router.get("/priority-groups/{item_id}", response_model=schemas.PriorityGroupOut, responses=READ)
def get_priority_group(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.get_item(ctx, actor, admin.PRIORITY_GROUP, item_id)


@router.patch("/priority-groups/{item_id}", response_model=schemas.PriorityGroupOut, responses=WRITE)
def update_priority_group(item_id: int, body: schemas.PriorityGroupUpdate, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.update_priority_group(ctx, actor, item_id, body)


@router.delete("/priority-groups/{item_id}", response_model=schemas.PriorityGroupOut, responses=DEACTIVATE)
def deactivate_priority_group(item_id: int, ctx: Ctx, actor: CurrentActor) -> Any:
    return admin.deactivate(ctx, actor, admin.PRIORITY_GROUP, item_id)
