"""The kiosk's settings (HANGDOI_KIOSK_* or ~/.config/hangdoi/kiosk.toml; see client.settings)."""

from __future__ import annotations

import argparse
from typing import ClassVar, Literal

from pydantic_settings import SettingsConfigDict

from client.settings import AppSettings, add_common_arguments, overrides


class KioskSettings(AppSettings):
    APP: ClassVar[str] = "kiosk"
    model_config = SettingsConfigDict(env_prefix="HANGDOI_KIOSK_", extra="ignore")

    # "network:192.168.1.50:9100", "usb:0x0416:0x5011", "serial:/dev/ttyUSB0", "file:/dev/usb/lp0" or "none".
    printer: str = "none"
    paper_mm: Literal[58, 80] = 80
    printer_timeout: float = 3.0
    # Needed to leave full screen, quit or open the settings. Full screen refuses to start without one.
    admin_pin: str = ""
    # How long the ticket screen stays before going back home; longer when the printer failed,
    # so the citizen has time to note the number.
    ticket_seconds: float = 8.0
    ticket_seconds_on_fault: float = 20.0
    orientation: Literal["auto", "portrait", "landscape"] = "auto"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--printer", help='máy in: "network:IP:9100", "usb:0x0416:0x5011", "serial:/dev/ttyUSB0", "file:/dev/usb/lp0", "none"'
    )
    parser.add_argument("--paper-mm", type=int, choices=[58, 80], help="khổ giấy (mm)")
    parser.add_argument("--orientation", choices=["auto", "portrait", "landscape"])
    parser.add_argument("--test-print", action="store_true", help="in một phiếu thử rồi thoát")


def from_arguments(args: argparse.Namespace) -> KioskSettings:
    return KioskSettings(**overrides(args, ["server_url", "windowed", "printer", "paper_mm", "orientation"]))
