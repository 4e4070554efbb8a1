"""The display's settings (HANGDOI_DISPLAY_* or ~/.config/hangdoi/display.toml; see client.settings)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from client.settings import AppSettings, add_common_arguments, overrides
from server.config import default_data_dir


def default_voice_pack() -> Path:
    return default_data_dir() / "voice" / "vi"


class DisplaySettings(AppSettings):
    APP: ClassVar[str] = "display"
    model_config = SettingsConfigDict(env_prefix="HANGDOI_DISPLAY_", extra="ignore")

    # This screen speaks (False mutes it, e.g. a second screen in the same room). How calls are read
    # (repeats, digit by digit, linh/lẻ) and whether the centre speaks at all are the centre's settings.
    voice: bool = True
    voice_pack: Path = Field(default_factory=default_voice_pack)
    # A display for one room: only these counter numbers / field codes (empty: all).
    counters: list[int] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    show_waiting: bool = True
    recent_calls: int = Field(default=5, ge=0, le=12)
    highlight_seconds: float = 8.0
    # Calls made while the display was disconnected are announced on reconnect if this recent.
    missed_call_seconds: float = 60.0


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--counters", type=_numbers, help="chỉ hiện các quầy này, ví dụ 1,2,3")
    parser.add_argument("--fields", type=_codes, help="chỉ hiện các lĩnh vực có mã này, ví dụ HT,CT")
    parser.add_argument("--voice-pack", type=Path, help="thư mục gói giọng đọc")
    parser.add_argument("--no-voice", dest="voice", action="store_false", default=None, help="không đọc loa")


def from_arguments(args: argparse.Namespace) -> DisplaySettings:
    return DisplaySettings(**overrides(args, ["server_url", "windowed", "counters", "fields", "voice_pack", "voice"]))
