"""The officer's window: sign in, choose the counter, then work — the current ticket, the six big
actions with their keys, the live waiting list and the officer's own figures for today."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.theme import NORMAL, Palette, local_now
from counter.model import CounterModel, parse_time
from counter.widgets import ActionButton, NoticeBar, average_text, clock_text, label, minutes_text

log = logging.getLogger(__name__)

DISCONNECTED = "Mất kết nối – đang kết nối lại…"
STATE_TEXT = {
    "called": "Đã gọi – chờ công dân đến quầy",
    "serving": "Đang phục vụ",
}


def stylesheet(p: Palette) -> str:
    return f"""
    QWidget {{ background: {p.background}; color: {p.text}; font-size: 15px; }}
    QLabel {{ background: transparent; }}
    #card, #listCard {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 10px; }}
    #topBar {{ background: {p.accent}; }}
    #topBar QLabel {{ color: {p.accent_text}; }}
    #counterTitle {{ font-size: 22px; font-weight: 700; }}
    #topDetail {{ font-size: 15px; }}
    #caption {{ font-size: 14px; font-weight: 700; color: {p.muted}; letter-spacing: 1px; }}
    #ticketNumber {{ font-size: 96px; font-weight: 700; color: {p.accent}; }}
    #ticketNumber[empty="true"] {{ font-size: 30px; font-weight: 400; color: {p.muted}; }}
    #ticketField {{ font-size: 22px; font-weight: 700; }}
    #ticketPriority {{ background: {p.priority}; color: {p.priority_text}; font-size: 17px; font-weight: 700;
        border-radius: 6px; padding: 4px 10px; }}
    #ticketTimes {{ font-size: 18px; color: {p.muted}; }}
    #serviceClock {{ font-size: 30px; font-weight: 700; }}
    #pausedBanner {{ background: {p.warning}; color: {p.warning_text}; font-size: 18px; font-weight: 700;
        border-radius: 6px; padding: 8px; }}
    #offline {{ background: {p.highlight}; color: {p.highlight_text}; font-size: 17px; font-weight: 700; padding: 8px; }}
    #notice {{ background: {p.warning}; color: {p.warning_text}; font-size: 17px; font-weight: 700;
        border: 1px solid {p.priority}; border-radius: 6px; padding: 8px 12px; }}
    QPushButton {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; border-radius: 8px;
        padding: 8px 16px; font-size: 16px; }}
    QPushButton:disabled {{ background: {p.disabled}; color: {p.disabled_text}; }}
    #action {{ background: {p.surface}; border: 2px solid {p.accent}; }}
    #primary, #actionPrimary {{ background: {p.accent}; border: 2px solid {p.accent}; color: {p.accent_text}; }}
    #actionDone {{ background: #1b7f3b; border: 2px solid #1b7f3b; }}
    #action:disabled, #actionPrimary:disabled, #actionDone:disabled {{ background: {p.disabled}; border-color: {p.border}; }}
    #actionTitle {{ font-size: 20px; font-weight: 700; }}
    #actionKey {{ font-size: 13px; }}
    #actionPrimary #actionTitle, #actionPrimary #actionKey {{ color: {p.accent_text}; }}
    #actionDone #actionTitle, #actionDone #actionKey {{ color: #ffffff; }}
    /* The labels' own state (a disabled button disables them too): a rule on the button's state
       would not be applied again when it changes back. */
    #actionTitle:disabled, #actionKey:disabled,
    #actionPrimary #actionTitle:disabled, #actionPrimary #actionKey:disabled,
    #actionDone #actionTitle:disabled, #actionDone #actionKey:disabled {{ color: {p.disabled_text}; }}
    #figures {{ background: {p.surface}; border-top: 1px solid {p.border}; padding: 8px 12px; font-size: 15px; }}
    QLineEdit {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 6px; padding: 10px; font-size: 18px; }}
    #signInTitle {{ font-size: 28px; font-weight: 700; color: {p.accent}; }}
    #error {{ color: {p.highlight}; font-size: 16px; font-weight: 700; }}
    #counterChoice {{ padding: 0; }}
    #choiceTitle {{ font-size: 20px; font-weight: 700; color: {p.accent}; }}
    QTableWidget, QListWidget {{ background: {p.surface}; border: none; font-size: 17px; }}
    QHeaderView::section {{ background: {p.background}; border: none; border-bottom: 1px solid {p.border};
        padding: 6px; font-weight: 700; }}
    QListWidget::item {{ padding: 6px 4px; }}
    QTableWidget::item:selected, QListWidget::item:selected {{ background: {p.accent}; color: {p.accent_text}; }}
    """


# --- sign in ---------------------------------------------------------------------------------------


class SignInPage(QWidget):
    submitted = Signal(str, str)

    def __init__(self, server_url: str) -> None:
        super().__init__()
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setObjectName("card")
        card.setMaximumWidth(520)
        form = QVBoxLayout(card)
        form.setContentsMargins(32, 28, 32, 28)
        form.setSpacing(12)
        form.addWidget(label("Đăng nhập làm việc tại quầy", "signInTitle"))
        form.addWidget(label("Trung tâm Phục vụ hành chính công – bộ phận một cửa", "caption"))
        form.addWidget(label("Tên đăng nhập"))
        self.username = QLineEdit()
        self.username.setObjectName("username")
        form.addWidget(self.username)
        form.addWidget(label("Mật khẩu"))
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addWidget(self.password)
        self.error = label("", "error")
        form.addWidget(self.error)
        self.button = QPushButton("Đăng nhập")
        self.button.setObjectName("primary")
        self.button.setMinimumHeight(52)
        self.button.clicked.connect(self._submit)
        form.addWidget(self.button)
        form.addWidget(label(f"Máy chủ: {server_url}", "caption"))
        self.username.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._submit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def _submit(self) -> None:
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.error.setText("Xin nhập tên đăng nhập và mật khẩu.")
            return
        self.error.setText("")
        self.submitted.emit(username, password)

    def reset(self, why: str) -> None:
        self.password.clear()
        self.error.setText(why)
        (self.password if self.username.text() else self.username).setFocus()


class ChoiceButton(QPushButton):
    """A counter to choose: its number, the fields it serves (wrapped, never cut) and who is there."""

    def __init__(self, title: str, fields: str, who: str) -> None:
        super().__init__()
        self.setObjectName("counterChoice")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        self.parts = [label(title, "choiceTitle"), label(fields), label(who, "caption")]
        for part in self.parts:
            part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            part.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(part)

    def text(self) -> str:  # type: ignore[override]
        return "\n".join(part.text() for part in self.parts)


class ChoosePage(QWidget):
    chosen = Signal(int, bool)  # counter id, remember it for this machine
    sign_out = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 28, 40, 28)
        layout.addWidget(label("Chọn quầy làm việc", "signInTitle"))
        self.hello = label("", "caption")
        layout.addWidget(self.hello)
        self.error = label("", "error")
        layout.addWidget(self.error)
        self.grid = QGridLayout()
        self.grid.setSpacing(12)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        self.remember = QCheckBox("Ghi nhớ quầy này cho máy tính này")
        self.remember.setChecked(True)
        layout.addWidget(self.remember)
        leave = QPushButton("Đăng xuất")
        leave.clicked.connect(self.sign_out.emit)
        layout.addWidget(leave, alignment=Qt.AlignmentFlag.AlignLeft)
        self.buttons: dict[int, ChoiceButton] = {}
        self.holders: dict[int, str] = {}

    def show_counters(
        self, officer_name: str, officer_id: int, counters: list[dict[str, Any]], fields: list[dict[str, Any]]
    ) -> None:
        self.hello.setText(f"Xin chào {officer_name}. Hôm nay bạn làm việc tại quầy nào?")
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        names = {f["id"]: f["name"] for f in fields}
        self.buttons = {}
        # Who else is signed in where: taking their counter signs them out of it, so ask first.
        self.holders = {
            c["id"]: c["officer"]["full_name"] for c in counters if c.get("officer") and c["officer"]["id"] != officer_id
        }
        for index, counter in enumerate(sorted(counters, key=lambda c: c["number"])):
            served = ", ".join(names[i] for i in counter["field_ids"] if i in names) or "chưa gán lĩnh vực"
            officer = counter.get("officer")
            who = f"Đang làm việc: {officer['full_name']}" if officer else "Đang đóng"
            button = ChoiceButton(f"Quầy số {counter['number']}", served, who)
            button.clicked.connect(lambda _=False, c=counter["id"]: self._choose(c))
            self.grid.addWidget(button, index // 2, index % 2)
            self.buttons[counter["id"]] = button

    def _choose(self, counter_id: int) -> None:
        self.error.setText("")
        holder = self.holders.get(counter_id)
        if holder:
            answer = QMessageBox.question(
                self,
                "Nhận quầy",
                f"Quầy này đang do cán bộ {holder} đăng nhập. Nếu bạn nhận quầy, cán bộ đó sẽ bị đăng xuất khỏi quầy. "
                "Bạn vẫn muốn nhận quầy này?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.chosen.emit(counter_id, self.remember.isChecked())


# --- transfer --------------------------------------------------------------------------------------


class TransferDialog(QDialog):
    """Chuyển: to another field (the ticket joins that queue, keeping its number and place) or to
    one particular counter."""

    def __init__(self, model: CounterModel, ticket: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Chuyển số {ticket['label']}")
        self.setMinimumSize(720, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(label(f"Chuyển số {ticket['label']} ({ticket['field']['name']}) đến:", "ticketField"))
        lists = QHBoxLayout()
        self.fields = QListWidget()
        self.fields.setObjectName("transferFields")
        self.counters = QListWidget()
        self.counters.setObjectName("transferCounters")
        names = {f["id"]: f["name"] for f in model.centre_fields}
        for field in model.centre_fields:
            if field["active"] and field["id"] != ticket["field"]["id"]:
                item = QListWidgetItem(field["name"])
                item.setData(Qt.ItemDataRole.UserRole, field["id"])
                self.fields.addItem(item)
        for counter in sorted(model.centre_counters, key=lambda c: c["number"]):
            if counter["id"] != model.counter_id:
                served = ", ".join(names[i] for i in counter["field_ids"] if i in names)
                item = QListWidgetItem(f"Quầy số {counter['number']} – {served}")
                item.setData(Qt.ItemDataRole.UserRole, counter["id"])
                self.counters.addItem(item)
        for title, widget in (("Lĩnh vực khác", self.fields), ("Một quầy cụ thể", self.counters)):
            widget.setWordWrap(True)
            widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            column = QVBoxLayout()
            column.addWidget(label(title, "caption"))
            column.addWidget(widget)
            lists.addLayout(column)
        layout.addLayout(lists)
        # One target: choosing in one list clears the other.
        self.fields.itemSelectionChanged.connect(lambda: self._only(self.fields, self.counters))
        self.counters.itemSelectionChanged.connect(lambda: self._only(self.counters, self.fields))
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("Chuyển", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("primary")
        self.ok.setEnabled(False)
        buttons.addButton("Huỷ", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _only(self, chosen: QListWidget, other: QListWidget) -> None:
        if chosen.selectedItems():
            other.blockSignals(True)
            other.clearSelection()
            other.blockSignals(False)
        self.ok.setEnabled(bool(self.fields.selectedItems() or self.counters.selectedItems()))

    def target(self) -> tuple[int | None, int | None]:
        """(field id, counter id): one of them."""
        field = self.fields.selectedItems()
        counter = self.counters.selectedItems()
        return (
            field[0].data(Qt.ItemDataRole.UserRole) if field else None,
            counter[0].data(Qt.ItemDataRole.UserRole) if counter else None,
        )


# --- work ------------------------------------------------------------------------------------------


class WorkPage(QWidget):
    def __init__(self, model: CounterModel) -> None:
        super().__init__()
        self.model = model
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        top = QFrame()
        top.setObjectName("topBar")
        top_row = QHBoxLayout(top)
        top_row.setContentsMargins(16, 10, 16, 10)
        self.counter_title = label("", "counterTitle", wrap=False)
        self.counter_fields = label("", "topDetail")
        self.officer_name = label("", "topDetail", wrap=False)
        self.clock = label("", "topDetail", wrap=False)
        self.change_counter = QPushButton("Đổi quầy")
        self.sign_out = QPushButton("Đăng xuất")
        title_box = QVBoxLayout()
        title_box.addWidget(self.counter_title)
        title_box.addWidget(self.counter_fields)
        top_row.addLayout(title_box, 1)
        top_row.addWidget(self.officer_name)
        top_row.addSpacing(16)
        top_row.addWidget(self.clock)
        top_row.addSpacing(16)
        top_row.addWidget(self.change_counter)
        top_row.addWidget(self.sign_out)
        outer.addWidget(top)

        self.offline = label(DISCONNECTED, "offline", align=Qt.AlignmentFlag.AlignHCenter)
        self.offline.hide()
        outer.addWidget(self.offline)

        body = QHBoxLayout()
        body.setContentsMargins(16, 16, 16, 8)
        body.setSpacing(16)
        outer.addLayout(body, 1)

        left = QVBoxLayout()
        left.setSpacing(12)
        card = QFrame()
        card.setObjectName("card")
        ticket_box = QVBoxLayout(card)
        ticket_box.setContentsMargins(20, 14, 20, 14)
        self.ticket_caption = label("SỐ ĐANG PHỤC VỤ", "caption")
        self.ticket_number = label("", "ticketNumber", wrap=False)
        self.ticket_field = label("", "ticketField")
        self.ticket_priority = label("", "ticketPriority", wrap=False)
        self.ticket_state = label("", "ticketTimes")
        self.ticket_waited = label("", "ticketTimes")
        self.service_clock = label("", "serviceClock", wrap=False)
        self.paused = label("Quầy đang tạm dừng. Bấm Tiếp tục (F6) để gọi số.", "pausedBanner")
        ticket_box.addWidget(self.ticket_caption)
        number_row = QHBoxLayout()
        number_row.addWidget(self.ticket_number)
        number_row.addStretch(1)
        clock_box = QVBoxLayout()
        clock_box.addStretch(1)
        self.service_caption = label("Thời gian phục vụ", "caption", wrap=False, align=Qt.AlignmentFlag.AlignRight)
        clock_box.addWidget(self.service_caption)
        clock_box.addWidget(self.service_clock, alignment=Qt.AlignmentFlag.AlignRight)
        number_row.addLayout(clock_box)
        ticket_box.addLayout(number_row)
        priority_row = QHBoxLayout()
        priority_row.addWidget(self.ticket_field)
        priority_row.addWidget(self.ticket_priority)
        priority_row.addStretch(1)
        ticket_box.addLayout(priority_row)
        ticket_box.addWidget(self.ticket_state)
        ticket_box.addWidget(self.ticket_waited)
        ticket_box.addWidget(self.paused)
        left.addWidget(card)

        grid = QGridLayout()
        grid.setSpacing(10)
        self.call_next_button = ActionButton("Gọi số tiếp theo", "F1", "actionPrimary")
        self.recall_button = ActionButton("Gọi lại", "F2")
        self.no_show_button = ActionButton("Vắng mặt", "F3")
        self.finish_button = ActionButton("Hoàn thành", "F4", "actionDone")
        self.transfer_button = ActionButton("Chuyển", "F5")
        self.pause_button = ActionButton("Tạm dừng", "F6")
        buttons = [
            self.call_next_button,
            self.recall_button,
            self.no_show_button,
            self.finish_button,
            self.transfer_button,
            self.pause_button,
        ]
        for index, button in enumerate(buttons):
            grid.addWidget(button, index // 3, index % 3)
        left.addLayout(grid, 1)
        body.addLayout(left, 3)

        list_card = QFrame()
        list_card.setObjectName("listCard")
        right = QVBoxLayout(list_card)
        right.setContentsMargins(12, 12, 12, 12)
        self.waiting_title = label("", "ticketField")
        right.addWidget(self.waiting_title)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("waitingList")
        self.table.setHorizontalHeaderLabels(["Số", "Lĩnh vực", "Ưu tiên", "Đã chờ"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        right.addWidget(self.table, 1)
        self.call_selected_button = QPushButton("Gọi số đã chọn (Enter)")
        self.call_selected_button.setMinimumHeight(48)
        right.addWidget(self.call_selected_button)
        body.addWidget(list_card, 2)

        self.notice = NoticeBar()
        notice_row = QHBoxLayout()
        notice_row.setContentsMargins(16, 0, 16, 8)
        notice_row.addWidget(self.notice)
        outer.addLayout(notice_row)
        self.figures = label("", "figures")
        outer.addWidget(self.figures)

        self.actions = [*buttons, self.call_selected_button]
        self.call_next_button.clicked.connect(model.call_next)
        self.recall_button.clicked.connect(model.recall)
        self.no_show_button.clicked.connect(lambda: model.no_show(False))
        self.finish_button.clicked.connect(model.finish)
        self.transfer_button.clicked.connect(self.open_transfer)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.call_selected_button.clicked.connect(self.call_selected)
        self.table.itemDoubleClicked.connect(lambda _item: self.call_selected())
        self.table.itemSelectionChanged.connect(self.update_buttons)
        self.change_counter.clicked.connect(model.leave_counter)
        self.sign_out.clicked.connect(model.sign_out)
        for key, button in zip(("F1", "F2", "F3", "F4", "F5", "F6"), buttons, strict=True):
            # Application-wide: the keys keep working after the citizen touches the rating window.
            shortcut = QShortcut(QKeySequence(key), self, context=Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda b=button: self._press(b))
        for key in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(key), self.table, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.call_selected)

        self._shown_ids: list[int] = []
        self._tick = QTimer(self)
        self._tick.timeout.connect(self.tick)
        self._tick.start(1000)
        self.tick()

    # --- actions --------------------------------------------------------------------------------

    def _press(self, button: QPushButton) -> None:
        # A shortcut does exactly what a click does, and nothing when the button is disabled.
        if button.isEnabled() and self.isVisible():
            button.click()

    def _pause_or_resume(self) -> None:
        if self.model.state == "paused":
            self.model.resume()
        else:
            self.model.pause()

    def selected_ticket_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def call_selected(self) -> None:
        ticket_id = self.selected_ticket_id()
        if ticket_id is not None and self.call_selected_button.isEnabled():
            self.model.call_ticket(ticket_id)

    def open_transfer(self) -> None:
        ticket = self.model.current
        if ticket is None:
            return
        dialog = TransferDialog(self.model, ticket, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            field_id, counter_id = dialog.target()
            self.model.transfer(field_id=field_id, counter_id=counter_id)

    # --- showing state --------------------------------------------------------------------------

    def refresh(self) -> None:
        model = self.model
        counter = model.counter or {}
        self.counter_title.setText(f"Quầy số {counter.get('number', '')}")
        self.counter_fields.setText(" · ".join(model.field_names()))
        self.officer_name.setText((model.officer or {}).get("full_name", ""))
        self.offline.setVisible(not model.online)
        self.paused.setVisible(model.state == "paused")
        self.pause_button.set_title("Tiếp tục" if model.state == "paused" else "Tạm dừng")
        self._show_current()
        self._show_waiting()
        self._show_figures()
        self.update_buttons()

    def _show_current(self) -> None:
        ticket = self.model.current
        self.ticket_number.setProperty("empty", ticket is None)
        self.ticket_number.style().unpolish(self.ticket_number)
        self.ticket_number.style().polish(self.ticket_number)
        if ticket is None:
            self.ticket_number.setText("Chưa có số nào" if self.model.state != "paused" else "Đang tạm dừng")
            self.ticket_field.setText("")
            self.ticket_priority.hide()
            waiting = len(self.model.waiting)
            if self.model.state == "paused":
                self.ticket_state.setText(f"Đang chờ: {waiting} người." if waiting else "")
            elif waiting:
                self.ticket_state.setText(f"Bấm Gọi số tiếp theo (F1) để mời công dân. Đang chờ: {waiting} người.")
            else:
                self.ticket_state.setText("Hiện không có công dân nào đang chờ ở các lĩnh vực của quầy.")
            self.ticket_waited.setText("")
            self.service_clock.setText("")
            self.service_caption.hide()
            return
        self.ticket_number.setText(ticket["label"])
        self.ticket_field.setText(ticket["field"]["name"])
        self.ticket_priority.setVisible(bool(ticket["priority_group"]))
        self.ticket_priority.setText(f"Ưu tiên: {ticket['priority_group']}" if ticket["priority_group"] else "")
        state = STATE_TEXT.get(ticket["state"], "")
        if ticket["recall_count"]:
            state += f" · đã gọi lại {ticket['recall_count']} lần"
        if ticket.get("transfer_count"):
            state += " · được chuyển đến"
        self.ticket_state.setText(state)
        issued, called = parse_time(ticket["issued_at"]), parse_time(ticket["called_at"])
        if issued is not None and called is not None:
            self.ticket_waited.setText(f"Đã chờ {minutes_text((called - issued).total_seconds())} trước khi được gọi")
        self.service_caption.show()
        self.tick()

    def _show_waiting(self) -> None:
        waiting = self.model.waiting
        self.waiting_title.setText(f"Đang chờ: {len(waiting)} người" if waiting else "Không có người đang chờ")
        ids = [t["id"] for t in waiting]
        selected = self.selected_ticket_id()
        if ids != self._shown_ids:
            self.table.setRowCount(len(waiting))
            for row, ticket in enumerate(waiting):
                number = QTableWidgetItem(ticket["label"])
                number.setData(Qt.ItemDataRole.UserRole, ticket["id"])
                font = number.font()
                font.setBold(True)
                number.setFont(font)
                field = ticket["field"]["name"]
                if ticket.get("target_counter_id") == self.model.counter_id:
                    field += " (chuyển đến quầy này)"
                self.table.setItem(row, 0, number)
                self.table.setItem(row, 1, QTableWidgetItem(field))
                self.table.setItem(row, 2, QTableWidgetItem(ticket["priority_group"] or ""))
                self.table.setItem(row, 3, QTableWidgetItem(""))
            self._shown_ids = ids
            if selected in ids:
                self.table.selectRow(ids.index(selected))
        self._show_waited()

    def _show_waited(self) -> None:
        now = self.model.server_now()
        for row, ticket in enumerate(self.model.waiting[: self.table.rowCount()]):
            issued = parse_time(ticket["issued_at"])
            item = self.table.item(row, 3)
            if issued is not None and item is not None:
                item.setText(minutes_text((now - issued).total_seconds()))

    def _show_figures(self) -> None:
        today = self.model.today
        if not today:
            self.figures.setText("Kết quả hôm nay: đang tải…")
            return
        parts = [
            f"<b>Hôm nay</b>: đã phục vụ <b>{today['served']}</b> lượt",
            f"thời gian phục vụ trung bình <b>{average_text(today['average_service_seconds'])}</b>",
            f"vắng mặt {today['no_shows']}",
            f"chuyển {today['transferred']}",
        ]
        if today["rated"]:
            levels = ", ".join(f"{r['label'].lower()} {r['count']}" for r in today["ratings"] if r["count"])
            share = round(100 * (today["satisfied_share"] or 0))
            parts.append(f"đánh giá <b>{today['rated']}</b> lượt, <b>{share}%</b> hài lòng ({levels})")
        else:
            parts.append("chưa có đánh giá")
        self.figures.setText(" · ".join(parts))

    def tick(self) -> None:
        self.clock.setText(local_now("Asia/Ho_Chi_Minh").strftime("%H:%M"))
        ticket = self.model.current
        if ticket is not None:
            begun = parse_time(ticket.get("started_at") or ticket.get("called_at"))
            if begun is not None:
                self.service_clock.setText(clock_text((self.model.server_now() - begun).total_seconds()))
        if datetime.now().second % 15 == 0:
            self._show_waited()

    def update_buttons(self) -> None:
        model = self.model
        ready = model.online and not model.busy
        ticket = model.current
        state = model.state
        called = ticket is not None and ticket["state"] == "called"
        self.call_next_button.setEnabled(ready and state == "open" and ticket is None)
        self.call_selected_button.setEnabled(
            ready and state == "open" and ticket is None and self.selected_ticket_id() is not None
        )
        self.recall_button.setEnabled(ready and called and state == "open")
        self.no_show_button.setEnabled(ready and called)
        self.finish_button.setEnabled(ready and ticket is not None)
        self.transfer_button.setEnabled(ready and ticket is not None)
        self.pause_button.setEnabled(ready and state in ("open", "paused"))


class CounterWindow(QWidget):
    """The counter app: sign-in → counter choice → work, driven by one CounterModel."""

    closed = Signal()

    def __init__(self, model: CounterModel, server_url: str) -> None:
        super().__init__()
        self.model = model
        self.setWindowTitle("hangdoi – Quầy giao dịch")
        self.setStyleSheet(stylesheet(NORMAL))
        self.setMinimumSize(1100, 700)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)
        self.sign_in_page = SignInPage(server_url)
        self.choose_page = ChoosePage()
        self.work_page = WorkPage(model)
        for page in (self.sign_in_page, self.choose_page, self.work_page):
            self.stack.addWidget(page)
        self.sign_in_page.submitted.connect(model.sign_in)
        self.choose_page.chosen.connect(model.take_counter)
        self.choose_page.sign_out.connect(model.sign_out)
        model.choose_counter.connect(self._choose)
        model.at_counter.connect(lambda: self.stack.setCurrentWidget(self.work_page))
        model.signed_out.connect(self._signed_out)
        model.changed.connect(self._changed)
        model.busy_changed.connect(self._busy)
        model.notice.connect(self._notice)

    def _choose(self, counters: list[dict[str, Any]]) -> None:
        officer = self.model.officer or {}
        self.choose_page.show_counters(officer.get("full_name", ""), officer.get("id", 0), counters, self.model.centre_fields)
        self.stack.setCurrentWidget(self.choose_page)

    def _signed_out(self, why: str) -> None:
        self.stack.setCurrentWidget(self.sign_in_page)
        self.sign_in_page.reset(why)

    def _changed(self) -> None:
        if self.stack.currentWidget() is self.work_page:
            self.work_page.refresh()

    def _busy(self, busy: bool) -> None:
        self.sign_in_page.button.setEnabled(not busy)
        for button in self.choose_page.buttons.values():
            button.setEnabled(not busy)
        self.work_page.update_buttons()

    def _notice(self, text: str) -> None:
        page = self.stack.currentWidget()
        if page is self.work_page and self.model.counter_id is not None:
            self.work_page.notice.show_notice(text)
        elif page is self.sign_in_page:
            self.sign_in_page.reset(text)
        else:
            # Also a counter lost while working: the choice page is where the officer goes next.
            self.choose_page.error.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.model.connection.stop()
        super().closeEvent(event)
        self.closed.emit()
