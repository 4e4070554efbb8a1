"""`hangdoi kiosk`: starts the touch app full screen (or `--windowed`), or prints a test ticket."""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk.printer import PrinterConfig, PrintError, TicketPrinter
from kiosk.settings import KioskSettings, from_arguments
from kiosk.ticket_image import render_ticket, test_ticket_content

log = logging.getLogger(__name__)


def printer_config(settings: KioskSettings) -> PrinterConfig:
    return PrinterConfig.parse(
        settings.printer, width_dots=576 if settings.paper_mm == 80 else 384, timeout=settings.printer_timeout
    )


def test_print(settings: KioskSettings) -> int:
    from client.theme import local_now

    config = printer_config(settings)
    if config.kind == "none":
        print("Lỗi: chưa cấu hình máy in (--printer hoặc HANGDOI_KIOSK_PRINTER).", file=sys.stderr)
        return 2
    try:
        TicketPrinter(config).print_image(render_ticket(test_ticket_content(local_now("Asia/Ho_Chi_Minh")), config.width_dots))
    except PrintError as error:
        print(f"Lỗi: {error.message}", file=sys.stderr)
        return 1
    print("Đã in phiếu thử.")
    return 0


def run(args: argparse.Namespace) -> int:
    settings = from_arguments(args)
    try:
        config = printer_config(settings)
    except ValueError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    if args.test_print:
        return test_print(settings)
    if not settings.token:
        print("Lỗi: thiếu mã thiết bị của máy lấy số (HANGDOI_KIOSK_TOKEN hoặc token trong kiosk.toml).", file=sys.stderr)
        return 2
    if not settings.windowed and not settings.admin_pin:
        print("Lỗi: chế độ toàn màn hình cần mã PIN quản trị (HANGDOI_KIOSK_ADMIN_PIN).", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from client.connection import Connection
    from client.theme import install_fonts
    from kiosk.print_worker import PrintService
    from kiosk.window import KioskWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    install_fonts(app)  # type: ignore[arg-type]
    connection = Connection(settings.server_url, settings.token)
    printing = PrintService(config)
    window = KioskWindow(
        connection,
        printing,
        admin_pin=settings.admin_pin,
        ticket_seconds=settings.ticket_seconds,
        ticket_seconds_on_fault=settings.ticket_seconds_on_fault,
        orientation=settings.orientation,
    )
    from client.snapshots import save_snapshots

    save_snapshots(window, "kiosk")
    connection.start()
    printing.probe()
    if settings.windowed:
        window.resize(1080, 1920) if settings.orientation == "portrait" else window.resize(1280, 800)
        window.show()
    else:
        window.showFullScreen()
    code = app.exec()
    connection.stop()
    printing.shutdown()
    return int(code)
