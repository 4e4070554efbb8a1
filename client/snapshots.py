"""On a machine with no screen (the demo on a server, a kiosk being set up over SSH) the apps can
still be seen: with HANGDOI_SNAPSHOT_DIR set, a window saves what it shows there every few seconds."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

INTERVAL_SECONDS = 3


def save_snapshots(window: QWidget, name: str) -> QTimer | None:
    folder = os.environ.get("HANGDOI_SNAPSHOT_DIR")
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    timer = QTimer(window)
    timer.timeout.connect(lambda: window.grab().save(str(path)))
    timer.start(INTERVAL_SECONDS * 1000)
    return timer
