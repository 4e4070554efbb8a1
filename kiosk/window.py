"""The kiosk's touch screens: home (fields, priority, text size, contrast), priority groups, the
ticket just issued, and the PIN-guarded admin menu."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from client.connection import Connection, Reply
from client.theme import HIGH_CONTRAST, NORMAL, Palette, date_line, label, local_now, to_local
from kiosk.model import KioskModel
from kiosk.print_worker import STATE_TEXT, PrintOutcome, PrintService
from kiosk.printer import PrinterState
from kiosk.ticket_image import TicketContent, test_ticket_content

log = logging.getLogger(__name__)

TEXT_SCALES = {"A−": 0.85, "A": 1.0, "A+": 1.25}
# A second tap this soon after the ticket appears belongs to the first tap, not to "Xong".
TICKET_TAP_GUARD_SECONDS = 1.0
ISSUE_RETRY_SECONDS = 8.0


class BigButton(QPushButton):
    """A touch button with a title and a line of detail, both wrapping: long Vietnamese names
    must never widen the window or be cut off."""

    def __init__(self, name: str, title: str = "", detail: str = "") -> None:
        super().__init__()
        self.setObjectName(name)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        self.name = label(title, name="bigTitle")
        self.detail = label(detail, name="bigDetail")
        for part in (self.name, self.detail):
            part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            part.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(part)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())


class FieldButton(BigButton):
    """One procedure field: its name, then how many wait and for how long, or why it does not
    take numbers now."""

    def __init__(self, field_id: int) -> None:
        super().__init__("field")
        self.field_id = field_id

    def show_field(self, field: dict[str, Any], usable: bool) -> None:
        self.name.setText(field["name"])
        if not field["taking_numbers"]:
            self.detail.setText(field["closed_reason"] or "Tạm ngừng cấp số")
        elif field["waiting"] == 0:
            self.detail.setText("Không có người chờ")
        else:
            self.detail.setText(f"Đang chờ: {field['waiting']} người · khoảng {field['wait_minutes']} phút")
        self.setProperty("closed", not field["taking_numbers"])
        self.setEnabled(usable and field["taking_numbers"])
        self.style().unpolish(self)
        self.style().polish(self)


class PinDialog(QDialog):
    """A numeric keypad for the admin PIN; touch friendly, no physical keyboard needed."""

    def __init__(self, pin: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quản trị máy lấy số")
        self.setObjectName("pinDialog")
        self.pin = pin
        layout = QVBoxLayout(self)
        layout.addWidget(label("Nhập mã PIN quản trị", "pinTitle"))
        self.entry = QLineEdit()
        self.entry.setEchoMode(QLineEdit.EchoMode.Password)
        self.entry.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.entry.returnPressed.connect(self.check)
        layout.addWidget(self.entry)
        self.error = label("", "pinError")
        layout.addWidget(self.error)
        keys = QGridLayout()
        for index, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "Xoá", "0", "OK"]):
            button = QPushButton(key)
            button.setObjectName("pinKey")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            keys.addWidget(button, index // 3, index % 3)
        layout.addLayout(keys)
        cancel = QPushButton("Huỷ")
        cancel.setObjectName("secondary")
        cancel.clicked.connect(self.reject)
        layout.addWidget(cancel)

    def press(self, key: str) -> None:
        if key == "Xoá":
            self.entry.clear()
        elif key == "OK":
            self.check()
        else:
            self.entry.insert(key)

    def check(self) -> None:
        if self.pin and self.entry.text() == self.pin:
            self.accept()
        else:
            self.error.setText("Mã PIN không đúng.")
            self.entry.clear()


class KioskWindow(QWidget):
    ticket_shown = Signal(dict)  # the issued ticket, as the server returned it
    print_finished = Signal(object)  # PrintOutcome

    def __init__(
        self,
        connection: Connection,
        printing: PrintService,
        *,
        admin_pin: str = "",
        ticket_seconds: float = 8.0,
        ticket_seconds_on_fault: float = 20.0,
        orientation: str = "auto",
    ) -> None:
        super().__init__()
        self.setWindowTitle("Máy lấy số thứ tự")
        self.connection = connection
        self.model = KioskModel(connection, self)
        self.printing = printing
        self.admin_pin = admin_pin
        self.ticket_seconds = ticket_seconds
        self.ticket_seconds_on_fault = ticket_seconds_on_fault
        self.orientation = orientation
        self.locked = bool(admin_pin)
        self.text_scale = 1.0
        self.palette_ = NORMAL
        self.priority_group: dict[str, Any] | None = None
        self.issuing = False
        self.last_ticket: dict[str, Any] | None = None
        self.last_print_failed = False
        self._print_job = 0
        self._ticket_shown_at = 0.0
        self._field_buttons: dict[int, FieldButton] = {}
        self._columns = 0

        self.stack = QStackedWidget()
        self.home = self._build_home()
        self.priority_page = self._build_priority_page()
        self.ticket_page = self._build_ticket_page()
        for page in (self.home, self.priority_page, self.ticket_page):
            self.stack.addWidget(page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self._home_timer = QTimer(self, singleShot=True)
        self._home_timer.timeout.connect(self.go_home)
        self._toast_timer = QTimer(self, singleShot=True)
        self._toast_timer.timeout.connect(lambda: self.toast.hide())
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)

        self.model.changed.connect(self.refresh)
        printing.finished.connect(self._on_printed)
        printing.state_changed.connect(self._on_printer_state)
        self.apply_style()
        self.refresh()

    # --- building -------------------------------------------------------------------------------

    def _build_home(self) -> QWidget:
        page = QWidget()
        page.setObjectName("page")
        layout = QVBoxLayout(page)
        header = QWidget()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        self.centre_name = label("", "centreName", align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        clock_box = QVBoxLayout()
        self.clock = label("", "clock", wrap=False, align=Qt.AlignmentFlag.AlignRight)
        self.date = label("", "date", wrap=False, align=Qt.AlignmentFlag.AlignRight)
        clock_box.addWidget(self.clock)
        clock_box.addWidget(self.date)
        row.addWidget(self.centre_name, 1)
        row.addLayout(clock_box)
        layout.addWidget(header)

        self.offline = label("Mất kết nối – đang kết nối lại…", "offline")
        layout.addWidget(self.offline)
        self.prompt = label("Mời chọn lĩnh vực để lấy số thứ tự", "prompt")
        layout.addWidget(self.prompt)
        self.priority_banner = QWidget()
        self.priority_banner.setObjectName("priorityBanner")
        banner_row = QHBoxLayout(self.priority_banner)
        self.priority_text = label("", "priorityText")
        cancel_priority = QPushButton("Huỷ ưu tiên")
        cancel_priority.setObjectName("secondary")
        cancel_priority.clicked.connect(self.clear_priority)
        banner_row.addWidget(self.priority_text, 1)
        banner_row.addWidget(cancel_priority)
        layout.addWidget(self.priority_banner)

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(16)
        layout.addWidget(self.grid_host, 1)

        self.toast = label("", "toast")
        self.toast.hide()
        layout.addWidget(self.toast)
        self.reprint_home = QPushButton("In lại phiếu vừa rồi")
        self.reprint_home.setObjectName("secondary")
        self.reprint_home.clicked.connect(self.reprint)
        self.reprint_home.hide()
        layout.addWidget(self.reprint_home)

        footer = QHBoxLayout()
        self.priority_button = BigButton("priority", "ƯU TIÊN", "Người cao tuổi, người khuyết tật, phụ nữ mang thai…")
        self.priority_button.clicked.connect(lambda: self.stack.setCurrentWidget(self.priority_page))
        footer.addWidget(self.priority_button, 3)
        self.scale_buttons: dict[str, QPushButton] = {}
        for text, scale in TEXT_SCALES.items():
            button = QPushButton(text)
            button.setObjectName("tool")
            button.setCheckable(True)
            button.setChecked(scale == 1.0)
            button.setAccessibleName(f"Cỡ chữ {text}")
            button.clicked.connect(lambda _=False, s=scale: self.set_text_scale(s))
            self.scale_buttons[text] = button
            footer.addWidget(button)
        self.contrast_button = QPushButton("Tương phản cao")
        self.contrast_button.setObjectName("tool")
        self.contrast_button.setCheckable(True)
        self.contrast_button.clicked.connect(self.set_high_contrast)
        footer.addWidget(self.contrast_button)
        self.admin_button = QPushButton("⚙")
        self.admin_button.setObjectName("admin")
        self.admin_button.setAccessibleName("Cài đặt (cần mã PIN)")
        self.admin_button.clicked.connect(self.open_admin)
        footer.addWidget(self.admin_button)
        layout.addLayout(footer)
        return page

    def _build_priority_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("page")
        layout = QVBoxLayout(page)
        layout.addWidget(label("Chọn nhóm ưu tiên", "title"))
        layout.addWidget(label("Công dân thuộc nhóm ưu tiên được giải quyết trước. Xin chọn nhóm của mình:", "prompt"))
        self.group_box = QVBoxLayout()
        layout.addLayout(self.group_box, 1)
        back = QPushButton("Quay lại")
        back.setObjectName("secondary")
        back.clicked.connect(self.go_home)
        layout.addWidget(back)
        return page

    def _build_ticket_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("page")
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(label("SỐ THỨ TỰ CỦA BẠN", "title"))
        self.ticket_number = label("", "ticketNumber", wrap=False)
        layout.addWidget(self.ticket_number)
        self.ticket_field = label("", "ticketField")
        layout.addWidget(self.ticket_field)
        self.ticket_priority = label("", "ticketPriority")
        layout.addWidget(self.ticket_priority, 0, Qt.AlignmentFlag.AlignHCenter)
        self.ticket_ahead = label("", "ticketInfo")
        self.ticket_wait = label("", "ticketInfo")
        layout.addWidget(self.ticket_ahead)
        layout.addWidget(self.ticket_wait)
        self.print_status = label("", "printStatus")
        layout.addWidget(self.print_status)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        self.reprint_button = QPushButton("In lại phiếu")
        self.reprint_button.setObjectName("secondary")
        self.reprint_button.clicked.connect(self.reprint)
        self.done_button = QPushButton("Xong")
        self.done_button.setObjectName("primary")
        self.done_button.clicked.connect(self._done_pressed)
        buttons.addWidget(self.reprint_button)
        buttons.addWidget(self.done_button)
        layout.addLayout(buttons)
        return page

    # --- look -----------------------------------------------------------------------------------

    def apply_style(self) -> None:
        p: Palette = self.palette_
        base = max(min(self.width(), self.height()) / 40, 14) * self.text_scale
        number_px = max(self.height() * (0.16 if self.height() > self.width() else 0.22), 60)
        self.setStyleSheet(
            f"""
            QWidget#page, KioskWindow {{ background: {p.background}; color: {p.text}; }}
            QLabel {{ color: {p.text}; font-size: {base:.0f}px; }}
            QWidget#header {{ background: {p.accent}; border-radius: 12px; }}
            QWidget#header QLabel {{ color: {p.accent_text}; }}
            QLabel#centreName {{ font-size: {base * 1.15:.0f}px; font-weight: bold; }}
            QLabel#clock {{ font-size: {base * 1.9:.0f}px; font-weight: bold; }}
            QLabel#date {{ font-size: {base * 0.9:.0f}px; }}
            QLabel#prompt, QLabel#title {{ font-size: {base * 1.25:.0f}px; font-weight: bold; padding: 6px; }}
            QLabel#title {{ font-size: {base * 1.5:.0f}px; }}
            QLabel#offline, QLabel#toast {{ background: {p.warning}; color: {p.warning_text}; font-size: {base * 1.1:.0f}px;
                font-weight: bold; padding: 12px; border: 2px solid {p.border}; border-radius: 10px; }}
            QWidget#priorityBanner {{ background: {p.priority}; border-radius: 10px; }}
            QLabel#priorityText {{ color: {p.priority_text}; font-weight: bold; font-size: {base * 1.1:.0f}px; }}
            QPushButton {{ font-size: {base:.0f}px; border-radius: 14px; padding: 12px; min-height: {base * 2.2:.0f}px; }}
            QPushButton#field {{ background: {p.surface}; border: 3px solid {p.accent}; }}
            QPushButton#field:pressed {{ background: {p.accent}; }}
            QPushButton#field:disabled {{ background: {p.disabled}; border: 3px dashed {p.border}; }}
            QPushButton#field QLabel#bigTitle {{ font-size: {base * 1.45:.0f}px; font-weight: bold; color: {p.accent}; }}
            QPushButton#field QLabel#bigDetail {{ font-size: {base * 0.95:.0f}px; color: {p.muted}; }}
            QPushButton#field QLabel:disabled {{ color: {p.disabled_text}; }}
            QPushButton#priority {{ background: {p.priority}; border: 2px solid {p.border}; padding: 4px; }}
            QPushButton#priority QLabel#bigTitle {{ color: {p.priority_text}; font-weight: bold; font-size: {base * 1.2:.0f}px; }}
            QPushButton#priority QLabel#bigDetail {{ color: {p.priority_text}; font-size: {base * 0.85:.0f}px; }}
            QPushButton#group {{ background: {p.surface}; color: {p.text}; border: 3px solid {p.priority};
                font-size: {base * 1.35:.0f}px; font-weight: bold; }}
            QPushButton#tool, QPushButton#admin, QPushButton#secondary {{ background: {p.surface}; color: {p.text};
                border: 2px solid {p.border}; }}
            QPushButton#tool:checked {{ background: {p.accent}; color: {p.accent_text}; }}
            QPushButton#admin {{ max-width: {base * 2.5:.0f}px; }}
            QPushButton#primary {{ background: {p.accent}; color: {p.accent_text}; font-weight: bold;
                font-size: {base * 1.3:.0f}px; }}
            QPushButton:disabled {{ color: {p.disabled_text}; }}
            QLabel#ticketNumber {{ font-size: {number_px:.0f}px; font-weight: bold; color: {p.accent}; }}
            QLabel#ticketField {{ font-size: {base * 1.6:.0f}px; font-weight: bold; }}
            QLabel#ticketPriority {{ background: {p.priority}; color: {p.priority_text}; font-weight: bold;
                font-size: {base * 1.2:.0f}px; padding: 6px 18px; border-radius: 8px; }}
            QLabel#ticketInfo {{ font-size: {base * 1.25:.0f}px; }}
            QLabel#printStatus {{ font-size: {base * 1.2:.0f}px; font-weight: bold; padding: 10px; }}
            QLabel#printStatus[fault="true"] {{ background: {p.warning}; color: {p.warning_text};
                border: 2px solid {p.border}; border-radius: 10px; }}
            QDialog#pinDialog {{ background: {p.background}; }}
            QPushButton#pinKey {{ background: {p.surface}; color: {p.text}; border: 2px solid {p.border};
                font-size: {base * 1.3:.0f}px; min-width: {base * 3:.0f}px; }}
            QLineEdit {{ font-size: {base * 1.5:.0f}px; padding: 8px; }}
            QLabel#pinError {{ color: {p.highlight}; font-weight: bold; }}
            """
        )

    def set_text_scale(self, scale: float) -> None:
        self.text_scale = scale
        for text, button in self.scale_buttons.items():
            button.setChecked(TEXT_SCALES[text] == scale)
        self.apply_style()

    def set_high_contrast(self, on: bool) -> None:
        self.palette_ = HIGH_CONTRAST if on else NORMAL
        self.contrast_button.setChecked(on)
        self.apply_style()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_style()
        self._layout_fields()

    # --- state → screen -------------------------------------------------------------------------

    def refresh(self) -> None:
        model = self.model
        self.centre_name.setText(model.centre.get("name", "Máy lấy số thứ tự"))
        self.offline.setVisible(not model.online)
        usable = model.online and not self.busy
        fields = model.visible_fields()
        if {f["id"] for f in fields} != set(self._field_buttons):
            self._rebuild_field_buttons(fields)
        for field in fields:
            self._field_buttons[field["id"]].show_field(field, usable)
        groups = model.active_priority_groups()
        self.priority_button.setVisible(bool(groups))
        self.priority_button.setEnabled(usable)
        self._rebuild_groups(groups)
        self.priority_banner.setVisible(self.priority_group is not None)
        if self.priority_group is not None:
            self.priority_text.setText(f"Lấy số ưu tiên: {self.priority_group['name']}. Mời chọn lĩnh vực.")
        self.reprint_home.setVisible(self.last_print_failed and self.last_ticket is not None and not self.printing.faulty)
        self._tick()

    @property
    def busy(self) -> bool:
        return self.issuing or self.printing.busy

    def _rebuild_field_buttons(self, fields: list[dict[str, Any]]) -> None:
        for button in self._field_buttons.values():
            button.deleteLater()
        self._field_buttons = {}
        for field in fields:
            button = FieldButton(field["id"])
            button.clicked.connect(lambda _=False, fid=field["id"]: self.take_number(fid))
            self._field_buttons[field["id"]] = button
        self._columns = 0
        self._layout_fields()

    def _layout_fields(self) -> None:
        portrait = self.orientation == "portrait" or (self.orientation == "auto" and self.height() > self.width())
        count = len(self._field_buttons)
        columns = (1 if count <= 8 else 2) if portrait else (2 if count <= 8 else 3)
        if columns == self._columns:
            return
        self._columns = columns
        for index, button in enumerate(self._field_buttons.values()):
            self.grid.removeWidget(button)
            self.grid.addWidget(button, index // columns, index % columns)

    def _rebuild_groups(self, groups: list[dict[str, Any]]) -> None:
        names = [g["name"] for g in groups]
        current = [self.group_box.itemAt(i).widget().text() for i in range(self.group_box.count())]  # type: ignore[union-attr]
        if names == current:
            return
        while self.group_box.count():
            item = self.group_box.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for group in groups:
            button = QPushButton(group["name"])
            button.setObjectName("group")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.clicked.connect(lambda _=False, g=group: self.choose_priority(g))
            self.group_box.addWidget(button)

    def _tick(self) -> None:
        now = local_now(self.model.timezone)
        self.clock.setText(f"{now:%H:%M}")
        self.date.setText(date_line(now))

    # --- citizen actions ------------------------------------------------------------------------

    def choose_priority(self, group: dict[str, Any]) -> None:
        self.priority_group = group
        self.stack.setCurrentWidget(self.home)
        self.refresh()

    def clear_priority(self) -> None:
        self.priority_group = None
        self.refresh()

    def take_number(self, field_id: int) -> None:
        """One tap, one ticket: taps while a number is being issued or printed are ignored, and a
        retry after a lost answer reuses the idempotency key, so the server issues it once."""
        if self.busy or not self.model.online:
            return
        field = self.model.field(field_id)
        if field is None or not field["taking_numbers"]:
            return
        self.issuing = True
        self.refresh()
        self.show_toast("Đang lấy số…", seconds=ISSUE_RETRY_SECONDS + 2)
        body = {"field_id": field_id, "priority_group_id": self.priority_group["id"] if self.priority_group else None}
        self.connection.send(
            "POST", "/tickets", body, on_done=self._on_issued, idempotency_key=str(uuid.uuid4()), retry_for=ISSUE_RETRY_SECONDS
        )

    def _on_issued(self, reply: Reply) -> None:
        self.issuing = False
        if not reply.ok:
            self.show_toast(reply.message or "Không lấy được số. Xin vui lòng thử lại.")
            self.connection.request_snapshot()
            self.refresh()
            return
        self.hide_toast()
        self.priority_group = None
        self.last_ticket = reply.data
        self.show_ticket(reply.data)
        self.start_print(reply.data)
        self.refresh()

    def show_ticket(self, issued: dict[str, Any]) -> None:
        ticket = issued["ticket"]
        self.ticket_number.setText(ticket["label"])
        self.ticket_field.setText(f"Lĩnh vực: {ticket['field']['name']}")
        self.ticket_priority.setVisible(bool(ticket["priority_group"]))
        self.ticket_priority.setText(f"ƯU TIÊN – {ticket['priority_group']}" if ticket["priority_group"] else "")
        self.ticket_ahead.setText(f"Số người chờ trước: {issued['people_ahead']}")
        self.ticket_wait.setText(_wait_text(issued["people_ahead"], issued["wait_minutes"]))
        self.reprint_button.hide()
        self._ticket_shown_at = time.monotonic()
        self.stack.setCurrentWidget(self.ticket_page)
        self._home_timer.start(int(self.ticket_seconds * 1000))
        self.ticket_shown.emit(issued)

    def start_print(self, issued: dict[str, Any]) -> None:
        self._set_print_status("Đang in phiếu…", fault=False)
        self._print_job = self.printing.print_ticket(self._content(issued))

    def reprint(self) -> None:
        if self.last_ticket is None or self.printing.busy:
            return
        self.reprint_home.hide()
        self.start_print(self.last_ticket)

    def _content(self, issued: dict[str, Any]) -> TicketContent:
        ticket = issued["ticket"]
        return TicketContent(
            centre_name=issued["centre_name"],
            field_name=ticket["field"]["name"],
            label=ticket["label"],
            priority_name=ticket["priority_group"],
            people_ahead=issued["people_ahead"],
            wait_minutes=issued["wait_minutes"],
            issued_at=to_local(ticket["issued_at"], self.model.timezone),
            status_url=issued["status_url"],
        )

    def _on_printed(self, outcome: PrintOutcome) -> None:
        if outcome.job == self._print_job:
            self.last_print_failed = not outcome.printed
            if outcome.printed:
                self._set_print_status("Mời nhận phiếu ở khe bên dưới. Xin cảm ơn!", fault=False)
            else:
                number = self.last_ticket["ticket"]["label"] if self.last_ticket else ""
                # The citizen needs the gist; the details go to the log and to the admins.
                reason = STATE_TEXT[PrinterState(outcome.state)].lower() if outcome.state else "không có máy in"
                log.warning("ticket %s not printed: %s", number, outcome.message)
                self._set_print_status(
                    f"Chưa in được phiếu ({reason}).\nXin vui lòng ghi nhớ số thứ tự của bạn: {number}", fault=True
                )
                self.reprint_button.show()
                if self.stack.currentWidget() is self.ticket_page:
                    self._home_timer.start(int(self.ticket_seconds_on_fault * 1000))
        self.print_finished.emit(outcome)
        self.refresh()

    def _on_printer_state(self, state: str) -> None:
        self.connection.send("POST", "/devices/me/status", {"printer_state": state}, retry_for=30)
        self.refresh()

    def _set_print_status(self, text: str, fault: bool) -> None:
        self.print_status.setText(text)
        self.print_status.setProperty("fault", fault)
        self.print_status.style().unpolish(self.print_status)
        self.print_status.style().polish(self.print_status)

    def _done_pressed(self) -> None:
        if time.monotonic() - self._ticket_shown_at >= TICKET_TAP_GUARD_SECONDS:
            self.go_home()

    def go_home(self) -> None:
        self._home_timer.stop()
        self.stack.setCurrentWidget(self.home)
        self.refresh()

    def show_toast(self, text: str, seconds: float = 6.0) -> None:
        self.toast.setText(text)
        self.toast.show()
        self._toast_timer.start(int(seconds * 1000))

    def hide_toast(self) -> None:
        self._toast_timer.stop()
        self.toast.hide()

    # --- lockdown -------------------------------------------------------------------------------

    def unlock(self) -> bool:
        """True when the admin PIN was given (or the kiosk has none: a windowed test set-up)."""
        if not self.admin_pin:
            return True
        dialog = PinDialog(self.admin_pin, self)
        dialog.setStyleSheet(self.styleSheet())
        return dialog.exec() == QDialog.DialogCode.Accepted

    def open_admin(self) -> None:
        if not self.unlock():
            return
        menu = QDialog(self)
        menu.setWindowTitle("Quản trị máy lấy số")
        menu.setStyleSheet(self.styleSheet())
        layout = QVBoxLayout(menu)
        state = STATE_TEXT.get(PrinterState(self.printing.state), "") if self.printing.state else "Không có máy in"
        layout.addWidget(label(f"Máy in: {state}", "prompt"))
        actions = [
            ("In thử", self.test_print),
            ("In lại phiếu vừa rồi", self.reprint),
            ("Thoát toàn màn hình" if self.isFullScreen() else "Toàn màn hình", self.toggle_fullscreen),
            ("Tắt máy lấy số", self.quit_unlocked),
            ("Đóng", lambda: None),
        ]
        for text, action in actions:
            button = QPushButton(text)
            button.setObjectName("secondary")
            button.clicked.connect(lambda _=False, a=action: (menu.accept(), a()))
            layout.addWidget(button)
        menu.exec()

    def test_print(self) -> None:
        self._print_job = self.printing.print_ticket(test_ticket_content(local_now(self.model.timezone)))

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def quit_unlocked(self) -> None:
        self.locked = False
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.locked and not self.unlock():
            event.ignore()
            return
        self.locked = False
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Escape or F11 would leave full screen on some window managers: ask for the PIN instead.
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F11):
            self.open_admin()
            return
        super().keyPressEvent(event)


def _wait_text(people_ahead: int, minutes: int) -> str:
    if people_ahead == 0:
        return "Thời gian chờ dự kiến: sắp đến lượt"
    return f"Thời gian chờ dự kiến: khoảng {minutes} phút"


def issued_at_local(issued: dict[str, Any], timezone: str) -> datetime:
    return to_local(issued["ticket"]["issued_at"], timezone)
