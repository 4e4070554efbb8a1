"""Settings, from HANGDOI_* environment variables and an optional TOML file.

The TOML file is `$HANGDOI_CONFIG` if set, otherwise `hangdoi.toml` in the data directory.
Environment variables win over the file; the file wins over the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def default_data_dir() -> Path:
    return Path(os.environ.get("HANGDOI_DATA_DIR") or Path.home() / ".local" / "share" / "hangdoi")


def config_file() -> Path:
    explicit = os.environ.get("HANGDOI_CONFIG")
    return Path(explicit) if explicit else default_data_dir() / "hangdoi.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HANGDOI_", extra="ignore")

    data_dir: Path = default_data_dir()
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Ho_Chi_Minh"
    public_base_url: str = ""
    # Officers' tokens: a working day and a bit, so a morning sign-in lasts until closing.
    token_ttl_hours: float = 12.0
    # Server → client heartbeat period; a peer silent for 3 periods is taken as dead.
    heartbeat_seconds: float = 15.0
    # One kiosk (one device token) may issue at most this many tickets in any minute, 15 minutes
    # and hour. A line of citizens moves at most a ticket every few seconds (tap, print, take the
    # paper): 10 a minute for a quarter of an hour is never refused. Hammering is held to 20 in a
    # minute and 300 in an hour, so using up a field's 999 numbers would take hours of it, and the
    # kiosk says why it refuses. A centre with two kiosks gives each its own token.
    kiosk_tickets_per_minute: int = 20
    kiosk_tickets_per_15_minutes: int = 150
    kiosk_tickets_per_hour: int = 300
    # How often the server looks for centres whose local midnight has passed, to start their new
    # service day (numbering restarts, yesterday's open tickets expire, screens are told).
    day_check_seconds: float = 15.0
    log_level: str = "info"
    # Server processes (uvicorn workers). More than one needs PostgreSQL: the workers share live
    # events through LISTEN/NOTIFY, which SQLite has no equivalent of.
    workers: int = 1
    # PostgreSQL connections each worker keeps; size the server's max_connections for
    # workers x (db_pool_size + db_pool_overflow + 1 listener) per server process.
    db_pool_size: int = 10
    db_pool_overflow: int = 10

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def model_post_init(self, context: Any) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'hangdoi.sqlite3'}"
        if not self.public_base_url:
            self.public_base_url = f"http://{self.host}:{self.port}"
        self.public_base_url = self.public_base_url.rstrip("/")
