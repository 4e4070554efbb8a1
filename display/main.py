"""`hangdoi display` (the waiting-room screen) and `hangdoi voice build` (the default voice pack)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from client.connection import Connection
from client.snapshots import save_snapshots
from client.theme import install_fonts
from display.announcer import Announcer
from display.model import DisplayModel
from display.settings import DisplaySettings, default_voice_pack, from_arguments
from display.voicepack import VoicePack, build_pack
from display.window import DisplayWindow

log = logging.getLogger(__name__)


def load_or_build_pack(folder: Path) -> tuple[VoicePack | None, str]:
    """The voice pack, built with espeak-ng the first time; (None, why) when there is no voice."""
    try:
        if not (folder / "pack.json").exists():
            log.info("no voice pack in %s; building the default one with espeak-ng", folder)
            build_pack(folder)
        pack = VoicePack.load(folder)
    except (RuntimeError, ValueError, OSError) as error:
        return None, f"Không có gói giọng đọc: {error}"
    missing = pack.missing()
    if missing:
        return pack, "Gói giọng đọc thiếu: " + ", ".join(missing)
    return pack, ""


def run(args: argparse.Namespace) -> int:
    settings = from_arguments(args)
    if not settings.token:
        print("Lỗi: thiếu mã thiết bị của màn hình (HANGDOI_DISPLAY_TOKEN hoặc token trong display.toml).", file=sys.stderr)
        return 2

    app = QApplication.instance() or QApplication(sys.argv[:1])
    install_fonts(app)  # type: ignore[arg-type]
    window = build(settings)
    save_snapshots(window, "display")
    window.model.connection.start()
    if settings.windowed:
        window.resize(1920, 1080)
        window.show()
    else:
        window.showFullScreen()
    code = app.exec()
    window.model.connection.stop()
    return int(code)


def build(settings: DisplaySettings) -> DisplayWindow:
    connection = Connection(settings.server_url, settings.token)
    model = DisplayModel(
        connection,
        counter_numbers=settings.counters,
        field_codes=settings.fields,
        recent_limit=settings.recent_calls,
        missed_call_seconds=settings.missed_call_seconds,
    )
    announcer = None
    if settings.voice:
        pack, problem = load_or_build_pack(settings.voice_pack)
        if problem:
            print(problem, file=sys.stderr)
        announcer = Announcer(pack)
    return DisplayWindow(model, announcer, highlight_seconds=settings.highlight_seconds, show_waiting=settings.show_waiting)


def voice_build(args: argparse.Namespace) -> int:
    folder = Path(args.out) if args.out else default_voice_pack()
    try:
        pack = build_pack(folder, voice=args.voice, speed=args.speed)
    except RuntimeError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    print(f"Đã tạo gói giọng đọc tại {pack.folder} ({len(pack.clips)} đoạn âm thanh).")
    return 0
