"""Ticket printing end to end, without mocks: render → ESC/POS over a real TCP connection to a fake
network printer → raster decoded back into an image → QR decoded by zbarimg and text read by tesseract."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from kiosk import ticket_image
from kiosk.printer import PrinterConfig, PrintError, PrinterState, TicketPrinter, encode_job, print_ticket
from kiosk.ticket_image import TicketContent, render_ticket
from tests.escpos_raster import decode
from tests.fake_printer import FakePrinter, unused_port
from tests.ticket_reading import number_region, ocr, ocr_number, read_qr

ARTIFACTS = Path(__file__).parent / "artifacts"
HANOI = timezone(timedelta(hours=7))
STATUS_URL = "http://192.168.1.10:8000/t/7f3a9c2e"
TIMEOUT = 1.5


def content(priority: str | None = "Người cao tuổi", **changes: object) -> TicketContent:
    fields: dict[str, object] = {
        "centre_name": "Trung tâm Phục vụ hành chính công xã Tân Phú",
        "field_name": "Hộ tịch",
        "label": "1005",
        "priority_name": priority,
        "people_ahead": 4,
        "wait_minutes": 20,
        "issued_at": datetime(2026, 11, 22, 8, 15, tzinfo=HANOI),
        "status_url": STATUS_URL,
    }
    fields.update(changes)
    return TicketContent(**fields)  # type: ignore[arg-type]


def band_rows(image: Image.Image, margin: int) -> int:
    """Rows that are black across at least 95% of the printable width: only the priority band has them."""
    gray = image.convert("L")
    width = image.width - 2 * margin
    count = 0
    for y in range(image.height):
        row = gray.crop((margin, y, image.width - margin, y + 1))
        if row.histogram()[0] >= 0.95 * width:
            count += 1
    return count


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


@pytest.mark.parametrize(("width", "artifact"), [(576, "ticket-80mm.png"), (384, "ticket-58mm.png")])
def test_ticket_prints_and_reads_back(printer: FakePrinter, tmp_path: Path, width: int, artifact: str) -> None:
    ticket = content()
    image = render_ticket(ticket, width)
    assert image.mode == "1"
    assert image.width == width

    state = TicketPrinter(PrinterConfig.parse(printer.spec, width_dots=width, timeout=TIMEOUT)).print_image(image)

    assert state is PrinterState.OK
    [job] = printer.wait_for_jobs(1)
    assert printer.queries == [4]
    decoded = decode(job)
    assert decoded.cut
    assert decoded.modes == [0]  # one GS v 0 block, normal density: the whole ticket in one command
    assert decoded.image is not None
    assert decoded.image.size == image.size
    assert decoded.image.tobytes() == image.tobytes()

    ARTIFACTS.mkdir(exist_ok=True)
    decoded.image.save(ARTIFACTS / artifact)

    assert read_qr(ARTIFACTS / artifact) == [STATUS_URL]
    text = ocr(decoded.image, tmp_path)
    assert "PHIẾU SỐ THỨ TỰ" in text
    assert "Lĩnh vực: Hộ tịch" in text
    assert "Số người chờ trước: 4" in text
    assert "08:15 22/11/2026" in text
    assert ocr_number(decoded.image, tmp_path) == ticket.label
    assert band_rows(decoded.image, margin=round(width * 0.035)) >= 20


@pytest.mark.parametrize("width", [576, 384])
def test_number_is_very_large(width: int) -> None:
    image = render_ticket(content(priority=None), width)
    _, number_height = number_region(image)
    assert number_height >= 0.36 * width


@pytest.mark.parametrize("width", [576, 384])
def test_long_texts_wrap_inside_the_paper(tmp_path: Path, width: int) -> None:
    ticket = content(
        centre_name="Trung tâm Phục vụ hành chính công phường Nguyễn Trung Trực, thành phố Rạch Giá, tỉnh Kiên Giang",
        field_name="Hỗ trợ dịch vụ công trực tuyến",
        label="A1012",
        priority_name="Người có công với cách mạng",
        people_ahead=0,
    )
    image = render_ticket(ticket, width)
    edge = round(width * 0.035) - 2
    left = image.crop((0, 0, edge, image.height))
    right = image.crop((width - edge, 0, width, image.height))
    assert left.getextrema() == (255, 255)
    assert right.getextrema() == (255, 255)
    path = tmp_path / "long.png"
    image.save(path)
    assert read_qr(path) == [STATUS_URL]
    text = ocr(image, tmp_path)
    assert "sắp đến lượt" in text
    assert ocr_number(image, tmp_path) == "A1012"


def test_without_priority_there_is_no_band() -> None:
    assert band_rows(render_ticket(content(priority=None)), margin=20) == 0


def test_test_print_says_so(tmp_path: Path) -> None:
    image = render_ticket(ticket_image.test_ticket_content(datetime(2026, 11, 22, 8, 15, tzinfo=HANOI)), 384)
    assert "IN THỬ" in ocr(image, tmp_path)


def test_paper_out_prints_nothing() -> None:
    with FakePrinter(paper="out") as fake:
        printer = TicketPrinter(PrinterConfig.parse(fake.spec, timeout=TIMEOUT))
        with pytest.raises(PrintError) as caught:
            printer.print_image(render_ticket(content()))
        assert caught.value.state is PrinterState.PAPER_OUT
        assert "hết giấy" in caught.value.message
        [job] = fake.wait_for_jobs(1)
        assert job == b"\x10\x04\x04"  # the status query, and no raster
        assert decode(job).image is None
        assert printer.status() is PrinterState.PAPER_OUT
        assert printer.last_state is PrinterState.PAPER_OUT


def test_paper_low_prints_and_reports() -> None:
    with FakePrinter(paper="low") as fake:
        printer = TicketPrinter(PrinterConfig.parse(fake.spec, timeout=TIMEOUT))
        assert printer.print_image(render_ticket(content())) is PrinterState.PAPER_LOW
        assert printer.last_state is PrinterState.PAPER_LOW
        [job] = fake.wait_for_jobs(1)
        assert decode(job).image is not None
        assert printer.status() is PrinterState.PAPER_LOW


def test_silent_printer_still_prints() -> None:
    with FakePrinter(silent=True) as fake:
        config = PrinterConfig.parse(fake.spec, timeout=TIMEOUT)
        started = time.monotonic()
        state = TicketPrinter(config).print_image(render_ticket(content()))
        elapsed = time.monotonic() - started
        assert state is PrinterState.OK
        [job] = fake.wait_for_jobs(1)
        assert fake.queries == [4]
        assert decode(job).cut
        # The unanswered query costs status_timeout, not the full timeout.
        assert elapsed < config.status_timeout + 1.0
        assert TicketPrinter(config).status() is PrinterState.OK


def test_each_job_closes_its_connection(printer: FakePrinter) -> None:
    # The fake, like a printer, serves one connection at a time: a socket left open would block job 2.
    config = PrinterConfig.parse(printer.spec, timeout=TIMEOUT)
    assert print_ticket(config, content()) is PrinterState.OK
    assert print_ticket(config, content(label="1006")) is PrinterState.OK
    assert TicketPrinter(config).status() is PrinterState.OK
    jobs = printer.wait_for_jobs(3, timeout=3)
    assert [decode(job).image is not None for job in jobs] == [True, True, False]


def test_nothing_listening_is_offline_quickly() -> None:
    printer = TicketPrinter(PrinterConfig.parse(f"network:127.0.0.1:{unused_port()}", timeout=TIMEOUT))
    started = time.monotonic()
    with pytest.raises(PrintError) as caught:
        printer.print_image(render_ticket(content()))
    assert caught.value.state is PrinterState.OFFLINE
    assert "Không kết nối được" in caught.value.message
    assert printer.status() is PrinterState.OFFLINE
    assert time.monotonic() - started < TIMEOUT


def test_unresponsive_host_is_offline_within_the_timeout() -> None:
    # A listener whose accept queue is full drops new SYNs, like a printer that is switched off.
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        host, port = listener.getsockname()
        printer = TicketPrinter(PrinterConfig.parse(f"network:{host}:{port}", timeout=0.5))
        started = time.monotonic()
        with pytest.raises(PrintError) as caught:
            printer.print_image(render_ticket(content()))
        elapsed = time.monotonic() - started
    assert caught.value.state is PrinterState.OFFLINE
    assert 0.4 < elapsed < 1.5


def test_stopped_printer_is_offline() -> None:
    fake = FakePrinter()
    fake.stop()
    with pytest.raises(PrintError) as caught:
        TicketPrinter(PrinterConfig.parse(fake.spec, timeout=TIMEOUT)).print_image(render_ticket(content()))
    assert caught.value.state is PrinterState.OFFLINE


def test_file_printer_writes_the_same_job(printer: FakePrinter, tmp_path: Path) -> None:
    image = render_ticket(content(), 384)
    target = tmp_path / "lp0"
    config = PrinterConfig.parse(f"file:{target}", width_dots=384)
    assert TicketPrinter(config).status() is PrinterState.OK
    assert TicketPrinter(config).print_image(image) is PrinterState.OK
    TicketPrinter(PrinterConfig.parse(printer.spec, width_dots=384, timeout=TIMEOUT)).print_image(image)
    [network_job] = printer.wait_for_jobs(1)

    written = target.read_bytes()
    assert written == encode_job(image, 384)
    assert network_job == b"\x10\x04\x04" + written
    decoded = decode(written)
    assert decoded.cut
    assert decoded.image is not None
    assert decoded.image.tobytes() == image.tobytes()


def test_missing_device_file_is_offline_and_not_created(tmp_path: Path) -> None:
    printer = TicketPrinter(PrinterConfig.parse("file:/dev/usb/lp-hangdoi-missing"))
    with pytest.raises(PrintError) as caught:
        printer.print_image(render_ticket(content()))
    assert caught.value.state is PrinterState.OFFLINE
    assert not Path("/dev/usb/lp-hangdoi-missing").exists()
    assert printer.status() is PrinterState.OFFLINE


def test_no_printer_configured() -> None:
    printer = TicketPrinter(PrinterConfig.parse("none"))
    with pytest.raises(PrintError) as caught:
        printer.print_image(render_ticket(content()))
    assert caught.value.state is PrinterState.OFFLINE
    assert printer.status() is PrinterState.OFFLINE


def test_tall_images_go_out_in_large_blocks_and_stack_back() -> None:
    tall = Image.new("1", (500, 3000), 1)
    draw = ImageDraw.Draw(tall)
    for y in range(0, 3000, 50):
        draw.line((0, y, 499, y + 40), fill=0, width=3)
    decoded = decode(encode_job(tall, 576, partial_cut=True))
    assert decoded.blocks == [(576, 2048), (576, 952)]
    assert decoded.cut
    assert decoded.image is not None
    expected = Image.new("1", (576, 3000), 1)
    expected.paste(tall, (38, 0))  # narrower images are centred on the paper
    assert decoded.image.tobytes() == expected.tobytes()


def test_too_wide_image_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_job(Image.new("1", (600, 10), 1), 576)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("network:192.168.1.50:9100", PrinterConfig(kind="network", host="192.168.1.50", port=9100)),
        ("network:printer.local", PrinterConfig(kind="network", host="printer.local", port=9100)),
        ("NETWORK:10.0.0.7:9101", PrinterConfig(kind="network", host="10.0.0.7", port=9101)),
        ("network:[fe80::1]:9100", PrinterConfig(kind="network", host="fe80::1", port=9100)),
        ("usb:0x0416:0x5011", PrinterConfig(kind="usb", usb_vendor=0x0416, usb_product=0x5011)),
        ("usb:04b8:0202", PrinterConfig(kind="usb", usb_vendor=0x04B8, usb_product=0x0202)),
        ("serial:/dev/ttyUSB0", PrinterConfig(kind="serial", serial_device="/dev/ttyUSB0", baudrate=9600)),
        ("serial:/dev/ttyS1:115200", PrinterConfig(kind="serial", serial_device="/dev/ttyS1", baudrate=115200)),
        ("serial:COM3", PrinterConfig(kind="serial", serial_device="COM3")),
        ("file:/dev/usb/lp0", PrinterConfig(kind="file", path="/dev/usb/lp0")),
        ("none", PrinterConfig()),
        ("", PrinterConfig()),
    ],
)
def test_parse(spec: str, expected: PrinterConfig) -> None:
    assert PrinterConfig.parse(spec) == expected


def test_parse_keeps_width_and_timeout() -> None:
    config = PrinterConfig.parse("network:10.0.0.7", width_dots=384, timeout=2.0)
    assert (config.width_dots, config.timeout) == (384, 2.0)


@pytest.mark.parametrize(
    "spec",
    [
        "network:",
        "network::9100",
        "network:10.0.0.7:abc",
        "network:10.0.0.7:70000",
        "network:fe80::1",
        "usb:0x0416",
        "usb:xyz:0x5011",
        "usb:0x0416:0x5011:7",
        "serial:",
        "serial::9600",
        "file:",
        "none:x",
        "bluetooth:00:11:22",
        "192.168.1.50",
    ],
)
def test_parse_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="Cấu hình máy in không hợp lệ"):
        PrinterConfig.parse(spec)
