"""Configuration by administrators: centres, fields, counters, officers, devices, priority groups.

A centre's administrator manages that centre only; a province administrator (no centre) manages
every centre and names the centre when creating something. Nothing is deleted: deactivating keeps
the history that reports are computed from. Every change is one transaction and emits a
`config.updated` event so screens reload their snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, delete, select

from server import schemas
from server.engine.model import Event
from server.security import DEVICE_TOKEN_PREFIX, hash_password, new_token, token_hash
from server.services import views
from server.services.auth import LAST_SEEN_EVERY, leave_counter, officer_out
from server.services.context import Actor, AppContext, UnitOfWork
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.storage import tables

Row = TypeVar("Row", bound=SQLModel)


@dataclass(frozen=True)
class Kind(Generic[Row]):
    table: type[Row]
    what: str  # in the config.updated event
    noun: str  # Vietnamese, for messages
    out: Callable[[Session, Any, datetime], BaseModel]


# A connected device is seen at least every LAST_SEEN_EVERY (its websocket heartbeat re-checks its
# token, which records the time); a heartbeat is 15 s and a dead link is noticed after three.
ONLINE_WITHIN = LAST_SEEN_EVERY + timedelta(seconds=60)


def _field_out(session: Session, row: tables.ProcedureField, now: datetime) -> schemas.FieldOut:
    return schemas.FieldOut.model_validate(row, from_attributes=True)


def _counter_out(session: Session, row: tables.Counter, now: datetime) -> schemas.CounterOut:
    assert row.id is not None
    return views.counter_out(session, row, views.counter_field_ids(session, [row.id])[row.id])


def _device_out(session: Session, row: tables.Device, now: datetime) -> schemas.DeviceOut:
    online = row.active and row.last_seen_at is not None and now - row.last_seen_at <= ONLINE_WITHIN
    return schemas.DeviceOut.model_validate(row, from_attributes=True).model_copy(update={"online": online})


def _group_out(session: Session, row: tables.PriorityGroup, now: datetime) -> schemas.PriorityGroupOut:
    return schemas.PriorityGroupOut.model_validate(row, from_attributes=True)


CENTRE = Kind(tables.Centre, "centre", "Trung tâm", lambda s, r, now: views.centre_out(r))
FIELD = Kind(tables.ProcedureField, "field", "lĩnh vực", _field_out)
COUNTER = Kind(tables.Counter, "counter", "quầy", _counter_out)
OFFICER = Kind(tables.Officer, "officer", "cán bộ", lambda s, r, now: officer_out(r))
DEVICE = Kind(tables.Device, "device", "thiết bị", _device_out)
PRIORITY_GROUP = Kind(tables.PriorityGroup, "priority_group", "nhóm ưu tiên", _group_out)


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admin_required", "Chỉ quản trị viên mới được thay đổi cấu hình.")


def _scope(actor: Actor, requested: int | None) -> int:
    """The centre an admin's request is about."""
    require_admin(actor)
    if actor.centre_id is not None:
        if requested is not None and requested != actor.centre_id:
            raise NotFound("centre_not_found", "Không tìm thấy Trung tâm.")
        return actor.centre_id
    if requested is None:
        raise Invalid("centre_required", "Hãy chọn Trung tâm (centre_id).")
    return requested


def _centre_of(row: SQLModel) -> int | None:
    if isinstance(row, tables.Centre):
        return row.id
    return getattr(row, "centre_id", None)


def _load(session: Session, actor: Actor, kind: Kind[Row], item_id: int) -> Row:
    require_admin(actor)
    row = session.get(kind.table, item_id)
    centre_id = _centre_of(row) if row is not None else None
    if row is None or (actor.centre_id is not None and centre_id != actor.centre_id):
        raise NotFound("not_found", f"Không tìm thấy {kind.noun} này.")
    return row


def _locked(uow: UnitOfWork, actor: Actor, kind: Kind[Row], item_id: int) -> Row:
    """Load a row to change, then lock its centre first and read the row again under the lock:
    every command takes the centre lock before anything else, so none waits on another in
    the opposite order."""
    row = _load(uow.session, actor, kind, item_id)
    centre_id = _centre_of(row)
    if centre_id is not None:  # a province administrator belongs to no centre
        uow.lock_centre(centre_id)
        uow.reread(row)
    return row


def _changed(uow: UnitOfWork, kind: Kind[Any], row: SQLModel) -> None:
    """Commit the change, with the event that tells live screens to reload."""
    try:
        uow.session.flush()
        if _centre_of(row) is not None:
            uow.record(Event(kind="config.updated", at=uow.now, data={"what": kind.what, "id": getattr(row, "id", None)}), None)
        uow.commit()
    except IntegrityError as exc:
        # The explicit checks give the precise message; this only catches a concurrent twin.
        raise Conflict("duplicate", f"Đã có {kind.noun} trùng mã hoặc trùng số.") from exc


def list_items(ctx: AppContext, actor: Actor, kind: Kind[Row], centre_id: int | None) -> list[BaseModel]:
    require_admin(actor)
    with ctx.read() as session:
        query = select(kind.table)
        scope = actor.centre_id if actor.centre_id is not None else centre_id
        if scope is not None:
            if centre_id is not None and centre_id != scope:
                return []
            column = kind.table.id if kind is CENTRE else kind.table.centre_id  # type: ignore[attr-defined]
            query = query.where(column == scope)
        rows = session.exec(query.order_by(kind.table.id)).all()  # type: ignore[attr-defined]
        now = ctx.clock.now()
        return [kind.out(session, row, now) for row in rows]


def get_item(ctx: AppContext, actor: Actor, kind: Kind[Row], item_id: int) -> BaseModel:
    with ctx.read() as session:
        return kind.out(session, _load(session, actor, kind, item_id), ctx.clock.now())


def _apply(row: SQLModel, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("timezone_unknown", f"Múi giờ {name!r} không tồn tại.") from exc


def _check_hours(opens: Any, closes: Any) -> None:
    if opens is not None and closes is not None and closes <= opens:
        raise Invalid("hours_invalid", "Giờ đóng cửa phải sau giờ mở cửa.")


# --- centres --------------------------------------------------------------------------------------


def create_centre(ctx: AppContext, actor: Actor, body: schemas.CentreIn) -> BaseModel:
    require_admin(actor)
    if actor.centre_id is not None:
        raise Forbidden("province_admin_required", "Chỉ quản trị viên cấp tỉnh mới tạo được Trung tâm mới.")
    _check_timezone(body.timezone)
    _check_hours(body.opens_at, body.closes_at)
    with ctx.unit_of_work() as uow:
        row = tables.Centre(**body.model_dump())
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        uow.lock_centre(row.id)
        _changed(uow, CENTRE, row)
        return CENTRE.out(uow.session, row, uow.now)


def update_centre(ctx: AppContext, actor: Actor, centre_id: int, body: schemas.CentreUpdate) -> BaseModel:
    values = body.model_dump(exclude_unset=True)
    if "active" in values and actor.centre_id is not None:
        raise Forbidden("province_admin_required", "Chỉ quản trị viên cấp tỉnh mới ngừng được một Trung tâm.")
    _check_timezone(values.get("timezone"))
    with ctx.unit_of_work() as uow:
        row = _locked(uow, actor, CENTRE, centre_id)
        _check_hours(values.get("opens_at", row.opens_at), values.get("closes_at", row.closes_at))
        _apply(row, values)
        _changed(uow, CENTRE, row)
        return CENTRE.out(uow.session, row, uow.now)


# --- fields ---------------------------------------------------------------------------------------


def _check_field(session: Session, row: tables.ProcedureField) -> None:
    """A field's code is unique in its centre, and two active fields may not share numbers: the
    number alone must tell the field."""
    _check_hours(row.opens_at, row.closes_at)
    if row.number_end < row.number_start:
        raise Invalid("range_invalid", "Số cuối phải lớn hơn hoặc bằng số đầu.")
    with session.no_autoflush:
        fields = session.exec(select(tables.ProcedureField).where(tables.ProcedureField.centre_id == row.centre_id)).all()
    for other in fields:
        if other is row or (row.id is not None and other.id == row.id):
            continue
        if other.code == row.code:
            raise Conflict("field_code_taken", f"Mã {row.code} đã được dùng cho lĩnh vực {other.name}.")
        overlaps = row.number_start <= other.number_end and other.number_start <= row.number_end
        if row.active and other.active and other.prefix == row.prefix and overlaps:
            raise Conflict(
                "range_overlap",
                f"Dãy số {row.number_start}–{row.number_end} trùng với lĩnh vực {other.name} "
                f"({other.number_start}–{other.number_end}). Hãy chọn dãy số khác hoặc thêm chữ cái đầu số.",
            )


def _issued_today(uow: UnitOfWork, field: tables.ProcedureField) -> int:
    centre = uow.session.get(tables.Centre, field.centre_id)
    assert centre is not None
    day = uow.session.get(tables.FieldDay, (field.id, views.today(centre, uow.now)))
    return day.issued_count if day is not None else 0


def create_field(ctx: AppContext, actor: Actor, body: schemas.FieldIn) -> BaseModel:
    centre_id = _scope(actor, body.centre_id)
    with ctx.unit_of_work() as uow:
        uow.lock_centre(centre_id)
        row = tables.ProcedureField(**{**body.model_dump(), "centre_id": centre_id})
        _check_field(uow.session, row)
        uow.session.add(row)
        _changed(uow, FIELD, row)
        return FIELD.out(uow.session, row, uow.now)


def update_field(ctx: AppContext, actor: Actor, field_id: int, body: schemas.FieldUpdate) -> BaseModel:
    with ctx.unit_of_work() as uow:
        row = _locked(uow, actor, FIELD, field_id)
        values = body.model_dump(exclude_unset=True)
        numbering_changes = {k for k in ("number_start", "number_end", "prefix") if k in values and values[k] != getattr(row, k)}
        if numbering_changes and _issued_today(uow, row) > 0:
            raise Conflict(
                "field_numbering_in_use",
                f"Lĩnh vực {row.name} đã cấp số trong hôm nay, nên chưa thể đổi dãy số. Hãy đổi sau giờ làm việc.",
            )
        _apply(row, values)
        _check_field(uow.session, row)
        _changed(uow, FIELD, row)
        return FIELD.out(uow.session, row, uow.now)


# --- counters -------------------------------------------------------------------------------------


def _set_counter_fields(session: Session, counter: tables.Counter, field_ids: list[int]) -> None:
    if len(set(field_ids)) != len(field_ids):
        raise Invalid("fields_repeated", "Mỗi lĩnh vực chỉ được chọn một lần cho một quầy.")
    for field_id in field_ids:
        field = session.get(tables.ProcedureField, field_id)
        if field is None or field.centre_id != counter.centre_id:
            raise NotFound("field_not_found", f"Không tìm thấy lĩnh vực số {field_id} tại Trung tâm này.")
    session.exec(delete(tables.CounterField).where(col(tables.CounterField.counter_id) == counter.id))  # type: ignore[call-overload]
    for position, field_id in enumerate(field_ids):
        session.add(tables.CounterField(counter_id=counter.id, field_id=field_id, position=position))  # type: ignore[arg-type]


def create_counter(ctx: AppContext, actor: Actor, body: schemas.CounterIn) -> BaseModel:
    centre_id = _scope(actor, body.centre_id)
    with ctx.unit_of_work() as uow:
        uow.lock_centre(centre_id)
        taken = uow.session.exec(
            select(tables.Counter).where(tables.Counter.centre_id == centre_id, tables.Counter.number == body.number)
        ).first()
        if taken is not None:
            raise Conflict("counter_number_taken", f"Đã có quầy số {body.number}.")
        row = tables.Counter(centre_id=centre_id, number=body.number, name=body.name or f"Quầy {body.number}")
        uow.session.add(row)
        uow.session.flush()
        _set_counter_fields(uow.session, row, body.field_ids)
        _changed(uow, COUNTER, row)
        return COUNTER.out(uow.session, row, uow.now)


def update_counter(ctx: AppContext, actor: Actor, counter_id: int, body: schemas.CounterUpdate) -> BaseModel:
    values = body.model_dump(exclude_unset=True)
    with ctx.unit_of_work() as uow:
        row = _locked(uow, actor, COUNTER, counter_id)
        if values.get("active") is False and row.current_ticket_id is not None:
            raise Conflict("counter_busy", "Quầy đang phục vụ một số, chưa thể ngừng hoạt động.")
        if "number" in values and values["number"] != row.number:
            taken = uow.session.exec(
                select(tables.Counter).where(tables.Counter.centre_id == row.centre_id, tables.Counter.number == values["number"])
            ).first()
            if taken is not None:
                raise Conflict("counter_number_taken", f"Đã có quầy số {values['number']}.")
        field_ids = values.pop("field_ids", None)
        _apply(row, values)
        if field_ids is not None:
            _set_counter_fields(uow.session, row, field_ids)
        _changed(uow, COUNTER, row)
        return COUNTER.out(uow.session, row, uow.now)


# --- officers ------------------------------------------------------------------------------------


def create_officer(ctx: AppContext, actor: Actor, body: schemas.OfficerIn) -> BaseModel:
    require_admin(actor)
    centre_id = _scope(actor, body.centre_id) if (body.centre_id is not None or actor.centre_id is not None) else None
    password_hash = hash_password(body.password)  # slow on purpose: before taking the write lock
    with ctx.unit_of_work() as uow:
        if centre_id is not None:
            uow.lock_centre(centre_id)
        if uow.session.exec(select(tables.Officer).where(tables.Officer.username == body.username)).first() is not None:
            raise Conflict("username_taken", f"Tên đăng nhập {body.username} đã có người dùng.")
        row = tables.Officer(
            centre_id=centre_id,
            username=body.username,
            full_name=body.full_name,
            role=body.role,
            password_hash=password_hash,
            phone=body.phone,
        )
        uow.session.add(row)
        _changed(uow, OFFICER, row)
        return OFFICER.out(uow.session, row, uow.now)


def update_officer(ctx: AppContext, actor: Actor, officer_id: int, body: schemas.OfficerUpdate) -> BaseModel:
    values = body.model_dump(exclude_unset=True)
    password = values.pop("password", None)
    password_hash = hash_password(password) if password is not None else None
    with ctx.unit_of_work() as uow:
        row = _locked(uow, actor, OFFICER, officer_id)
        if officer_id == actor.id and (values.get("active") is False or values.get("role") == "officer"):
            raise Conflict("cannot_demote_self", "Không thể tự khóa hoặc tự bỏ quyền quản trị của chính mình.")
        _apply(row, values)
        if password_hash is not None or values.get("active") is False:
            # A new password or a deactivation signs the officer out everywhere, and their
            # counter stops taking calls.
            if password_hash is not None:
                row.password_hash = password_hash
            for auth in uow.session.exec(
                select(tables.AuthSession).where(
                    tables.AuthSession.officer_id == officer_id, col(tables.AuthSession.revoked_at).is_(None)
                )
            ).all():
                auth.revoked_at = uow.now
                auth.counter_id = None
            for counter in uow.session.exec(select(tables.Counter).where(tables.Counter.officer_id == officer_id)).all():
                uow.lock_centre(counter.centre_id)
                leave_counter(uow, officer_id, counter)
        _changed(uow, OFFICER, row)
        return OFFICER.out(uow.session, row, uow.now)


# --- devices -------------------------------------------------------------------------------------


def _check_device_counter(session: Session, centre_id: int, kind: str, counter_id: int | None) -> None:
    if kind == "counter_panel" and counter_id is None:
        raise Invalid("counter_required", "Màn hình quầy cần được gắn với một quầy (counter_id).")
    if counter_id is not None:
        counter = session.get(tables.Counter, counter_id)
        if counter is None or counter.centre_id != centre_id:
            raise NotFound("counter_not_found", "Không tìm thấy quầy.")


def add_device(
    session: Session, centre_id: int, kind: str, name: str, counter_id: int | None = None
) -> tuple[tables.Device, str]:
    """Create a device and its token; the plain token exists only in the return value."""
    _check_device_counter(session, centre_id, kind, counter_id)
    token = new_token(DEVICE_TOKEN_PREFIX)
    device = tables.Device(centre_id=centre_id, kind=kind, name=name, counter_id=counter_id, token_hash=token_hash(token))
    session.add(device)
    return device, token


def create_device(ctx: AppContext, actor: Actor, body: schemas.DeviceIn) -> schemas.DeviceCreatedOut:
    centre_id = _scope(actor, body.centre_id)
    with ctx.unit_of_work() as uow:
        uow.lock_centre(centre_id)
        row, token = add_device(uow.session, centre_id, body.kind, body.name, body.counter_id)
        _changed(uow, DEVICE, row)
        return schemas.DeviceCreatedOut(device=_device_out(uow.session, row, uow.now), token=token)


def update_device(ctx: AppContext, actor: Actor, device_id: int, body: schemas.DeviceUpdate) -> BaseModel:
    values = body.model_dump(exclude_unset=True)
    with ctx.unit_of_work() as uow:
        row = _locked(uow, actor, DEVICE, device_id)
        if values.get("active") is True and not row.active:
            # Deactivating revoked the device's token for good (the console says "Mã đã thu hồi"):
            # bringing the row back would bring that token back too.
            raise Conflict(
                "device_revoked", "Mã của thiết bị này đã bị thu hồi và không dùng lại được. Hãy thêm thiết bị mới để có mã mới."
            )
        if "counter_id" in values:
            _check_device_counter(uow.session, row.centre_id, row.kind, values["counter_id"])
        _apply(row, values)
        _changed(uow, DEVICE, row)
        return DEVICE.out(uow.session, row, uow.now)


# --- priority groups -----------------------------------------------------------------------------


def _check_group_code(session: Session, centre_id: int, code: str, own_id: int | None) -> None:
    taken = session.exec(
        select(tables.PriorityGroup).where(tables.PriorityGroup.centre_id == centre_id, tables.PriorityGroup.code == code)
    ).first()
    if taken is not None and taken.id != own_id:
        raise Conflict("priority_group_code_taken", f"Mã {code} đã được dùng cho nhóm ưu tiên {taken.name}.")


def create_priority_group(ctx: AppContext, actor: Actor, body: schemas.PriorityGroupIn) -> BaseModel:
    centre_id = _scope(actor, body.centre_id)
    with ctx.unit_of_work() as uow:
        uow.lock_centre(centre_id)
        _check_group_code(uow.session, centre_id, body.code, None)
        row = tables.PriorityGroup(**{**body.model_dump(), "centre_id": centre_id})
        uow.session.add(row)
        _changed(uow, PRIORITY_GROUP, row)
        return PRIORITY_GROUP.out(uow.session, row, uow.now)


def update_priority_group(ctx: AppContext, actor: Actor, group_id: int, body: schemas.PriorityGroupUpdate) -> BaseModel:
    with ctx.unit_of_work() as uow:
        row = _locked(uow, actor, PRIORITY_GROUP, group_id)
        values = body.model_dump(exclude_unset=True)
        if "code" in values:
            _check_group_code(uow.session, row.centre_id, values["code"], row.id)
        _apply(row, values)
        _changed(uow, PRIORITY_GROUP, row)
        return PRIORITY_GROUP.out(uow.session, row, uow.now)


# --- deactivation --------------------------------------------------------------------------------


def deactivate(ctx: AppContext, actor: Actor, kind: Kind[Any], item_id: int) -> BaseModel:
    """Deactivate instead of deleting: tickets, events and reports keep pointing at the row."""
    update: dict[Kind[Any], tuple[Callable[..., BaseModel], type[BaseModel]]] = {
        CENTRE: (update_centre, schemas.CentreUpdate),
        FIELD: (update_field, schemas.FieldUpdate),
        COUNTER: (update_counter, schemas.CounterUpdate),
        OFFICER: (update_officer, schemas.OfficerUpdate),
        DEVICE: (update_device, schemas.DeviceUpdate),
        PRIORITY_GROUP: (update_priority_group, schemas.PriorityGroupUpdate),
    }
    function, body = update[kind]
    return function(ctx, actor, item_id, body(active=False))
