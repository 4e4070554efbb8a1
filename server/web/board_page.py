"""The waiting-room board for a browser (`/board`), and the voice pack it plays.

Smart TVs that only have a browser show the same board as the Qt display (display/window.py) and
say the same words from the same voice pack: the server's folder `<data_dir>/voice/vi` (what
`hangdoi voice build` writes, and the Qt display's default). The page never reads numbers itself:
`/voice/call` gives it the clips of a call, computed by display.voicepack and display.numbers, and
`/voice/clips/…` serves the files pack.json names, and nothing else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from display.numbers import MAX_NUMBER
from display.voicepack import PACK_FILE, VoicePack, VoiceStyle, clip_key_for, clips_for_announcement
from server.services.errors import Invalid, NotFound
from server.web.pages import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# Answers that change from one moment to the next must never come from a cache.
FRESH = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
NO_PACK = "Chưa có gói giọng đọc trên máy chủ – màn hình không đọc số (tạo bằng lệnh: hangdoi voice build)."
LABEL_MAX = 32


def pack_folder(request: Request) -> Path:
    """The same default as display.settings.default_voice_pack, under this server's data folder."""
    return Path(request.app.state.ctx.settings.data_dir) / "voice" / "vi"


def load_pack(request: Request) -> tuple[VoicePack | None, str]:
    """The server's voice pack, read afresh each time (a centre may swap in human recordings while
    the boards run), or None and why not."""
    folder = pack_folder(request)
    if not (folder / PACK_FILE).is_file():
        return None, NO_PACK
    try:
        return VoicePack.load(folder), ""
    except (ValueError, OSError, UnicodeDecodeError) as error:
        log.warning("voice pack %s cannot be used: %s", folder, error)
        return None, f"Gói giọng đọc trên máy chủ bị lỗi – màn hình không đọc số ({error})."


def clip_url(pack: VoicePack, key: str) -> str | None:
    """The address of a key's clip, versioned by the file's time so a replaced recording is fetched
    again while an unchanged one stays in the board's cache; None when the pack has no such file."""
    path = pack.path_for(key)
    if path is None:
        return None
    file_name = pack.clips[clip_key_for(key)]
    return f"/voice/clips/{quote(file_name)}?v={path.stat().st_mtime_ns}"


@router.get("/board", response_class=HTMLResponse)
def board_page() -> HTMLResponse:
    """Màn hình gọi số ở phòng chờ: open once as /board#token=<the display's device token>."""
    return render("board.html")


@router.get("/board/time")
def board_time(request: Request) -> JSONResponse:
    """The server's clock. A TV's own clock is often wrong (no network time, a flat battery); the
    board shows the centre's time from this and judges how old a missed call is by it."""
    now = request.app.state.ctx.clock.now()
    return JSONResponse({"now": now.isoformat()}, headers=FRESH)


@router.get("/voice/pack")
def voice_pack(request: Request) -> JSONResponse:
    """Whether the boards can speak: the pack's name and the clips it lacks."""
    pack, problem = load_pack(request)
    if pack is None:
        return JSONResponse({"available": False, "name": "", "missing": [], "message": problem}, headers=FRESH)
    missing = pack.missing()
    message = f"Gói giọng đọc thiếu: {', '.join(missing)}." if missing else ""
    return JSONResponse({"available": True, "name": pack.name, "missing": missing, "message": message}, headers=FRESH)


@router.get("/voice/call")
def voice_call(
    request: Request,
    label: Annotated[str, Query(min_length=1, max_length=LABEL_MAX)],
    counter: Annotated[int, Query(ge=0, le=MAX_NUMBER)],
    repeat: Annotated[int, Query(ge=1, le=5)] = 2,
    digit_by_digit: bool = False,
    odd_word: Literal["linh", "lẻ"] = "linh",
) -> JSONResponse:
    """The clips of one announcement, in playing order: the chime once, then "mời công dân có số
    <label> đến quầy số <counter>" `repeat` times: the same clips as the Qt display's announcer. A
    clip the pack lacks is left out and named in `missing`; the rest still plays."""
    try:
        keys = clips_for_announcement(label, counter, VoiceStyle(repeat, digit_by_digit, odd_word))
    except ValueError as error:
        raise Invalid("unreadable_label", f"Không đọc được số thứ tự “{label}”: chỉ gồm chữ cái và chữ số.") from error
    pack, problem = load_pack(request)
    body: dict[str, Any] = {"label": label, "counter": counter, "keys": keys}
    if pack is None:
        return JSONResponse({**body, "available": False, "clips": [], "missing": [], "message": problem}, headers=FRESH)
    urls = {key: clip_url(pack, key) for key in dict.fromkeys(keys)}
    clips = [{"key": key, "url": urls[key]} for key in keys if urls[key] is not None]
    missing = [key for key, url in urls.items() if url is None]
    if missing:
        log.warning("voice pack %s has no clip for %s; skipping them", pack.folder, missing)
    message = f"Gói giọng đọc thiếu: {', '.join(missing)}." if missing else ""
    return JSONResponse({**body, "available": True, "clips": clips, "missing": missing, "message": message}, headers=FRESH)


@router.get("/voice/clips/{file_name:path}")
def voice_clip(request: Request, file_name: str) -> FileResponse:
    """One clip of the pack. Only a file pack.json names is served, never another path; a name with
    `..` can match no entry (VoicePack.load refuses entries that leave the folder)."""
    pack, _problem = load_pack(request)
    if pack is None or file_name not in set(pack.clips.values()):
        raise NotFound("clip_not_found", "Không có đoạn âm thanh này trong gói giọng đọc.")
    root = pack.folder.resolve()
    path = (root / file_name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("clip_not_found", "Không có đoạn âm thanh này trong gói giọng đọc.")
    # Revalidated by ETag: a board keeps its decoded copy anyway, and the URL carries the version.
    return FileResponse(path, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
