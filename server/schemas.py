"""What crosses the wire: request and response bodies of the HTTP API and the websocket snapshots.

Kept apart from the tables: these say what a client may send and what it gets, the tables what
is stored. Public shapes (PublicTicketStatus, event messages) carry no personal data.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Name = Field(min_length=1, max_length=200)


class PatchModel(BaseModel):
    """A partial update: leaving a field out keeps it; sending null clears it, which only the
    optional columns listed in CLEARABLE allow."""

    model_config = ConfigDict(extra="forbid")
    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PatchModel:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.CLEARABLE:
                raise ValueError(f"{name} không được để trống")
        return self


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- tickets and queues ----------------------------------------------------------------------------


class IssueTicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    opens_at: time | None
    closes_at: time | None
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
    model_config = ConfigDict(extra="forbid")
    ticket_id: int


class NoShowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requeue: bool = False


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field_id: int | None = None
    counter_id: int | None = None
    ticket_id: int | None = Field(
        default=None, description="A waiting ticket to transfer; default: the counter's current ticket."
    )


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_id: int | None = Field(default=None, description="Default: the counter's current ticket.")


class CounterCommandOut(BaseModel):
    counter: CounterOut
    ticket: TicketOut | None


# --- satisfaction ratings -----------------------------------------------------------------------


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_id: int
    level: int = Field(ge=1, le=5, description="1..scale, the highest the best.")
    reason: str = Field(default="", max_length=500, description='Chosen preset reasons joined with "; ", plus any typed text.')


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
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
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
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    opens_at: time | None = None
    closes_at: time | None = None
    working_days: str = Field(default="01234", pattern=r"^[0-6]{0,7}$")
    max_priority_in_row: int = Field(default=2, ge=1, le=10)
    rating_levels: Literal[3, 4, 5] = 4
    notice_text: str = Field(default="", max_length=1000)
    voice_enabled: bool = True
    voice_repeat: int = Field(default=2, ge=1, le=5)
    voice_digit_by_digit: bool = False
    voice_odd_word: Literal["linh", "lẻ"] = "linh"


class CentreUpdate(PatchModel):
    CLEARABLE = frozenset({"opens_at", "closes_at"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    timezone: str | None = Field(default=None, max_length=64)
    opens_at: time | None = None
    closes_at: time | None = None
    working_days: str | None = Field(default=None, pattern=r"^[0-6]{0,7}$")
    max_priority_in_row: int | None = Field(default=None, ge=1, le=10)
    rating_levels: Literal[3, 4, 5] | None = None
    notice_text: str | None = Field(default=None, max_length=1000)
    voice_enabled: bool | None = None
    voice_repeat: int | None = Field(default=None, ge=1, le=5)
    voice_digit_by_digit: bool | None = None
    voice_odd_word: Literal["linh", "lẻ"] | None = None
    active: bool | None = None


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    centre_id: int | None = None
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Name
    number_start: int = Field(default=1, ge=0, le=999_999)
    number_end: int = Field(default=999, ge=0, le=999_999)
    prefix: str = Field(default="", max_length=4, pattern=r"^[A-Z]{0,4}$")
    daily_cap: int | None = Field(default=None, ge=1, le=999_999)
    opens_at: time | None = None
    closes_at: time | None = None
    display_order: int = 0
    default_service_seconds: int = Field(default=300, ge=10, le=7200)

    @model_validator(mode="after")
    def _range(self) -> FieldIn:
        if self.number_end < self.number_start:
            raise ValueError("Số cuối phải lớn hơn hoặc bằng số đầu.")
        return self


class FieldUpdate(PatchModel):
    CLEARABLE = frozenset({"daily_cap", "opens_at", "closes_at"})
    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    number_start: int | None = Field(default=None, ge=0, le=999_999)
    number_end: int | None = Field(default=None, ge=0, le=999_999)
    prefix: str | None = Field(default=None, max_length=4, pattern=r"^[A-Z]{0,4}$")
    daily_cap: int | None = Field(default=None, ge=1, le=999_999)
    opens_at: time | None = None
    closes_at: time | None = None
    display_order: int | None = None
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
    opens_at: time | None
    closes_at: time | None
    display_order: int
    default_service_seconds: int
    active: bool


class CounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    centre_id: int | None = None
    number: int = Field(ge=1, le=999)
    name: str = Field(default="", max_length=200)
    field_ids: list[int] = Field(default_factory=list, max_length=50)


class CounterUpdate(PatchModel):
    number: int | None = Field(default=None, ge=1, le=999)
    name: str | None = Field(default=None, max_length=200)
    field_ids: list[int] | None = Field(default=None, max_length=50)
    active: bool | None = None


class OfficerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    centre_id: int | None = None
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9._-]+$")
    full_name: str = Name
    role: Literal["admin", "officer"] = "officer"
    password: str = Field(min_length=8, max_length=200)
    phone: str = Field(default="", max_length=32)


class OfficerUpdate(PatchModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["admin", "officer"] | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = None


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    centre_id: int | None = None
    kind: Literal["kiosk", "display", "counter_panel"]
    name: str = Name
    counter_id: int | None = None


class DeviceUpdate(PatchModel):
    CLEARABLE = frozenset({"counter_id"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
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
    model_config = ConfigDict(extra="forbid")
    centre_id: int | None = None
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Name
    display_order: int = 0


class PriorityGroupUpdate(PatchModel):
    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    display_order: int | None = None
    active: bool | None = None
