"""Settings of the apps on the kiosk, display and counter machines.

Each app reads HANGDOI_<APP>_* environment variables and then a TOML file: `$HANGDOI_<APP>_CONFIG`
if set, otherwise `~/.config/hangdoi/<app>.toml`. Command-line options win over both. Tokens are
secrets: put them in the file or the environment, not on a command line other users can see.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource


def config_path(app: str) -> Path:
    explicit = os.environ.get(f"HANGDOI_{app.upper()}_CONFIG")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hangdoi" / f"{app}.toml"


class AppSettings(BaseSettings):
    APP: ClassVar[str] = ""

    server_url: str = "http://127.0.0.1:8000"
    token: str = ""
    windowed: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_path(cls.APP)))


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", dest="server_url", help="địa chỉ máy chủ, ví dụ http://192.168.1.10:8000")
    parser.add_argument("--windowed", action="store_true", default=None, help="chạy trong cửa sổ thay vì toàn màn hình")


def overrides(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """The command-line options that were given, to pass over the file and the environment."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
