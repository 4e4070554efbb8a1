"""The Qt binding itself must be sound: PySide6 6.12.0 on Python 3.11 drops a reference to None on
every call that returns nothing, and a kiosk then aborts after a few dozen tickets."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class _Emitter(QObject):
    fired = Signal(bool)


def test_qt_calls_keep_reference_counts(qapp: object) -> None:
    label = QLabel()
    emitter = _Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        label.setText("1005")
        emitter.fired.emit(True)
    # Other threads may move the counts a little; a leak moves them by a thousand.
    assert abs(sys.getrefcount(None) - none_before) < 100
    assert abs(sys.getrefcount(True) - true_before) < 100
