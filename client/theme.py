"""The look shared by the apps: the bundled font, two palettes (normal and high contrast, for
elderly citizens and bright rooms), and local-time formatting in Vietnamese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QLabel

from client import fonts

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


@dataclass(frozen=True)
class Palette:
    background: str
    surface: str
    text: str
    muted: str
    accent: str
    accent_text: str
    priority: str
    priority_text: str
    highlight: str
    highlight_text: str
    warning: str
    warning_text: str
    disabled: str
    disabled_text: str
    border: str


NORMAL = Palette(
    background="#eef3f8",
    surface="#ffffff",
    text="#14213d",
    muted="#4a5568",
    accent="#0b5cad",
    accent_text="#ffffff",
    priority="#b45309",
    priority_text="#ffffff",
    highlight="#c8102e",
    highlight_text="#ffffff",
    warning="#fff3cd",
    warning_text="#7a4b00",
    disabled="#d9dee5",
    disabled_text="#4a5568",
    border="#b8c4d3",
)

HIGH_CONTRAST = Palette(
    background="#000000",
    surface="#000000",
    text="#ffffff",
    muted="#ffffff",
    accent="#ffd400",
    accent_text="#000000",
    priority="#00e5ff",
    priority_text="#000000",
    highlight="#ffd400",
    highlight_text="#000000",
    warning="#ffffff",
    warning_text="#000000",
    disabled="#333333",
    disabled_text="#ffffff",
    border="#ffffff",
)

# The display's dark board, readable from across a waiting room.
BOARD = Palette(
    background="#0b1e3a",
    surface="#12305c",
    text="#ffffff",
    muted="#c7d4e8",
    accent="#ffd400",
    accent_text="#0b1e3a",
    priority="#ff9f1c",
    priority_text="#0b1e3a",
    highlight="#ffd400",
    highlight_text="#0b1e3a",
    warning="#c8102e",
    warning_text="#ffffff",
    disabled="#23416d",
    disabled_text="#c7d4e8",
    border="#2f5a94",
)


def install_fonts(app: QApplication) -> str:
    """Loads the bundled font and makes it the application's font; returns its family."""
    family = fonts.FAMILY
    for path in (fonts.REGULAR, fonts.BOLD):
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id >= 0:
            family = QFontDatabase.applicationFontFamilies(font_id)[0]
    app.setFont(QFont(family, 12))
    return family


def local_now(timezone: str) -> datetime:
    return datetime.now(ZoneInfo(timezone))


def to_local(moment: str | datetime, timezone: str) -> datetime:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(ZoneInfo(timezone))


def date_line(moment: datetime) -> str:
    """ "Thứ Hai, 23/11/2026"."""
    return f"{WEEKDAYS[moment.weekday()]}, {moment:%d/%m/%Y}"


def label(text: str = "", name: str = "", wrap: bool = True, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> QLabel:
    """A label named for the style sheet; wrapping by default, since Vietnamese names run long."""
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    widget.setAlignment(align)
    return widget
