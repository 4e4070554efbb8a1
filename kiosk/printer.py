"""The kiosk's receipt printer (máy in phiếu), chosen by configuration: network, USB, serial, a device
file, or none.

Every job is one ESC/POS byte string made by python-escpos (initialise, the ticket as ``GS v 0`` raster,
feed, cut); nothing depends on the printer's code pages. The transports are written here rather than
taken from python-escpos because its defaults do not suit a kiosk: a 60-s network timeout, no USB
timeout at all, whole-job write timeouts that a slow printer can exceed, and a status read that waits
for 16 bytes on a serial line.

Every call is blocking; run it off the UI thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

from escpos.printer import Dummy
from PIL import Image

from kiosk.ticket_image import TicketContent, render_ticket

# DLE EOT 4: transmit paper sensor status (real-time, answered even while the printer is busy).
PAPER_STATUS_QUERY = b"\x10\x04\x04"
PAPER_END_BITS = 0x60  # bits 5 and 6: roll end
PAPER_NEAR_END_BITS = 0x0C  # bits 2 and 3: roll near end
# Raster block height. python-escpos splits images taller than `fragment_height` (default 960) into
# several GS v 0 commands; several printers limit one command to yH ≤ 8 (2303 lines), so tickets (about
# 1000 lines) go out as a single block and only unusually tall images are split, into large blocks.
RASTER_BLOCK_LINES = 2048
# After the job, wait this long at most for the printer to close its side: closing while a late status
# answer sits unread makes the kernel send RST, and some printers drop buffered, unprinted data on RST.
CLOSE_LINGER_S = 1.0
SPEC_HELP = "network:ĐỊA_CHỈ[:CỔNG], usb:VID:PID, serial:THIẾT_BỊ[:TỐC_ĐỘ_BAUD], file:ĐƯỜNG_DẪN hoặc none"


class PrinterState(StrEnum):
    OK = "ok"
    OFFLINE = "offline"
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"
    ERROR = "error"


class PrintError(Exception):
    """A job that did not print; ``message`` is Vietnamese, for the kiosk screen and the log."""

    def __init__(self, state: PrinterState, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


PrinterKind = Literal["network", "usb", "serial", "file", "none"]


@dataclass(frozen=True)
class PrinterConfig:
    kind: PrinterKind = "none"
    host: str = ""
    port: int = 9100
    usb_vendor: int = 0
    usb_product: int = 0
    serial_device: str = ""
    baudrate: int = 9600
    path: str = ""  # file or device path, e.g. /dev/usb/lp0
    width_dots: int = 576
    timeout: float = 3.0  # connect, and longest time without progress while sending
    # Longest wait for the paper status answer. Kept short because many cheap printers never answer and
    # every ticket would otherwise wait for it.
    status_timeout: float = 0.5
    partial_cut: bool = False

    @classmethod
    def parse(cls, spec: str, width_dots: int = 576, timeout: float = 3.0) -> PrinterConfig:
        """Parse "network:192.168.1.50:9100", "network:host", "usb:0x0416:0x5011",
        "serial:/dev/ttyUSB0[:baud]", "file:/dev/usb/lp0" or "none"."""
        if width_dots < 200 or timeout <= 0:
            raise ValueError(f"Cấu hình máy in không hợp lệ: khổ {width_dots} điểm, thời gian chờ {timeout} giây.")
        common: dict[str, Any] = {"width_dots": width_dots, "timeout": timeout}
        text = spec.strip()
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()

        def bad(reason: str) -> ValueError:
            return ValueError(f"Cấu hình máy in không hợp lệ: {spec!r} ({reason}). Dùng {SPEC_HELP}.")

        if kind in ("", "none"):
            if rest:
                raise bad("'none' không có tham số")
            return cls(kind="none", **common)
        if kind == "network":
            host, port = _parse_host_port(rest, bad)
            return cls(kind="network", host=host, port=port, **common)
        if kind == "usb":
            ids = rest.split(":")
            if len(ids) != 2:
                raise bad("cần mã nhà sản xuất và mã sản phẩm, ví dụ usb:0x0416:0x5011")
            vendor, product = (_parse_usb_id(value, bad) for value in ids)
            return cls(kind="usb", usb_vendor=vendor, usb_product=product, **common)
        if kind == "serial":
            device, baudrate = rest, 9600
            head, sep, tail = rest.rpartition(":")
            if sep and tail.strip().isdigit():
                device, baudrate = head, int(tail)
                if baudrate <= 0:
                    raise bad("tốc độ baud phải lớn hơn 0")
            if not device.strip():
                raise bad("thiếu tên cổng nối tiếp, ví dụ serial:/dev/ttyUSB0")
            return cls(kind="serial", serial_device=device.strip(), baudrate=baudrate, **common)
        if kind == "file":
            if not rest.strip():
                raise bad("thiếu đường dẫn, ví dụ file:/dev/usb/lp0")
            return cls(kind="file", path=rest.strip(), **common)
        raise bad(f"không biết loại máy in '{kind}'")

    def describe(self) -> str:
        """Where the printer is, for messages."""
        match self.kind:
            case "network":
                return f"{self.host}:{self.port}"
            case "usb":
                return f"USB {self.usb_vendor:04x}:{self.usb_product:04x}"
            case "serial":
                return f"{self.serial_device} ({self.baudrate} baud)"
            case "file":
                return self.path
            case _:
                return "không có"


def _parse_host_port(rest: str, bad: Callable[[str], ValueError]) -> tuple[str, int]:
    rest = rest.strip()
    if rest.startswith("["):  # IPv6: network:[fe80::1]:9100
        host, sep, tail = rest[1:].partition("]")
        if not sep:
            raise bad("thiếu dấu ']' sau địa chỉ IPv6")
        port_text = tail[1:] if tail.startswith(":") else ("" if not tail else None)
        if port_text is None:
            raise bad("sau địa chỉ IPv6 chỉ được có :CỔNG")
    elif rest.count(":") > 1:
        raise bad("địa chỉ IPv6 phải đặt trong [ ]")
    else:
        host, _, port_text = rest.partition(":")
    host = host.strip()
    if not host:
        raise bad("thiếu địa chỉ máy in")
    if not port_text:
        return host, 9100
    if not port_text.strip().isdigit() or not 1 <= int(port_text) <= 65535:
        raise bad(f"cổng '{port_text}' không hợp lệ (1–65535)")
    return host, int(port_text)


def _parse_usb_id(value: str, bad: Callable[[str], ValueError]) -> int:
    text = value.strip().lower().removeprefix("0x")
    try:
        number = int(text, 16)
    except ValueError:
        raise bad(f"mã USB '{value}' không phải số hex") from None
    if not 0 < number <= 0xFFFF:
        raise bad(f"mã USB '{value}' ngoài khoảng 0x0001–0xFFFF")
    return number


def paper_state(status_byte: int) -> PrinterState:
    """Meaning of the answer to DLE EOT 4."""
    if status_byte & PAPER_END_BITS:
        return PrinterState.PAPER_OUT
    if status_byte & PAPER_NEAR_END_BITS:
        return PrinterState.PAPER_LOW
    return PrinterState.OK


def encode_job(image: Image.Image, width_dots: int = 576, partial_cut: bool = False) -> bytes:
    """The whole job as ESC/POS bytes: initialise, raster (GS v 0), feed to the cutter, cut."""
    if image.width > width_dots:
        raise ValueError(f"Ảnh phiếu rộng {image.width} điểm, lớn hơn khổ giấy {width_dots} điểm")
    if image.width < width_dots:
        # Centred here: python-escpos' own `center` is lost on the fragments of a split image.
        padded = Image.new("1", (width_dots, image.height), 1)
        padded.paste(image.convert("1"), ((width_dots - image.width) // 2, 0))
        image = padded
    job = Dummy()
    # The paper width set on this instance's copy of the profile: the default profile's "Unknown" width
    # makes escpos print a warning on stdout for every image, and its data is shared by all instances.
    profile = job.profile
    profile.profile_data = {**profile.profile_data, "media": {"dpi": 203, "width": {"mm": "", "pixels": width_dots}}}
    job.hw("INIT")
    job.image(image, impl="bitImageRaster", fragment_height=RASTER_BLOCK_LINES, center=False)
    job.cut(mode="PART" if partial_cut else "FULL", feed=True)
    return job.output


class _Connection(Protocol):
    def query_paper(self) -> int | None:
        """The DLE EOT 4 status byte, or None when the printer does not answer (or cannot)."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


def _offline(config: PrinterConfig, reason: object) -> PrintError:
    return PrintError(
        PrinterState.OFFLINE,
        f"Không kết nối được với máy in ({config.describe()}): {reason}. Kiểm tra nguồn điện và dây cáp của máy in.",
    )


class _NetworkConnection:
    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        try:
            self.sock = socket.create_connection((config.host, config.port), timeout=config.timeout)
        except TimeoutError:
            raise _offline(config, "hết thời gian chờ") from None
        except OSError as exc:
            raise _offline(config, exc.strerror or exc) from None

    def query_paper(self) -> int | None:
        try:
            self.sock.settimeout(self.config.status_timeout)
            self.sock.sendall(PAPER_STATUS_QUERY)
            answer = self.sock.recv(1)
        except TimeoutError:
            return None
        except OSError as exc:
            raise _offline(self.config, exc.strerror or exc) from None
        if not answer:
            raise _offline(self.config, "máy in đóng kết nối")
        return answer[0]

    def write(self, data: bytes) -> None:
        # One send() per chunk, each with the timeout: a slow printer that keeps taking data is fine,
        # a printer that stops taking it fails after `timeout` (sendall's timeout covers the whole job).
        self.sock.settimeout(self.config.timeout)
        view = memoryview(data)
        try:
            while view:
                sent = self.sock.send(view[:65536])
                view = view[sent:]
        except TimeoutError:
            raise _offline(self.config, "máy in ngừng nhận dữ liệu") from None
        except OSError as exc:
            raise _offline(self.config, exc.strerror or exc) from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + min(CLOSE_LINGER_S, self.config.timeout)
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                if not self.sock.recv(256):
                    break
        self.sock.close()


class _UsbConnection:
    def __init__(self, config: PrinterConfig) -> None:
        import usb.core
        import usb.util

        self.config = config
        self._usb_core = usb.core
        self._usb_util = usb.util
        try:
            device = usb.core.find(idVendor=config.usb_vendor, idProduct=config.usb_product)
        except Exception as exc:  # no libusb backend, permissions: all mean "cannot print"
            raise _offline(config, exc) from None
        if device is None:
            raise _offline(config, "không thấy thiết bị USB")
        self.device: Any = device
        try:
            with contextlib.suppress(NotImplementedError, usb.core.USBError):
                if device.is_kernel_driver_active(0):
                    device.detach_kernel_driver(0)
            with contextlib.suppress(usb.core.USBError):
                device.set_configuration()
            interface = device.get_active_configuration()[(0, 0)]
        except usb.core.USBError as exc:
            raise _offline(config, exc) from None
        # Endpoint numbers differ between models (python-escpos assumes 0x01/0x82); read them from the device.
        self.out_ep = usb.util.find_descriptor(
            interface, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT
        )
        self.in_ep = usb.util.find_descriptor(
            interface, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN
        )
        if self.out_ep is None:
            self.close()
            raise _offline(config, "thiết bị USB không có cổng ghi")

    def query_paper(self) -> int | None:
        if self.in_ep is None:  # write-only printer
            return None
        try:
            self.out_ep.write(PAPER_STATUS_QUERY, int(self.config.timeout * 1000))
            answer = self.in_ep.read(64, int(self.config.status_timeout * 1000))
        except self._usb_core.USBTimeoutError:
            return None
        except self._usb_core.USBError as exc:
            raise _offline(self.config, exc) from None
        return answer[-1] if len(answer) else None

    def write(self, data: bytes) -> None:
        try:
            for start in range(0, len(data), 4096):
                self.out_ep.write(data[start : start + 4096], int(self.config.timeout * 1000))
        except self._usb_core.USBTimeoutError:
            raise _offline(self.config, "máy in ngừng nhận dữ liệu") from None
        except self._usb_core.USBError as exc:
            raise _offline(self.config, exc) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._usb_util.dispose_resources(self.device)


class _SerialConnection:
    def __init__(self, config: PrinterConfig) -> None:
        import serial

        self.config = config
        self._serial = serial
        try:
            # DSR/DTR flow control, as python-escpos: the printer holds writes while its buffer is full.
            self.port = serial.Serial(
                config.serial_device, config.baudrate, timeout=config.status_timeout, write_timeout=config.timeout, dsrdtr=True
            )
        except (ValueError, serial.SerialException) as exc:
            raise _offline(config, exc) from None

    def query_paper(self) -> int | None:
        try:
            self.port.reset_input_buffer()
            self.port.write(PAPER_STATUS_QUERY)
            answer = self.port.read(1)  # read(16), as python-escpos does, always waits the full timeout
        except self._serial.SerialException as exc:
            raise _offline(self.config, exc) from None
        return answer[0] if answer else None

    def write(self, data: bytes) -> None:
        # Chunks that the line carries in half the timeout, so the write timeout means "no progress".
        chunk = max(64, int(self.config.baudrate / 10 * self.config.timeout / 2))
        try:
            for start in range(0, len(data), chunk):
                self.port.write(data[start : start + chunk])
            self.port.flush()
        except self._serial.SerialTimeoutException:
            raise _offline(self.config, "máy in ngừng nhận dữ liệu") from None
        except self._serial.SerialException as exc:
            raise _offline(self.config, exc) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.port.close()


def _is_device_path(path: str) -> bool:
    return path.startswith("/dev/")


class _FileConnection:
    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        # Never create a missing /dev path: it would be a regular file where the printer's node belongs.
        flags = os.O_WRONLY | os.O_NONBLOCK | (0 if _is_device_path(config.path) else os.O_CREAT | os.O_TRUNC)
        try:
            self.fd = os.open(config.path, flags, 0o644)
        except FileNotFoundError:
            raise _offline(config, "không tìm thấy thiết bị") from None
        except OSError as exc:
            raise _offline(config, exc.strerror or exc) from None
        self.is_device = stat.S_ISCHR(os.fstat(self.fd).st_mode)

    def query_paper(self) -> int | None:
        return None  # a device file is write-only to us

    def write(self, data: bytes) -> None:
        # Non-blocking writes with a deadline: a blocking write to /dev/usb/lp0 of a switched-off or
        # jammed printer would hang the kiosk.
        view = memoryview(data)
        try:
            while view:
                try:
                    written = os.write(self.fd, view)
                except BlockingIOError:
                    _, ready, _ = select.select([], [self.fd], [], self.config.timeout)
                    if not ready:
                        raise _offline(self.config, "máy in ngừng nhận dữ liệu") from None
                    continue
                view = view[written:]
        except OSError as exc:
            if self.is_device and exc.errno == errno.ENOSPC:  # usblp's answer when the roll is out
                raise PrintError(PrinterState.PAPER_OUT, "Máy in hết giấy. Vui lòng thay cuộn giấy.") from None
            if exc.errno == errno.EIO:
                raise PrintError(PrinterState.ERROR, f"Máy in báo lỗi ({self.config.path}).") from None
            raise _offline(self.config, exc.strerror or exc) from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


_TRANSPORTS: dict[str, Callable[[PrinterConfig], _Connection]] = {
    "network": _NetworkConnection,
    "usb": _UsbConnection,
    "serial": _SerialConnection,
    "file": _FileConnection,
}


class TicketPrinter:
    """One printer. A connection is opened per job and always closed (network printers accept one
    connection at a time); jobs and probes from several threads are serialised."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        # What the last job or probe found (PAPER_LOW after a job that printed on a near-empty roll).
        self.last_state = PrinterState.OK

    def _connect(self) -> _Connection:
        transport = _TRANSPORTS.get(self.config.kind)
        if transport is None:
            raise PrintError(PrinterState.OFFLINE, "Chưa cấu hình máy in.")
        return transport(self.config)

    def print_image(self, image: Image.Image) -> PrinterState:
        """Print a ticket image; returns OK or PAPER_LOW (printed, but the roll needs changing soon).
        Raises PrintError when nothing was printed or the job was cut off."""
        job = encode_job(image, self.config.width_dots, self.config.partial_cut)
        with self._lock:
            try:
                connection = self._connect()
                try:
                    state = self._check_paper(connection)
                    connection.write(job)
                finally:
                    connection.close()
            except PrintError as exc:
                self.last_state = exc.state
                raise
            self.last_state = state
        return state

    def status(self) -> PrinterState:
        """Probe the printer: OFFLINE, PAPER_OUT, PAPER_LOW, or OK (also when it does not report paper)."""
        with self._lock:
            try:
                connection = self._connect()
                try:
                    self.last_state = self._check_paper(connection)
                finally:
                    connection.close()
            except PrintError as exc:
                self.last_state = exc.state
            return self.last_state

    def _check_paper(self, connection: _Connection) -> PrinterState:
        status_byte = connection.query_paper()
        # No answer counts as OK: many cheap printers ignore DLE EOT (or have it switched off), and
        # refusing to print on them would leave the kiosk useless. A paper-out printer that does not
        # answer simply prints nothing; the kiosk still shows the number on screen.
        if status_byte is None:
            return PrinterState.OK
        state = paper_state(status_byte)
        if state is PrinterState.PAPER_OUT:
            raise PrintError(PrinterState.PAPER_OUT, "Máy in hết giấy. Vui lòng thay cuộn giấy.")
        return state


def print_ticket(config: PrinterConfig, content: TicketContent) -> PrinterState:
    """Render and print one ticket; returns OK or PAPER_LOW, raises PrintError."""
    return TicketPrinter(config).print_image(render_ticket(content, config.width_dots))
