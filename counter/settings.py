"""The counter app's settings (HANGDOI_COUNTER_* or ~/.config/hangdoi/counter.toml; see
client.settings), and the counter this machine remembers."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from client.settings import AppSettings, add_common_arguments, overrides

log = logging.getLogger(__name__)


def default_state_file() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "hangdoi" / "counter.json"


class CounterSettings(AppSettings):
    APP: ClassVar[str] = "counter"
    model_config = SettingsConfigDict(env_prefix="HANGDOI_COUNTER_", extra="ignore")

    # `token` (from AppSettings) is the counter-panel device token, used only with --panel.
    # The citizen-facing rating window: "auto" puts it full screen on a second screen when there is
    # one, else opens it as a window when a rating is asked; "off" when a tablet runs the web page.
    rating_window: Literal["auto", "window", "off"] = "auto"
    # A rating nobody answers closes quietly after this long.
    rating_seconds: float = Field(default=45.0, ge=5, le=600)
    state_file: Path = Field(default_factory=default_state_file)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--panel", action="store_true", help="màn hình nhỏ phía trên quầy (cần mã thiết bị màn hình quầy)")
    parser.add_argument("--rating-window", choices=["auto", "window", "off"], help="cửa sổ đánh giá cho công dân")


def from_arguments(args: argparse.Namespace) -> CounterSettings:
    return CounterSettings(**overrides(args, ["server_url", "windowed", "rating_window"]))


def remembered_counter(path: Path) -> int | None:
    """The counter this machine was last used at, if any; a damaged file is ignored."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("counter_id")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def remember_counter(path: Path, counter_id: int | None) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"counter_id": counter_id}), encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        # Remembering is a convenience: the officer can still choose the counter each time.
        log.warning("could not remember the counter in %s: %s", path, error)
