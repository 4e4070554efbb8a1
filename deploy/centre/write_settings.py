#!/usr/bin/env python3
"""Writes an app's settings file (~/.config/hangdoi/kiosk.toml, display.toml or counter.toml) for
install-client.sh: the values given are set, the other values already in the file are kept.
Ghi tệp cấu hình của ứng dụng (kiosk.toml, display.toml, counter.toml); giữ các giá trị đã có.

    printf 'server_url=%s\\ntoken=%s\\n' "$URL" "$TOKEN" | python3 write_settings.py FILE

The values come on standard input, one KEY=VALUE a line, so that tokens and PINs never appear on a
command line (any user of the machine can read those with `ps`). An empty value leaves the key as
it is. `paper_mm` is written as a number, everything else as a string.

The file is replaced in one step (a temporary file, then a rename) with mode 0600: it holds the
device token and the kiosk's admin PIN. Standard library only: it runs with Debian's python3
before or without the hangdoi environment.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

INTEGER_KEYS = {"paper_mm"}
# The order keys are written in; keys the file already had that are not listed follow, sorted.
ORDER = ["server_url", "token", "admin_pin", "printer", "paper_mm"]
HEADER = """\
# Cấu hình ứng dụng hangdoi trên máy này (settings of the hangdoi app on this machine).
# Written by /opt/hangdoi/deploy/centre/install-client.sh, which keeps the values it finds here but
# not the comments. The names are in /opt/hangdoi/deploy/centre/README.md. This file holds the
# device token: keep it mode 0600. After a change: systemctl --user restart hangdoi-<app>
# (or simply restart the machine).
"""


class SettingsError(Exception):
    """A refusal, printed as "Lỗi: …"."""


def toml_value(value: Any) -> str:
    """One value as TOML. JSON's string escapes are all valid TOML basic-string escapes; DEL is the
    one character TOML wants escaped and JSON leaves alone."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise SettingsError(f"không ghi được giá trị kiểu {type(value).__name__} vào tệp TOML")


def parse_input(text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise SettingsError(f"dòng không hợp lệ (cần KEY=VALUE): {line!r}")
        if value == "":
            continue  # not given: keep what the file has
        if key in INTEGER_KEYS:
            try:
                values[key] = int(value)
            except ValueError:
                raise SettingsError(f"{key} phải là một số: {value!r}") from None
        else:
            values[key] = value
    return values


def merged(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"tệp {path} bị lỗi ({error}); sửa hoặc xoá tệp rồi chạy lại") from None
    if any(isinstance(value, dict) for value in current.values()):
        raise SettingsError(f"tệp {path} có bảng [..] mà ứng dụng không dùng; sửa hoặc xoá tệp rồi chạy lại")
    return {**current, **new}


def render(values: dict[str, Any]) -> str:
    keys = [key for key in ORDER if key in values] + sorted(key for key in values if key not in ORDER)
    return HEADER + "\n" + "".join(f"{key} = {toml_value(values[key])}\n" for key in keys)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1])
    try:
        values = merged(path, parse_input(sys.stdin.read()))
        text = render(values)
        if tomllib.loads(text) != values:  # what is written must read back as it was meant
            raise SettingsError(f"không ghi đúng được các giá trị vào {path}")
        write(path, text)
    except SettingsError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
