"""The citizen-facing rating screen: a second window for a small screen or tablet turned to the
citizen. After "Hoàn thành" it asks how satisfied they are, with large buttons, and for a reason
when they are not; one rating per ticket; it goes quiet again if nobody answers."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from client.connection import Reply
from counter.model import CounterModel
from counter.widgets import label

log = logging.getLogger(__name__)

THANKS_SECONDS = 5
# What the citizen reads when the server refuses for a reason meant for the officer (too late, not
# signed in): the citizen can do nothing about it, so no details.
NOT_RECORDED = "Rất tiếc, hệ thống chưa ghi nhận được đánh giá này. Xin cảm ơn ông/bà!"
CENTER = Qt.AlignmentFlag.AlignHCenter

# Calm colours from best to worst; a scale of 3, 4 or 5 takes them by position from each end.
BEST_TO_WORST = ["#1b7f3b", "#4f9d2d", "#c99400", "#d9480f", "#b91c1c"]


def level_colours(count: int) -> list[str]:
    picks = {3: [0, 2, 3], 4: [0, 1, 2, 3], 5: [0, 1, 2, 3, 4]}.get(count, list(range(count)))
    return [BEST_TO_WORST[i % len(BEST_TO_WORST)] for i in picks]


def face(colour: str, mood: float, size: int = 96) -> QPixmap:
    """A face drawn in code (no emoji font needed): mood 1 smiles broadly, 0 frowns."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#ffffff"))
    painter.setPen(QPen(QColor(colour), size * 0.06))
    margin = size * 0.06
    painter.drawEllipse(QRectF(margin, margin, size - 2 * margin, size - 2 * margin))
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    for x in (0.36, 0.64):
        painter.drawEllipse(QPointF(size * x, size * 0.40), size * 0.06, size * 0.06)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(colour), size * 0.06, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    curve = (mood - 0.5) * 2 * size * 0.14  # positive: the mouth's middle drops into a smile
    mouth = QPainterPath(QPointF(size * 0.30, size * 0.66))
    mouth.quadTo(QPointF(size * 0.50, size * 0.66 + curve), QPointF(size * 0.70, size * 0.66))
    painter.drawPath(mouth)
    painter.end()
    return pixmap


class LevelButton(QPushButton):
    """One level: the face above its name, both inside one large touch target."""

    def __init__(self, text: str, colour: str, mood: float) -> None:
        super().__init__()
        self.setObjectName("level")
        self.setMinimumHeight(200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet(f"QPushButton#level {{ border-color: {colour}; }} QLabel {{ color: {colour}; }}")
        self.setAccessibleName(text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 16, 8, 16)
        layout.addStretch(1)
        self.icon_label = QLabel()
        self.icon_label.setPixmap(face(colour, mood, 112))
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = label(text, "levelTitle", align=CENTER)
        for part in (self.icon_label, self.title):
            part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(part)
        layout.addStretch(1)


STYLE = """
QWidget { background: #f4f7fb; color: #14213d; }
QLabel { background: transparent; }
#ratingTitle { font-size: 34px; font-weight: 700; color: #0b5cad; }
#ratingTicket { font-size: 24px; color: #4a5568; }
#ratingIdle { font-size: 40px; font-weight: 700; color: #0b5cad; }
#ratingIdleDetail { font-size: 24px; color: #4a5568; }
#ratingThanks { font-size: 44px; font-weight: 700; color: #1b7f3b; }
#ratingError { font-size: 20px; font-weight: 700; color: #c8102e; }
QPushButton#level { background: #ffffff; border: 3px solid #b8c4d3; border-radius: 16px; padding: 12px; }
QPushButton#level:pressed { background: #e6eef8; }
#levelTitle { font-size: 26px; font-weight: 700; }
QPushButton#reason { background: #ffffff; border: 2px solid #b8c4d3; border-radius: 12px; font-size: 20px;
    padding: 14px; }
QPushButton#reason:checked { background: #0b5cad; color: #ffffff; border-color: #0b5cad; }
QPushButton#send { background: #0b5cad; color: #ffffff; border: none; border-radius: 12px; font-size: 24px;
    font-weight: 700; padding: 16px; }
QPushButton#skip { background: #ffffff; border: 2px solid #b8c4d3; border-radius: 12px; font-size: 20px; padding: 14px; }
QPushButton:disabled { color: #8a94a6; }
QLineEdit { background: #ffffff; border: 2px solid #b8c4d3; border-radius: 10px; padding: 12px; font-size: 20px; }
"""


class RatingWindow(QWidget):
    rated = Signal(dict)  # the stored rating, as the server answered
    dismissed = Signal()  # nobody answered in time

    def __init__(self, model: CounterModel, answer_seconds: float = 45.0, dedicated: bool = False) -> None:
        super().__init__()
        self.model = model
        self.answer_seconds = answer_seconds
        # On its own screen the window stays, showing a greeting between citizens; otherwise it
        # appears for a rating and goes away again.
        self.dedicated = dedicated
        self.ticket: dict[str, Any] | None = None
        self.level: dict[str, Any] | None = None
        self.sending = False
        # Appearing must not take the keyboard from the officer's window (F1–F6).
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setWindowTitle("Đánh giá mức độ hài lòng")
        self.setStyleSheet(STYLE)
        self.setMinimumSize(800, 560)
        layout = QVBoxLayout(self)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)

        self.idle_page = QWidget()
        idle = QVBoxLayout(self.idle_page)
        idle.addStretch(1)
        self.idle_title = label("Xin kính chào ông/bà", "ratingIdle", align=CENTER)
        self.idle_detail = label("", "ratingIdleDetail", align=CENTER)
        idle.addWidget(self.idle_title)
        idle.addWidget(self.idle_detail)
        idle.addStretch(1)

        self.ask_page = QWidget()
        ask = QVBoxLayout(self.ask_page)
        ask.setSpacing(16)
        ask.addWidget(label("Ông/bà có hài lòng với sự phục vụ của chúng tôi không?", "ratingTitle", align=CENTER))
        self.ticket_line = label("", "ratingTicket", align=CENTER)
        ask.addWidget(self.ticket_line)
        self.levels_box = QHBoxLayout()
        self.levels_box.setSpacing(16)
        ask.addLayout(self.levels_box, 1)
        self.ask_error = label("", "ratingError", align=CENTER)
        ask.addWidget(self.ask_error)
        self.level_buttons: list[LevelButton] = []

        self.reason_page = QWidget()
        reason = QVBoxLayout(self.reason_page)
        reason.setSpacing(14)
        reason.addWidget(label("Xin ông/bà cho biết điều chưa hài lòng", "ratingTitle", align=CENTER))
        reason.addWidget(label("Có thể chọn nhiều ý, hoặc bỏ qua", "ratingTicket", align=CENTER))
        self.reasons_grid = QGridLayout()
        self.reasons_grid.setSpacing(12)
        reason.addLayout(self.reasons_grid)
        self.reason_text = QLineEdit()
        self.reason_text.setPlaceholderText("Ý kiến khác (không bắt buộc)")
        self.reason_text.setMaxLength(300)
        reason.addWidget(self.reason_text)
        reason.addStretch(1)
        self.reason_error = label("", "ratingError", align=CENTER)
        reason.addWidget(self.reason_error)
        row = QHBoxLayout()
        self.skip_button = QPushButton("Gửi, không nêu lý do")
        self.skip_button.setObjectName("skip")
        self.send_button = QPushButton("Gửi đánh giá")
        self.send_button.setObjectName("send")
        row.addWidget(self.skip_button, 1)
        row.addWidget(self.send_button, 2)
        reason.addLayout(row)
        self.reason_buttons: list[QPushButton] = []
        self.skip_button.clicked.connect(lambda: self._send(""))
        self.send_button.clicked.connect(lambda: self._send(self.reason()))

        self.thanks_page = QWidget()
        thanks = QVBoxLayout(self.thanks_page)
        thanks.addStretch(1)
        thanks.addWidget(label("Xin cảm ơn ông/bà!", "ratingThanks", align=CENTER))
        thanks.addWidget(label("Ý kiến của ông/bà giúp chúng tôi phục vụ tốt hơn.", "ratingIdleDetail", align=CENTER))
        thanks.addStretch(1)

        for page in (self.idle_page, self.ask_page, self.reason_page, self.thanks_page):
            self.stack.addWidget(page)
        self._timeout = QTimer(self, singleShot=True)
        self._timeout.timeout.connect(self._nobody_answered)
        self._back = QTimer(self, singleShot=True)
        self._back.timeout.connect(self.go_idle)
        model.changed.connect(self._show_greeting)
        # The officer left: no rating can be stored for this counter any more.
        model.signed_out.connect(lambda _why: self.go_idle())
        model.choose_counter.connect(lambda _counters: self.go_idle())

    # --- flow -------------------------------------------------------------------------------------

    def ask(self, ticket: dict[str, Any]) -> None:
        """Ask about this ticket; a rating still open for an earlier one is dropped quietly."""
        if not self.model.rating_scale:
            log.warning("no rating scale from the server yet; not asking about %s", ticket.get("label"))
            return
        self._send_unfinished()
        self.ticket = ticket
        self.level = None
        self.sending = False
        self._enable(True)
        self.ticket_line.setText(f"Số {ticket['label']} · {ticket['field']['name']}")
        self.ask_error.setText("")
        self._build_levels()
        self._build_reasons()
        self.stack.setCurrentWidget(self.ask_page)
        self._back.stop()
        self._timeout.start(int(self.answer_seconds * 1000))
        if not self.isVisible():
            self.show()

    def _build_levels(self) -> None:
        for button in self.level_buttons:
            button.deleteLater()
        self.level_buttons = []
        scale = self.model.rating_scale
        colours = level_colours(len(scale))
        for index, (level, colour) in enumerate(zip(scale, colours, strict=True)):
            mood = 1 - index / max(len(scale) - 1, 1)
            button = LevelButton(level["label"], colour, mood)
            button.clicked.connect(lambda _=False, chosen=level: self.choose(chosen))
            self.levels_box.addWidget(button)
            self.level_buttons.append(button)

    def _build_reasons(self) -> None:
        for button in self.reason_buttons:
            button.deleteLater()
        self.reason_buttons = []
        for index, text in enumerate(self.model.rating_reasons):
            button = QPushButton(text)
            button.setObjectName("reason")
            button.setCheckable(True)
            button.setMinimumHeight(64)
            # Still choosing: give the citizen the full time again.
            button.toggled.connect(lambda _on: self._timeout.start(int(self.answer_seconds * 1000)))
            self.reasons_grid.addWidget(button, index // 2, index % 2)
            self.reason_buttons.append(button)
        self.reason_text.clear()
        self.reason_error.setText("")

    def choose(self, level: dict[str, Any]) -> None:
        if self.sending or self.ticket is None:
            return  # a second tap while the first is on its way
        self.level = level
        if level.get("asks_reason"):
            self.stack.setCurrentWidget(self.reason_page)
            self._timeout.start(int(self.answer_seconds * 1000))
        else:
            self._send("")

    def reason(self) -> str:
        chosen = [b.text() for b in self.reason_buttons if b.isChecked()]
        typed = self.reason_text.text().strip()
        return "; ".join([*chosen, typed] if typed else chosen)[:500]

    def _send(self, reason: str) -> None:
        if self.sending or self.ticket is None or self.level is None:
            return
        self.sending = True
        self._enable(False)
        self._timeout.stop()
        ticket_id = self.ticket["id"]
        self.model.rate(ticket_id, int(self.level["level"]), reason, lambda reply: self._answered(ticket_id, reply))

    def _send_unfinished(self) -> None:
        """A level chosen but the reasons never sent (time ran out, or the next citizen is already
        being asked): an unsatisfied answer is the most useful one, so it is sent with whatever
        reasons were ticked, quietly."""
        if self.ticket is not None and self.level is not None and not self.sending:
            self.model.rate(self.ticket["id"], int(self.level["level"]), self.reason(), lambda _reply: None)
        self.level = None

    def _answered(self, ticket_id: int, reply: Reply) -> None:
        if self.ticket is None or self.ticket["id"] != ticket_id:
            return  # an answer for an earlier citizen: this screen has moved on
        self.sending = False
        self._enable(True)
        if reply.ok or reply.code == "already_rated":
            if reply.ok:
                self.rated.emit(reply.data)
            self.stack.setCurrentWidget(self.thanks_page)
            self._back.start(THANKS_SECONDS * 1000)
            return
        if reply.unreachable:
            # Nothing was stored: the citizen may tap again.
            error = "Chưa gửi được đánh giá do mất kết nối. Xin ông/bà vui lòng bấm lại."
            self.ask_error.setText(error)
            self.reason_error.setText(error)
            self._timeout.start(int(self.answer_seconds * 1000))
            return
        # Refused for good (too late, the officer signed out): say so briefly, then rest.
        log.info("rating of ticket %s refused: %s %s", ticket_id, reply.code, reply.message)
        self.ask_error.setText(NOT_RECORDED)
        self.reason_error.setText(NOT_RECORDED)
        self._back.start(THANKS_SECONDS * 1000)

    def _enable(self, enabled: bool) -> None:
        for button in [*self.level_buttons, self.send_button, self.skip_button]:
            button.setEnabled(enabled)

    def _nobody_answered(self) -> None:
        if self.level is not None:
            self._send_unfinished()
        else:
            self.dismissed.emit()
        self.go_idle()

    def go_idle(self) -> None:
        self._timeout.stop()
        self._back.stop()
        self.ticket = None
        self.level = None
        self.stack.setCurrentWidget(self.idle_page)
        self._show_greeting()
        if not self.dedicated:
            self.hide()

    def _show_greeting(self) -> None:
        counter = self.model.counter or {}
        officer = (self.model.officer or {}).get("full_name") or (counter.get("officer") or {}).get("full_name", "")
        number = counter.get("number")
        self.idle_detail.setText(
            "\n".join(part for part in (f"Quầy số {number}" if number else "", f"Cán bộ: {officer}" if officer else "") if part)
        )
