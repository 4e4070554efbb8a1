"""The waiting-room board for a 1920×1080 TV: the newest call large (blinking for a few seconds),
every open counter with the number it serves, the last calls, people waiting per field and a
scrolling notice line. Sizes follow the screen height so it reads from eight metres."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor, QFont, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from client.theme import BOARD, date_line, local_now
from client.theme import label as shared_label
from display.announcer import Announcer
from display.model import Call, DisplayModel

BLINK_MS = 500


def _label(
    text: str = "", name: str = "", align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
) -> QLabel:
    return shared_label(text, name, wrap=False, align=align)


class Marquee(QWidget):
    """The notice line, scrolling right to left."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.offset = 0.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._step)
        self._timer.start(30)

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.offset = float(self.width())
            self.setVisible(bool(text))

    def _step(self) -> None:
        width = self.fontMetrics().horizontalAdvance(self.text)
        self.offset -= max(self.height() / 20, 1.5)
        if self.offset < -width:
            self.offset = float(self.width())
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BOARD.accent))
        painter.setPen(QColor(BOARD.accent_text))
        painter.setFont(self.font())
        painter.drawText(QRectF(self.offset, 0, 100000, self.height()), Qt.AlignmentFlag.AlignVCenter, self.text)


class DisplayWindow(QWidget):
    def __init__(
        self, model: DisplayModel, announcer: Announcer | None, *, highlight_seconds: float = 8.0, show_waiting: bool = True
    ) -> None:
        super().__init__()
        self.setWindowTitle("Màn hình gọi số")
        self.setObjectName("board")
        self.model = model
        self.announcer = announcer
        self.highlight_seconds = highlight_seconds
        self.show_waiting = show_waiting
        self.highlighted: Call | None = None
        self._blinks_left = 0
        self._blink_on = False
        self._counter_rows: list[tuple[QLabel, QLabel, QLabel]] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 0)
        header = QHBoxLayout()
        self.centre_name = _label("", "centreName")
        self.centre_name.setWordWrap(True)
        self.clock = _label("", "clock", Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.date = _label("", "date", Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        clock_box = QVBoxLayout()
        clock_box.addWidget(self.clock)
        clock_box.addWidget(self.date)
        header.addWidget(self.centre_name, 1)
        header.addLayout(clock_box)
        outer.addLayout(header)
        self.offline = _label("Mất kết nối – đang kết nối lại…", "offline", Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.offline)

        body = QHBoxLayout()
        left = QVBoxLayout()
        self.call_panel = QFrame()
        self.call_panel.setObjectName("callPanel")
        call_layout = QVBoxLayout(self.call_panel)
        self.call_title = _label("MỜI CÔNG DÂN CÓ SỐ", "callTitle", Qt.AlignmentFlag.AlignCenter)
        self.call_number = _label("—", "callNumber", Qt.AlignmentFlag.AlignCenter)
        self.call_counter = _label("", "callCounter", Qt.AlignmentFlag.AlignCenter)
        self.call_field = _label("", "callField", Qt.AlignmentFlag.AlignCenter)
        for widget in (self.call_title, self.call_number, self.call_counter, self.call_field):
            call_layout.addWidget(widget)
        left.addWidget(self.call_panel, 5)

        self.counters_frame = QFrame()
        self.counters_frame.setObjectName("panel")
        self.counters_grid = QGridLayout(self.counters_frame)
        self.counters_grid.setHorizontalSpacing(48)
        left.addWidget(self.counters_frame, 6)
        body.addLayout(left, 62)

        right = QVBoxLayout()
        self.recent_frame = QFrame()
        self.recent_frame.setObjectName("panel")
        recent_layout = QVBoxLayout(self.recent_frame)
        recent_layout.addWidget(_label("VỪA GỌI", "panelTitle"))
        self.recent_labels = [_label("", "recent") for _ in range(model.recent_limit)]
        for label in self.recent_labels:
            recent_layout.addWidget(label)
        recent_layout.addStretch(1)
        right.addWidget(self.recent_frame, 5)
        self.waiting_frame = QFrame()
        self.waiting_frame.setObjectName("panel")
        self.waiting_layout = QGridLayout(self.waiting_frame)
        right.addWidget(self.waiting_frame, 6)
        self.waiting_frame.setVisible(show_waiting)
        body.addLayout(right, 38)
        outer.addLayout(body, 1)

        self.marquee = Marquee()
        outer.addWidget(self.marquee)

        self._blink = QTimer(self)
        self._blink.timeout.connect(self._blink_step)
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        model.changed.connect(self.refresh)
        model.announce.connect(self.on_call)
        self.apply_style()
        self.refresh()

    # --- look -----------------------------------------------------------------------------------

    def apply_style(self) -> None:
        p = BOARD
        h = max(self.height(), 400)
        self.setStyleSheet(
            f"""
            QWidget#board {{ background: {p.background}; }}
            QLabel {{ color: {p.text}; font-size: {h * 0.032:.0f}px; }}
            QLabel#centreName {{ font-size: {h * 0.036:.0f}px; font-weight: bold; }}
            QLabel#clock {{ font-size: {h * 0.05:.0f}px; font-weight: bold; color: {p.accent}; }}
            QLabel#date {{ font-size: {h * 0.026:.0f}px; color: {p.muted}; }}
            QLabel#offline {{ background: {p.warning}; color: {p.warning_text}; font-size: {h * 0.034:.0f}px;
                font-weight: bold; padding: 8px; border-radius: 8px; }}
            QFrame#callPanel {{ background: {p.surface}; border: 4px solid {p.accent}; border-radius: 18px; }}
            QFrame#callPanel[blink="true"] {{ background: {p.highlight}; }}
            QFrame#callPanel[blink="true"] QLabel {{ color: {p.highlight_text}; }}
            QLabel#callTitle {{ font-size: {h * 0.034:.0f}px; font-weight: bold; color: {p.muted}; }}
            QLabel#callNumber {{ font-size: {h * 0.20:.0f}px; font-weight: bold; color: {p.accent}; }}
            QLabel#callCounter {{ font-size: {h * 0.06:.0f}px; font-weight: bold; }}
            QLabel#callField {{ font-size: {h * 0.03:.0f}px; color: {p.muted}; }}
            QFrame#panel {{ background: {p.surface}; border: 2px solid {p.border}; border-radius: 14px; }}
            QLabel#panelTitle {{ font-size: {h * 0.03:.0f}px; font-weight: bold; color: {p.accent}; }}
            QLabel#counterNumber {{ font-size: {h * 0.042:.0f}px; font-weight: bold; }}
            QLabel#counterTicket {{ font-size: {h * 0.05:.0f}px; font-weight: bold; color: {p.accent}; }}
            QLabel#counterField {{ font-size: {h * 0.026:.0f}px; color: {p.muted}; }}
            QLabel#recent {{ font-size: {h * 0.038:.0f}px; font-weight: bold; }}
            QLabel#waitingName {{ font-size: {h * 0.027:.0f}px; }}
            QLabel#waitingCount {{ font-size: {h * 0.032:.0f}px; font-weight: bold; color: {p.accent}; }}
            """
        )
        font = QFont(self.font())
        font.setPixelSize(int(h * 0.034))
        self.marquee.setFont(font)
        self.marquee.setFixedHeight(int(h * 0.06))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_style()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.announcer is not None:
            self.announcer.stop()
        super().closeEvent(event)

    # --- state → screen -------------------------------------------------------------------------

    def refresh(self) -> None:
        model = self.model
        self.centre_name.setText(model.centre.get("name", ""))
        self.offline.setVisible(not model.online)
        self.marquee.set_text(model.centre.get("notice_text", ""))
        self._fill_counters(model.board_counters())
        for label, call in zip(self.recent_labels, [*model.recent, *[None] * len(self.recent_labels)], strict=False):
            label.setText(f"{call.label}  →  Quầy {call.counter_number}" if call else "")
        if self.show_waiting:
            self._fill_waiting(model.waiting_fields())
        if self.highlighted is None and model.recent:
            self._show_call(model.recent[0])
        self._tick()

    def _fill_counters(self, counters: list[dict[str, Any]]) -> None:
        while len(self._counter_rows) < len(counters) + 1:
            row = len(self._counter_rows)
            labels = (_label("", "counterNumber"), _label("", "counterTicket"), _label("", "counterField"))
            for column, label in enumerate(labels):
                self.counters_grid.addWidget(label, row, column)
            self._counter_rows.append(labels)
        header = self._counter_rows[0]
        header[0].setText("QUẦY")
        header[1].setText("ĐANG PHỤC VỤ")
        header[2].setText("LĨNH VỰC")
        for labels in header:
            labels.setObjectName("panelTitle")
        for index, labels in enumerate(self._counter_rows[1:]):
            counter = counters[index] if index < len(counters) else None
            number, ticket, field = labels
            if counter is None:
                for label in labels:
                    label.setText("")
                continue
            current = counter.get("current")
            number.setText(f"Quầy {counter['number']}")
            if counter["state"] == "paused":
                ticket.setText("Tạm dừng")
                field.setText("")
            else:
                ticket.setText(current["label"] if current else "—")
                field_id = current["field"]["id"] if current else (counter["field_ids"] or [None])[0]
                field.setText(self.model.field_name(field_id))
        self.counters_grid.setColumnStretch(1, 1)
        self.counters_grid.setColumnStretch(2, 2)
        for row in range(len(self._counter_rows)):
            self.counters_grid.setRowStretch(row, 0)
        self.counters_grid.setRowStretch(len(self._counter_rows), 1)

    def _fill_waiting(self, fields: list[dict[str, Any]]) -> None:
        while self.waiting_layout.count():
            item = self.waiting_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.waiting_layout.addWidget(_label("SỐ NGƯỜI ĐANG CHỜ", "panelTitle"), 0, 0, 1, 2)
        for row, field in enumerate(fields, start=1):
            self.waiting_layout.addWidget(_label(field["name"], "waitingName"), row, 0)
            self.waiting_layout.addWidget(_label(str(field["waiting"]), "waitingCount", Qt.AlignmentFlag.AlignRight), row, 1)
        self.waiting_layout.setRowStretch(len(fields) + 1, 1)

    def _tick(self) -> None:
        now = local_now(self.model.timezone)
        self.clock.setText(f"{now:%H:%M}")
        self.date.setText(date_line(now))

    # --- a new call -----------------------------------------------------------------------------

    def on_call(self, call: Call) -> None:
        self._show_call(call)
        self._blinks_left = int(self.highlight_seconds * 1000 / BLINK_MS)
        self._blink.start(BLINK_MS)
        if self.announcer is not None and call.counter_number is not None and self.model.voice_enabled:
            self.announcer.say_call(call.label, call.counter_number, self.model.voice_style)

    def _show_call(self, call: Call) -> None:
        self.highlighted = call
        self.call_number.setText(call.label)
        self.call_counter.setText(f"ĐẾN QUẦY SỐ {call.counter_number}")
        self.call_field.setText(self.model.field_name(call.field_id))

    def _blink_step(self) -> None:
        self._blinks_left -= 1
        self._blink_on = not self._blink_on and self._blinks_left > 0
        self.call_panel.setProperty("blink", self._blink_on)
        self.call_panel.style().unpolish(self.call_panel)
        self.call_panel.style().polish(self.call_panel)
        for child in self.call_panel.findChildren(QLabel):
            child.style().unpolish(child)
            child.style().polish(child)
        if self._blinks_left <= 0:
            self._blink.stop()
