"""What crosses the wire: request and response bodies of the HTTP API and the websocket snapshots.

Kept apart from the tables: these say what a client may send and what it gets, the tables what
is stored. Public shapes (PublicTicketStatus, event messages) carry no personal data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

Name = Field(min_length=1, max_length=200)

# What a client sends is taken as it is typed: an integer is a JSON integer (not "3", 3.0 or true),
# a boolean is true or false, and nothing the schema does not name.
INPUT = ConfigDict(extra="forbid", strict=True)


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and no name, password or note needs one.
    if "\x00" in value:
        raise ValueError("không được chứa ký tự NUL (\\x00)")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]

HOUR_MINUTE = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_HOUR_SCHEMA = WithJsonSchema({"type": "string", "pattern": HOUR_MINUTE, "examples": ["07:30"]})


def _local_time(value: object) -> object:
    if (isinstance(value, str) and re.fullmatch(HOUR_MINUTE, value)) or (isinstance(value, time) and value.tzinfo is None):
        return value
    raise ValueError("phải là giờ dạng HH:MM, từ 00:00 đến 23:59")


# An opening or closing hour: the centre's wall-clock time, "07:30" or "07:30:00", with no time zone.
LocalTimeIn = Annotated[time, BeforeValidator(_local_time), Field(strict=False), _HOUR_SCHEMA]
LocalTimeOut = Annotated[time, _HOUR_SCHEMA]

DisplayOrder = Annotated[int, Field(ge=-1000, le=1000)]


def _only_clearable_take_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """In the documented schema, null is offered only where it clears something (CLEARABLE)."""
    clearable: frozenset[str] = getattr(model, "CLEARABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        choices = prop.get("anyOf")
        if name in clearable or not choices:
            continue
        kept = [choice for choice in choices if choice != {"type": "null"}]
        if len(kept) == 1:
            del prop["anyOf"]
            prop.pop("default", None)
            prop.update(kept[0])


class PatchModel(BaseModel):
    """A partial update: leaving a field out keeps it; sending null clears it, which only the
    optional columns listed in CLEARABLE allow."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_only_clearable_take_null)
    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PatchModel:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.CLEARABLE:
                raise ValueError(f"{name} không được để trống")
        return self


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str = Field(description="In Vietnamese, to be shown as it is.")
    fields: list[FieldProblem] | None = Field(default=None, description="A refused request (422): each problem by input.")


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- tickets and queues ----------------------------------------------------------------------------


class IssueTicketIn(BaseModel):
    model_config = INPUT
    field_id: int
    priority_group_id: int | None = None


class FieldBrief(BaseModel):
    id: int
    code: str
    name: str


class TicketOut(BaseModel):
    id: int
    label: str
    number: int
    field: FieldBrief
    priority_group: str | None
    state: str
    service_day: date
    issued_at: datetime
    counter_id: int | None
    counter_number: int | None
    target_counter_id: int | None
    recall_count: int
    requeued: bool
    transfer_count: int
    called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class IssuedTicketOut(BaseModel):
    """What the kiosk prints."""

    ticket: TicketOut
    centre_name: str
    people_ahead: int
    wait_minutes: int
    code: str
    status_url: str


class FieldQueue(BaseModel):
    field_id: int
    waiting: int
    waiting_priority: int
    open_counters: int
    wait_minutes: int
    waiting_since: datetime | None = None


class FieldState(BaseModel):
    id: int
    code: str
    name: str
    prefix: str
    number_start: int
    number_end: int
    display_order: int
    active: bool
    waiting: int
    waiting_priority: int
    open_counters: int
    wait_minutes: int
    longest_waiting_since: datetime | None = Field(
        default=None, description="When the citizen waiting longest in this field took the number; None if nobody waits."
    )
    issued_today: int
    served_today: int = Field(default=0, description="Tickets finished today in this field (where they ended, after transfers).")
    remaining_today: int
    taking_numbers: bool
    closed_reason: str | None


class OfficerPublic(BaseModel):
    id: int
    full_name: str
    phone: str


class CounterOut(BaseModel):
    id: int
    number: int
    name: str
    state: str
    field_ids: list[int]
    officer: OfficerPublic | None
    current: TicketOut | None
    active: bool


class PriorityGroupOut(BaseModel):
    id: int
    code: str
    name: str
    display_order: int
    active: bool


class CallOut(BaseModel):
    """One call or recall, as the waiting-room screen lists it."""

    seq: int
    kind: str
    at: datetime
    ticket_label: str
    field_id: int | None
    counter_id: int | None
    counter_number: int | None


class CentreOut(BaseModel):
    id: int
    name: str
    address: str
    timezone: str
    opens_at: LocalTimeOut | None
    closes_at: LocalTimeOut | None
    working_days: str
    max_priority_in_row: int
    rating_levels: int
    notice_text: str
    voice_enabled: bool = Field(description="Waiting-room screens announce calls aloud.")
    voice_repeat: int = Field(description="How many times each call is spoken (the chime plays once).")
    voice_digit_by_digit: bool = Field(description="Read 1005 as một không không năm instead of một nghìn không trăm linh năm.")
    voice_odd_word: Literal["linh", "lẻ"] = Field(description="105: một trăm linh năm (Northern) or một trăm lẻ năm.")
    active: bool


class CentreState(BaseModel):
    """Everything a kiosk or waiting-room screen shows, as of event `seq`."""

    seq: int
    service_day: date
    now: datetime | None = Field(
        default=None, description="The server's time when the snapshot was read: screens with a wrong clock use it."
    )
    centre: CentreOut
    fields: list[FieldState]
    counters: list[CounterOut]
    priority_groups: list[PriorityGroupOut]
    recent_calls: list[CallOut]


class RatingLevelOut(BaseModel):
    """One button of the satisfaction scale."""

    level: int
    label: str
    satisfied: bool = Field(description="Counts towards the share of Hài lòng and Rất hài lòng.")
    asks_reason: bool = Field(description="Ask the citizen why (preset reasons and free text).")


class CounterStateOut(BaseModel):
    """What an officer's counter app and the counter's rating tablet show, as of event `seq`."""

    seq: int
    service_day: date
    counter: CounterOut
    waiting: list[TicketOut]
    fields: list[FieldState]
    rating_scale: list[RatingLevelOut] = Field(description="The centre's current scale, best first.")
    rating_reasons: list[str] = Field(description="Preset reasons offered when a citizen is not satisfied.")


class PublicTicketStatus(BaseModel):
    """The phone page behind a ticket's QR code: no personal data."""

    seq: int
    centre_name: str
    label: str
    field_name: str
    priority: bool
    state: str
    state_text: str
    counter_number: int | None
    people_ahead: int
    wait_minutes: int
    now_serving: list[str]
    issued_at: datetime
    called_at: datetime | None = None


# --- counter commands ---------------------------------------------------------------------------


class CallTicketIn(BaseModel):
    model_config = INPUT
    ticket_id: int


class NoShowIn(BaseModel):
    model_config = INPUT
    requeue: bool = False


class TransferIn(BaseModel):
    model_config = INPUT
    field_id: int | None = None
    counter_id: int | None = None
    ticket_id: int | None = Field(
        default=None, description="A waiting ticket to transfer; default: the counter's current ticket."
    )


class CancelIn(BaseModel):
    model_config = INPUT
    ticket_id: int | None = Field(default=None, description="Default: the counter's current ticket.")


class CounterCommandOut(BaseModel):
    counter: CounterOut
    ticket: TicketOut | None


# --- satisfaction ratings -----------------------------------------------------------------------


class RatingIn(BaseModel):
    model_config = INPUT
    ticket_id: int
    level: int = Field(ge=1, le=5, description="1..scale, the highest the best.")
    reason: Text = Field(default="", max_length=500, description='Chosen preset reasons joined with "; ", plus any typed text.')


class RatingOut(BaseModel):
    ticket_id: int
    ticket_label: str
    counter_id: int
    field_id: int
    officer_id: int | None = Field(description="The officer who finished the ticket.")
    level: int
    scale: int
    label: str
    satisfied: bool
    reason: str
    created_at: datetime


class RatingCount(BaseModel):
    level: int
    label: str
    count: int


class OfficerTodayOut(BaseModel):
    """An officer's own figures for the current service day, from the event log."""

    service_day: date
    served: int
    no_shows: int
    transferred: int
    average_service_seconds: float | None
    rated: int
    satisfied: int
    satisfied_share: float | None = Field(description="satisfied / rated, 0..1; null before the first rating.")
    ratings: list[RatingCount] = Field(description="Every level of the current scale, best first, zeros included.")


# --- auth ---------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    model_config = INPUT
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=200)
    counter_id: int | None = None


class OfficerOut(BaseModel):
    id: int
    centre_id: int | None
    username: str
    full_name: str
    role: str
    phone: str
    active: bool


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    officer: OfficerOut
    counter_id: int | None


class MeOut(BaseModel):
    kind: str
    id: int
    centre_id: int | None
    role: str
    name: str
    counter_id: int | None


# --- admin --------------------------------------------------------------------------------------


class CentreIn(BaseModel):
    model_config = INPUT
    name: Text = Name
    address: Text = Field(default="", max_length=300)
    timezone: Text = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    opens_at: LocalTimeIn | None = None
    closes_at: LocalTimeIn | None = None
    working_days: str = Field(default="01234", pattern=r"^[0-6]{0,7}$")
    max_priority_in_row: int = Field(default=2, ge=1, le=10)
    rating_levels: Literal[3, 4, 5] = 4
    notice_text: Text = Field(default="", max_length=1000)
    voice_enabled: bool = True
    voice_repeat: int = Field(default=2, ge=1, le=5)
    voice_digit_by_digit: bool = False
    voice_odd_word: Literal["linh", "lẻ"] = "linh"


class CentreUpdate(PatchModel):
    CLEARABLE = frozenset({"opens_at", "closes_at"})
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    address: Text | None = Field(default=None, max_length=300)
    timezone: Text | None = Field(default=None, max_length=64)
    opens_at: LocalTimeIn | None = None
    closes_at: LocalTimeIn | None = None
    working_days: str | None = Field(default=None, pattern=r"^[0-6]{0,7}$")
    max_priority_in_row: int | None = Field(default=None, ge=1, le=10)
    rating_levels: Literal[3, 4, 5] | None = None
    notice_text: Text | None = Field(default=None, max_length=1000)
    voice_enabled: bool | None = None
    voice_repeat: int | None = Field(default=None, ge=1, le=5)
    voice_digit_by_digit: bool | None = None
    voice_odd_word: Literal["linh", "lẻ"] | None = None
    active: bool | None = None


class FieldIn(BaseModel):
    model_config = INPUT
    centre_id: int | None = None
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: Text = Name
    number_start: int = Field(default=1, ge=0, le=999_999)
    number_end: int = Field(default=999, ge=0, le=999_999)
    prefix: str = Field(default="", max_length=4, pattern=r"^[A-Z]{0,4}$")
    daily_cap: int | None = Field(default=None, ge=1, le=999_999)
    opens_at: LocalTimeIn | None = None
    closes_at: LocalTimeIn | None = None
    display_order: DisplayOrder = 0
    default_service_seconds: int = Field(default=300, ge=10, le=7200)

    @model_validator(mode="after")
    def _range(self) -> FieldIn:
        if self.number_end < self.number_start:
            raise ValueError("Số cuối phải lớn hơn hoặc bằng số đầu.")
        return self


class FieldUpdate(PatchModel):
    CLEARABLE = frozenset({"daily_cap", "opens_at", "closes_at"})
    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    number_start: int | None = Field(default=None, ge=0, le=999_999)
    number_end: int | None = Field(default=None, ge=0, le=999_999)
    prefix: str | None = Field(default=None, max_length=4, pattern=r"^[A-Z]{0,4}$")
    daily_cap: int | None = Field(default=None, ge=1, le=999_999)
    opens_at: LocalTimeIn | None = None
    closes_at: LocalTimeIn | None = None
    display_order: DisplayOrder | None = None
    default_service_seconds: int | None = Field(default=None, ge=10, le=7200)
    active: bool | None = None


class FieldOut(BaseModel):
    id: int
    centre_id: int
    code: str
    name: str
    number_start: int
    number_end: int
    prefix: str
    daily_cap: int | None
    opens_at: LocalTimeOut | None
    closes_at: LocalTimeOut | None
    display_order: int
    default_service_seconds: int
    active: bool


class CounterIn(BaseModel):
    model_config = INPUT
    centre_id: int | None = None
    number: int = Field(ge=1, le=999)
    name: Text = Field(default="", max_length=200)
    field_ids: list[int] = Field(default_factory=list, max_length=50)


class CounterUpdate(PatchModel):
    number: int | None = Field(default=None, ge=1, le=999)
    name: Text | None = Field(default=None, max_length=200)
    field_ids: list[int] | None = Field(default=None, max_length=50)
    active: bool | None = None


class OfficerIn(BaseModel):
    model_config = INPUT
    centre_id: int | None = None
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9._-]+$")
    full_name: Text = Name
    role: Literal["admin", "officer"] = "officer"
    password: Text = Field(min_length=8, max_length=200)
    phone: Text = Field(default="", max_length=32)


class OfficerUpdate(PatchModel):
    full_name: Text | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["admin", "officer"] | None = None
    password: Text | None = Field(default=None, min_length=8, max_length=200)
    phone: Text | None = Field(default=None, max_length=32)
    active: bool | None = None


class DeviceIn(BaseModel):
    model_config = INPUT
    centre_id: int | None = None
    kind: Literal["kiosk", "display", "counter_panel"]
    name: Text = Name
    counter_id: int | None = None


class DeviceUpdate(PatchModel):
    CLEARABLE = frozenset({"counter_id"})
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    counter_id: int | None = None
    active: bool | None = None


class DeviceOut(BaseModel):
    id: int
    centre_id: int
    kind: str
    name: str
    counter_id: int | None
    last_seen_at: datetime | None
    online: bool = Field(default=False, description="Seen in the last 90 seconds (a connected device is seen every 30).")
    printer_state: str
    active: bool


class DeviceCreatedOut(BaseModel):
    device: DeviceOut
    token: str = Field(description="Shown only this once; the server keeps only its hash.")


class PriorityGroupIn(BaseModel):
    model_config = INPUT
    centre_id: int | None = None
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: Text = Name
    display_order: DisplayOrder = 0


class PriorityGroupUpdate(PatchModel):
    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    display_order: DisplayOrder | None = None
    active: bool | None = None
