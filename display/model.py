"""The display's one state object: counters and what they serve, the latest calls and the waiting
counts, kept from the connection's snapshot and events; and the decision of what to announce.

Announcing follows the protocol's sequence numbers: a call is announced when its event arrives,
once. After a reconnect the fresh snapshot's recent calls are compared with the highest sequence
number this display has already handled: the calls it missed are announced once, in order, if
they are recent enough to still matter; nothing it has heard before is announced again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, Signal

from client.connection import Connection
from display.voicepack import VoiceStyle

CALL_KINDS = frozenset({"ticket.called", "ticket.recalled"})
AT_COUNTER = frozenset({"called", "serving"})


@dataclass(frozen=True)
class Call:
    seq: int
    kind: str
    at: datetime
    label: str
    field_id: int | None
    counter_id: int | None
    counter_number: int | None

    @property
    def recall(self) -> bool:
        return self.kind == "ticket.recalled"


class DisplayModel(QObject):
    changed = Signal()
    announce = Signal(object)  # Call: to be spoken and highlighted, in order

    def __init__(
        self,
        connection: Connection,
        *,
        counter_numbers: list[int] | None = None,
        field_codes: list[str] | None = None,
        recent_limit: int = 5,
        missed_call_seconds: float = 60.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.connection = connection
        self.counter_numbers = set(counter_numbers or [])
        self.field_codes = set(field_codes or [])
        self.recent_limit = recent_limit
        self.missed_call_seconds = missed_call_seconds
        self.centre: dict[str, Any] = {}
        self.fields: dict[int, dict[str, Any]] = {}
        self.counters: dict[int, dict[str, Any]] = {}
        self.recent: list[Call] = []
        # The highest event sequence number already handled (announced or deliberately skipped).
        self.handled_seq: int | None = None
        connection.snapshot_received.connect(self.apply_snapshot)
        connection.event_received.connect(self.apply_event)
        connection.online_changed.connect(lambda _online: self.changed.emit())

    @property
    def online(self) -> bool:
        return self.connection.online

    @property
    def timezone(self) -> str:
        return str(self.centre.get("timezone") or "Asia/Ho_Chi_Minh")

    @property
    def voice_enabled(self) -> bool:
        return bool(self.centre.get("voice_enabled", True))

    @property
    def voice_style(self) -> VoiceStyle:
        """How the centre's administrator chose calls to be read (the admin console's voice options)."""
        odd_word = self.centre.get("voice_odd_word")
        return VoiceStyle(
            repeat=int(self.centre.get("voice_repeat") or 2),
            digit_by_digit=bool(self.centre.get("voice_digit_by_digit", False)),
            odd_word="lẻ" if odd_word == "lẻ" else "linh",
        )

    # --- what this display shows ----------------------------------------------------------------

    def shows_field(self, field_id: int | None) -> bool:
        if not self.field_codes:
            return True
        field = self.fields.get(field_id or 0)
        return field is not None and field["code"] in self.field_codes

    def shows_counter(self, counter: dict[str, Any]) -> bool:
        if self.counter_numbers and counter["number"] not in self.counter_numbers:
            return False
        return not self.field_codes or any(self.shows_field(f) for f in counter["field_ids"])

    def shows_call(self, call: Call) -> bool:
        counter = self.counters.get(call.counter_id or 0)
        if counter is not None and not self.shows_counter(counter):
            return False
        return self.shows_field(call.field_id)

    def board_counters(self) -> list[dict[str, Any]]:
        """Every open or paused counter this display shows, by number."""
        return sorted(
            (c for c in self.counters.values() if c["active"] and c["state"] != "closed" and self.shows_counter(c)),
            key=lambda c: c["number"],
        )

    def waiting_fields(self) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self.fields.values() if f["active"] and self.shows_field(f["id"])),
            key=lambda f: (f["display_order"], f["id"]),
        )

    def field_name(self, field_id: int | None) -> str:
        field = self.fields.get(field_id or 0)
        return str(field["name"]) if field else ""

    # --- applying the server's state ------------------------------------------------------------

    def apply_snapshot(self, state: dict[str, Any]) -> None:
        self.centre = state["centre"]
        self.fields = {f["id"]: f for f in state["fields"]}
        self.counters = {c["id"]: c for c in state["counters"]}
        calls = sorted((_call(c) for c in state["recent_calls"]), key=lambda c: c.seq)
        self.recent = [c for c in reversed(calls) if self.shows_call(c)][: self.recent_limit]
        if self.handled_seq is not None and int(state["seq"]) < self.handled_seq:
            # The server's history went back (a backup was restored): every number from here is new.
            self.handled_seq = int(state["seq"])
        if self.handled_seq is not None:
            # Back after a disconnection (or a resync, which drops the events on their way): say
            # the calls made meanwhile, once, oldest first. "Recent" is by the server's clock, as
            # the calls' times are: a display PC whose clock is a few minutes off would otherwise
            # say nothing, or calls long gone.
            server_now = datetime.fromisoformat(state["now"]) if state.get("now") else datetime.now(UTC)
            cutoff = server_now - timedelta(seconds=self.missed_call_seconds)
            for call in calls:
                if call.seq > self.handled_seq and call.at >= cutoff and self.shows_call(call):
                    self.announce.emit(call)
        # A display just switched on stays quiet about calls made before it was there.
        self.handled_seq = max(int(state["seq"]), self.handled_seq or 0)
        self.changed.emit()

    def apply_event(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        for queue in event.get("queues") or []:
            field = self.fields.get(queue["field_id"])
            if field is not None:
                field.update({k: queue[k] for k in ("waiting", "waiting_priority", "open_counters", "wait_minutes")})
        ticket = event.get("ticket")
        counter = self.counters.get(event.get("counter_id") or 0)
        if ticket is not None and counter is not None:
            if ticket["state"] in AT_COUNTER and ticket["counter_id"] == counter["id"]:
                counter["current"] = {"id": ticket["id"], "label": ticket["label"], "field": {"id": ticket["field_id"]}}
            elif (counter.get("current") or {}).get("id") == ticket["id"]:
                counter["current"] = None
        if counter is not None and kind.startswith("counter.") and event.get("to_state"):
            counter["state"] = event["to_state"]
        if kind in ("config.updated", "counter.opened", "counter.closed", "day.started"):
            # Names, filters' fields, the officer or the day changed (a new day leaves yesterday's
            # calls off the board): the snapshot has the whole picture.
            self.connection.request_snapshot()
        seq = int(event["seq"])
        already_handled = self.handled_seq is not None and seq <= self.handled_seq
        self.handled_seq = max(seq, self.handled_seq or 0)
        if kind in CALL_KINDS and ticket is not None and not already_handled:
            call = Call(
                seq=seq,
                kind=kind,
                at=datetime.fromisoformat(event["at"]),
                label=ticket["label"],
                field_id=ticket["field_id"],
                counter_id=event.get("counter_id"),
                counter_number=event.get("counter_number"),
            )
            if self.shows_call(call):
                self.recent = [call, *[c for c in self.recent if c.seq != call.seq]][: self.recent_limit]
                self.announce.emit(call)
        self.changed.emit()


def _call(data: dict[str, Any]) -> Call:
    return Call(
        seq=int(data["seq"]),
        kind=data["kind"],
        at=datetime.fromisoformat(data["at"]),
        label=data["ticket_label"],
        field_id=data.get("field_id"),
        counter_id=data.get("counter_id"),
        counter_number=data.get("counter_number"),
    )
