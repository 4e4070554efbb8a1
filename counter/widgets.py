"""Small pieces the counter screens share: labels, the action button, the message bar, and
Vietnamese wording of durations."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from client.theme import label as theme_label

NOTICE_SECONDS = 8


def label(text: str = "", name: str = "", wrap: bool = True, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> QLabel:
    """The shared label, left-aligned and vertically centred as the counter's rows want."""
    return theme_label(text, name, wrap, align | Qt.AlignmentFlag.AlignVCenter)


class ActionButton(QPushButton):
    """A big command button: the action in words and, under it, its keyboard shortcut."""

    def __init__(self, title: str, key: str, name: str = "action") -> None:
        super().__init__()
        self.setObjectName(name)
        self.key = key
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(84)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.title = label(title, "actionTitle", align=Qt.AlignmentFlag.AlignHCenter)
        self.hint = label(key, "actionKey", align=Qt.AlignmentFlag.AlignHCenter)
        for part in (self.title, self.hint):
            part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(part)
        self.setToolTip(f"{title} (phím {key})")

    def set_title(self, title: str) -> None:
        self.title.setText(title)
        self.setToolTip(f"{title} (phím {self.key})")


class NoticeBar(QLabel):
    """One short message at a time (a refused command, a reconnect); it fades after a few seconds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.setWordWrap(True)
        self.hide()
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.clear_notice)

    def show_notice(self, text: str) -> None:
        if not text:
            return
        self.setText(text)
        self.show()
        self._timer.start(NOTICE_SECONDS * 1000)

    def clear_notice(self) -> None:
        self.setText("")
        self.hide()


def minutes_text(seconds: float) -> str:
    """ "dưới 1 phút", "12 phút", "1 giờ 05 phút"."""
    minutes = int(max(seconds, 0) // 60)
    if minutes < 1:
        return "dưới 1 phút"
    if minutes < 60:
        return f"{minutes} phút"
    return f"{minutes // 60} giờ {minutes % 60:02d} phút"


def clock_text(seconds: float) -> str:
    """A running service time: "03:25", or "1:02:07" past an hour."""
    total = int(max(seconds, 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def average_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    return f"{minutes} phút {secs:02d} giây" if minutes else f"{secs} giây"
