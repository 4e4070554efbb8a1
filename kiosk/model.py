"""The kiosk's one state object: the centre's fields and priority groups as the server last said,
kept live from the connection's snapshot and events."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from client.connection import Connection

# Opening hours change whether a field takes numbers without any event being sent; a fresh
# snapshot now and then keeps the buttons right.
REFRESH_SECONDS = 60


class KioskModel(QObject):
    changed = Signal()

    def __init__(self, connection: Connection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connection = connection
        self.centre: dict[str, Any] = {}
        self.fields: list[dict[str, Any]] = []
        self.priority_groups: list[dict[str, Any]] = []
        self.service_day = ""
        connection.snapshot_received.connect(self._on_snapshot)
        connection.event_received.connect(self._on_event)
        connection.online_changed.connect(lambda _online: self.changed.emit())
        self._refresh = QTimer(self)
        self._refresh.setInterval(REFRESH_SECONDS * 1000)
        self._refresh.timeout.connect(connection.request_snapshot)
        self._refresh.start()

    @property
    def online(self) -> bool:
        return self.connection.online

    @property
    def timezone(self) -> str:
        return str(self.centre.get("timezone") or "Asia/Ho_Chi_Minh")

    def visible_fields(self) -> list[dict[str, Any]]:
        return sorted((f for f in self.fields if f["active"]), key=lambda f: (f["display_order"], f["id"]))

    def active_priority_groups(self) -> list[dict[str, Any]]:
        return sorted((g for g in self.priority_groups if g["active"]), key=lambda g: (g["display_order"], g["id"]))

    def field(self, field_id: int) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["id"] == field_id), None)

    def _on_snapshot(self, state: dict[str, Any]) -> None:
        self.centre = state["centre"]
        self.fields = state["fields"]
        self.priority_groups = state["priority_groups"]
        self.service_day = state["service_day"]
        self.changed.emit()

    def _on_event(self, event: dict[str, Any]) -> None:
        for queue in event.get("queues") or []:
            field = self.field(queue["field_id"])
            if field is not None:
                for key in ("waiting", "waiting_priority", "open_counters", "wait_minutes"):
                    field[key] = queue[key]
        kind = event["kind"]
        issued_field = self.field(event.get("field_id") or 0) if kind == "ticket.issued" else None
        if kind in ("config.updated", "day.started") or (issued_field is not None and issued_field["remaining_today"] <= 1):
            # Names, hours, the day or its last number changed: the server says what is open now.
            self.connection.request_snapshot()
        elif issued_field is not None:
            issued_field["issued_today"] += 1
            issued_field["remaining_today"] -= 1
        self.changed.emit()
