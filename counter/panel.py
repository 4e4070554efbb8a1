"""`hangdoi counter --panel`: the small screen above a counter — "Quầy 3 — Đang phục vụ số 1005",
the fields served, and the officer's name and public phone. Read-only, from a counter-panel device
token bound to that counter."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from client.theme import BOARD
from counter.model import CounterModel
from counter.widgets import label

CENTER = Qt.AlignmentFlag.AlignHCenter
BLINK_SECONDS = 6


def panel_status(model: CounterModel) -> tuple[str, str]:
    """(the big line, the line under it) for the counter's state."""
    counter = model.counter
    if counter is None:
        if model.refusal:
            return "Màn hình quầy chưa hoạt động", model.refusal
        return "", "Đang kết nối…"
    ticket = counter.get("current")
    if not counter.get("active", True):
        return "Quầy ngừng hoạt động", ""
    if counter["state"] == "closed":
        return "Quầy tạm đóng", "Xin mời ông/bà đến quầy khác hoặc chờ trong giây lát"
    if ticket is not None:
        # Called or already being served: to the citizens in front of the counter it is the same
        # number (many officers never press a separate "start"); a new call or a recall blinks.
        return f"Đang phục vụ số {ticket['label']}", ticket["field"]["name"]
    if counter["state"] == "paused":
        return "Tạm dừng", "Xin ông/bà vui lòng chờ trong giây lát"
    return "Sẵn sàng phục vụ", "Xin mời công dân có số tiếp theo"


class PanelWindow(QWidget):
    def __init__(self, model: CounterModel) -> None:
        super().__init__()
        self.model = model
        self.setWindowTitle("hangdoi – Màn hình quầy")
        p = BOARD
        self.setStyleSheet(
            f"""
            QWidget {{ background: {p.background}; color: {p.text}; }}
            QLabel {{ background: transparent; }}
            #panelCounter {{ color: {p.text}; font-weight: 700; }}
            #panelStatus {{ color: {p.accent}; font-weight: 700; }}
            #panelStatus[blink="true"] {{ color: {p.background}; background: {p.accent}; border-radius: 12px; }}
            #panelDetail, #panelFields {{ color: {p.muted}; }}
            #panelOfficer {{ color: {p.text}; border-top: 2px solid {p.border}; padding-top: 8px; }}
            #panelOffline {{ background: {p.warning}; color: {p.warning_text}; font-weight: 700; padding: 6px; }}
            """
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        self.offline = label("Mất kết nối – đang kết nối lại…", "panelOffline", align=CENTER)
        self.offline.hide()
        self.counter_label = label("", "panelCounter", wrap=False, align=CENTER)
        self.status = label("", "panelStatus", align=CENTER)
        self.detail = label("", "panelDetail", align=CENTER)
        self.fields = label("", "panelFields", align=CENTER)
        self.officer = label("", "panelOfficer", align=CENTER)
        layout.addWidget(self.offline)
        layout.addWidget(self.counter_label)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.fields)
        layout.addWidget(self.officer)
        self._last_call: tuple[int, int] | None = None
        self._blinks = 0
        self._blink = QTimer(self)
        self._blink.timeout.connect(self._toggle_blink)
        model.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        counter = model.counter or {}
        self.offline.setVisible(not model.online)
        self.counter_label.setText(f"QUẦY {counter['number']}" if counter else "")
        status, detail = panel_status(model)
        self.status.setText(status)
        self.detail.setText(detail)
        self.fields.setText("Lĩnh vực: " + ", ".join(model.field_names()) if model.field_names() else "")
        officer = counter.get("officer")
        if officer:
            phone = f" · Điện thoại: {officer['phone']}" if officer.get("phone") else ""
            self.officer.setText(f"Cán bộ: {officer['full_name']}{phone}")
        else:
            self.officer.setText("")
        ticket = counter.get("current")
        call = (ticket["id"], ticket["recall_count"]) if ticket else None
        if call is not None and call != self._last_call:
            self._blinks = BLINK_SECONDS * 2
            self._blink.start(500)
        self._last_call = call

    def _toggle_blink(self) -> None:
        self._blinks -= 1
        on = self._blinks > 0 and self._blinks % 2 == 1
        self.status.setProperty("blink", on)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        if self._blinks <= 0:
            self._blink.stop()

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Sizes follow the screen: the same panel runs on a 7-inch strip or a 22-inch monitor.
        height = max(event.size().height(), 200)
        width = max(event.size().width(), 300)
        unit = min(height / 10, width / 16)
        for widget, factor, bold in (
            (self.counter_label, 1.6, True),
            (self.status, 2.0, True),
            (self.detail, 0.7, False),
            (self.fields, 0.6, False),
            (self.officer, 0.7, False),
            (self.offline, 0.5, True),
        ):
            set_font(widget, int(unit * factor), bold)
        super().resizeEvent(event)


def set_font(widget: QLabel, pixels: int, bold: bool) -> None:
    font = QFont(widget.font())
    font.setPixelSize(max(pixels, 10))
    font.setBold(bold)
    widget.setFont(font)
