"""The kiosk against a real server and a fake network printer on 127.0.0.1: taps, printed bytes
decoded back into a ticket, printer faults, a server restart, and the admin PIN."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bench._server import running_server
from client.connection import Connection
from kiosk.print_worker import PrintService
from kiosk.printer import PrinterConfig
from kiosk.window import KioskWindow, PinDialog
from tests.conftest import ARTIFACTS, HO_TICH, NGUOI_CAO_TUOI, Live, screenshot
from tests.escpos_raster import decode
from tests.fake_printer import FakePrinter, unused_port
from tests.ticket_reading import ocr, ocr_number, read_qr

PIN = "2468"


@dataclass
class Kiosk:
    window: KioskWindow
    connection: Connection
    printing: PrintService

    def tap(self, qtbot: QtBot, field_id: int = HO_TICH) -> None:
        qtbot.mouseClick(self.window._field_buttons[field_id], Qt.MouseButton.LeftButton)


def open_kiosk(qtbot: QtBot, server_url: str, token: str, printer_spec: str, size: tuple[int, int] = (1080, 1920)) -> Kiosk:
    connection = Connection(server_url, token)
    printing = PrintService(PrinterConfig.parse(printer_spec, timeout=1.0))
    window = KioskWindow(connection, printing, admin_pin=PIN, ticket_seconds=30)
    window.resize(*size)
    window.show()
    connection.start()
    qtbot.waitUntil(lambda: connection.online and bool(window._field_buttons), timeout=10000)
    return Kiosk(window, connection, printing)


def close_kiosk(kiosk: Kiosk) -> None:
    kiosk.connection.stop()
    kiosk.printing.shutdown()
    kiosk.window.locked = False
    kiosk.window.close()


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


@pytest.fixture
def kiosk(qtbot: QtBot, fonts: str, live: Live, printer: FakePrinter) -> Iterator[Kiosk]:
    opened = open_kiosk(qtbot, live.base_url, live.devices["kiosk"], printer.spec)
    yield opened
    close_kiosk(opened)


def read_ticket(image: Image.Image, name: str, tmp_path: Path) -> tuple[list[str], str, str]:
    """(QR contents, text, number) of a printed ticket image, which is also kept as an artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    image.save(path)
    return read_qr(path), ocr(image, tmp_path), ocr_number(image, tmp_path)


def waiting(live: Live, field_id: int = HO_TICH) -> int:
    return len(live.admin().get(f"/fields/{field_id}/queue").json())


def device_printer_state(live: Live) -> str:
    devices = live.admin().get("/admin/devices").json()
    return next(d["printer_state"] for d in devices if d["kind"] == "kiosk")


def test_a_tap_issues_a_ticket_and_prints_it(
    qtbot: QtBot, kiosk: Kiosk, live: Live, printer: FakePrinter, tmp_path: Path
) -> None:
    screenshot(kiosk.window, "kiosk-home-portrait")
    with qtbot.waitSignal(kiosk.window.ticket_shown, timeout=10000) as shown:
        kiosk.tap(qtbot)
    issued: dict[str, Any] = shown.args[0]
    label = issued["ticket"]["label"]
    assert label == "1001"
    assert kiosk.window.stack.currentWidget() is kiosk.window.ticket_page
    assert kiosk.window.ticket_number.text() == label
    qtbot.waitUntil(lambda: "Mời nhận phiếu" in kiosk.window.print_status.text(), timeout=10000)
    screenshot(kiosk.window, "kiosk-ticket-screen")

    job = decode(printer.wait_for_jobs(1)[0])
    assert job.image is not None and job.cut
    assert job.image.width == 576
    qr, text, number = read_ticket(job.image, "kiosk-printed-ticket", tmp_path)
    assert qr == [issued["status_url"]] and issued["status_url"] == f"https://hangdoi.example.vn/t/{issued['code']}"
    assert number == label
    assert "PHIẾU SỐ THỨ TỰ" in text and "Hộ tịch" in text
    assert waiting(live) == 1


def test_a_priority_ticket_says_so_on_screen_and_on_paper(
    qtbot: QtBot, kiosk: Kiosk, printer: FakePrinter, tmp_path: Path
) -> None:
    window = kiosk.window
    qtbot.mouseClick(window.priority_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.priority_page
    screenshot(window, "kiosk-priority-groups")
    group_button = window.group_box.itemAt(0).widget()
    qtbot.mouseClick(group_button, Qt.MouseButton.LeftButton)
    assert window.priority_group is not None and window.priority_group["id"] == NGUOI_CAO_TUOI
    with qtbot.waitSignal(window.ticket_shown, timeout=10000) as shown:
        kiosk.tap(qtbot)
    assert shown.args[0]["ticket"]["priority_group"] == "Người cao tuổi"
    assert "ƯU TIÊN" in window.ticket_priority.text()
    job = decode(printer.wait_for_jobs(1)[0])
    assert job.image is not None
    _, text, number = read_ticket(job.image, "kiosk-printed-priority", tmp_path)
    assert "ƯU TIÊN" in text and number == shown.args[0]["ticket"]["label"]
    assert window.priority_group is None  # the next citizen starts afresh


def test_a_double_tap_gives_one_ticket(qtbot: QtBot, kiosk: Kiosk, live: Live, printer: FakePrinter) -> None:
    shown: list[dict[str, Any]] = []
    kiosk.window.ticket_shown.connect(shown.append)
    kiosk.tap(qtbot)
    kiosk.tap(qtbot)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    kiosk.tap(qtbot)  # a third tap while the ticket prints
    qtbot.mouseClick(kiosk.window.done_button, Qt.MouseButton.LeftButton)  # too soon: belongs to the first tap
    assert kiosk.window.stack.currentWidget() is kiosk.window.ticket_page
    printer.wait_for_jobs(1)
    qtbot.wait(500)
    assert len(shown) == 1 and len(printer.jobs) == 1
    assert waiting(live) == 1


def test_printer_out_of_paper_shows_the_number_and_tells_the_server(
    qtbot: QtBot, kiosk: Kiosk, live: Live, printer: FakePrinter, tmp_path: Path
) -> None:
    printer.paper = "out"
    with qtbot.waitSignal(kiosk.window.print_finished, timeout=10000) as finished:
        kiosk.tap(qtbot)
    assert not finished.args[0].printed
    window = kiosk.window
    assert window.ticket_number.text() == "1001"
    assert "hết giấy" in window.print_status.text() and "ghi nhớ số thứ tự" in window.print_status.text()
    assert "1001" in window.print_status.text()
    assert window.reprint_button.isVisible()
    screenshot(window, "kiosk-ticket-printer-fault")
    qtbot.waitUntil(lambda: device_printer_state(live) == "paper_out", timeout=10000)
    assert all(decode(job).image is None for job in printer.jobs)  # nothing half-printed

    # Paper back in: the next probe sees it, the server is told, and the ticket can be reprinted.
    printer.paper = "ok"
    kiosk.printing.probe()
    qtbot.waitUntil(lambda: device_printer_state(live) == "ok", timeout=10000)
    with qtbot.waitSignal(window.print_finished, timeout=10000) as reprinted:
        qtbot.mouseClick(window.reprint_button, Qt.MouseButton.LeftButton)
    assert reprinted.args[0].printed
    images = [decode(job).image for job in printer.jobs]
    printed = [image for image in images if image is not None]
    assert len(printed) == 1
    assert read_ticket(printed[0], "kiosk-reprinted-ticket", tmp_path)[2] == "1001"
    assert waiting(live) == 1  # a reprint is not a new ticket


def test_printer_offline_still_gives_the_number(qtbot: QtBot, fonts: str, live: Live) -> None:
    kiosk = open_kiosk(qtbot, live.base_url, live.devices["kiosk"], f"network:127.0.0.1:{unused_port()}")
    try:
        with qtbot.waitSignal(kiosk.window.print_finished, timeout=10000) as finished:
            kiosk.tap(qtbot)
        assert not finished.args[0].printed and finished.args[0].state == "offline"
        assert "ghi nhớ số thứ tự của bạn: 1001" in kiosk.window.print_status.text()
        qtbot.waitUntil(lambda: device_printer_state(live) == "offline", timeout=10000)
    finally:
        close_kiosk(kiosk)


def test_a_closed_field_says_why_and_cannot_be_tapped(qtbot: QtBot, kiosk: Kiosk, live: Live) -> None:
    answer = live.admin().patch(f"/admin/fields/{HO_TICH}", json={"closes_at": "08:00:00"})
    assert answer.status_code == 200, answer.text
    button = kiosk.window._field_buttons[HO_TICH]
    qtbot.waitUntil(lambda: not button.isEnabled(), timeout=10000)
    assert "đã ngừng cấp số lúc 08:00" in button.detail.text()
    kiosk.tap(qtbot)
    qtbot.wait(300)
    assert waiting(live) == 0
    screenshot(kiosk.window, "kiosk-home-field-closed")


def test_server_restart_disables_then_recovers_by_itself(qtbot: QtBot, fonts: str, printer: FakePrinter) -> None:
    with running_server() as server:
        kiosk = open_kiosk(qtbot, server.base_url, server.kiosk_token, printer.spec, size=(1920, 1080))
        try:
            with qtbot.waitSignal(kiosk.window.ticket_shown, timeout=10000):
                kiosk.tap(qtbot)
            kiosk.window.go_home()
            qtbot.waitUntil(lambda: not kiosk.window.busy, timeout=10000)

            server.stop()
            qtbot.waitUntil(lambda: kiosk.window.offline.isVisible(), timeout=10000)
            assert not kiosk.window._field_buttons[HO_TICH].isEnabled()
            screenshot(kiosk.window, "kiosk-home-offline")
            kiosk.tap(qtbot)  # a disabled button: no number is invented locally
            assert not kiosk.window.issuing

            server.start()
            qtbot.waitUntil(lambda: kiosk.connection.online and kiosk.window._field_buttons[HO_TICH].isEnabled(), timeout=15000)
            assert not kiosk.window.offline.isVisible()
            with qtbot.waitSignal(kiosk.window.ticket_shown, timeout=10000) as shown:
                kiosk.tap(qtbot)
            assert shown.args[0]["ticket"]["label"] == "1002"
        finally:
            close_kiosk(kiosk)


def test_leaving_needs_the_admin_pin(qtbot: QtBot, kiosk: Kiosk) -> None:
    window = kiosk.window

    def answer_pin(pin: str) -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, PinDialog)
        for digit in pin:
            dialog.press(digit)
        dialog.press("OK")
        if dialog.isVisible():  # a wrong PIN keeps the dialog open with a message
            assert dialog.error.text() == "Mã PIN không đúng."
            dialog.reject()

    QTimer.singleShot(200, lambda: answer_pin("1111"))
    window.close()
    assert window.isVisible()  # a wrong PIN: still there

    QTimer.singleShot(200, lambda: answer_pin(PIN))
    window.close()
    assert not window.isVisible()


def test_home_screen_looks(qtbot: QtBot, kiosk: Kiosk, live: Live) -> None:
    live.issue()
    live.issue(field_id=2)
    qtbot.waitUntil(lambda: "Đang chờ: 1 người" in kiosk.window._field_buttons[HO_TICH].detail.text(), timeout=10000)
    window = kiosk.window
    window.resize(1920, 1080)
    qtbot.wait(50)
    screenshot(window, "kiosk-home-landscape")
    window.set_high_contrast(True)
    screenshot(window, "kiosk-home-landscape-contrast")
    window.resize(1080, 1920)
    window.set_text_scale(1.25)
    qtbot.wait(50)
    screenshot(window, "kiosk-home-portrait-contrast-large")
    assert window.contrast_button.isChecked() and window.scale_buttons["A+"].isChecked()
