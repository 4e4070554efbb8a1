"""Voice packs built for real with espeak-ng and sox (Debian packages `espeak-ng`, `sox`)."""

from __future__ import annotations

import json
import os
import shutil
import wave
from pathlib import Path

import pytest

from display.numbers import LETTER_NAMES, NUMBER_WORDS
from display.voicepack import (
    REQUIRED_CLIPS,
    VoicePack,
    build_pack,
    clip_key_for,
    clips_for_call,
    file_names,
    join_clips,
)

_TOOLS_MISSING = [p for p in ("espeak-ng", "sox") if shutil.which(p) is None]


def _require_tools() -> None:
    if not _TOOLS_MISSING:
        return
    reason = f"{', '.join(_TOOLS_MISSING)} not installed (apt install espeak-ng sox)"
    # CI has the packages, so a missing one there is a broken image, not a reason to skip silently.
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    _require_tools()
    return build_pack(tmp_path_factory.mktemp("voice") / "pack")


def _duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _copy(pack: VoicePack, dest: Path) -> VoicePack:
    shutil.copytree(pack.folder, dest)
    return VoicePack.load(dest)


# --- pure parts (no programs needed) ---


def test_required_clips_cover_reader_and_phrases() -> None:
    assert REQUIRED_CLIPS[:3] == ["chime", "mời công dân có số", "đến quầy số"]
    assert set(NUMBER_WORDS) <= set(REQUIRED_CLIPS)
    assert set(LETTER_NAMES.values()) <= set(REQUIRED_CLIPS)
    assert len(REQUIRED_CLIPS) == len(set(REQUIRED_CLIPS))
    for word in ("không", "một", "mốt", "tư", "lăm", "mười", "mươi", "linh", "lẻ", "trăm", "nghìn", "bảy"):
        assert word in REQUIRED_CLIPS


def test_clips_for_call_number() -> None:
    assert clips_for_call("1005", 3) == [
        "chime",
        "mời công dân có số",
        "một",
        "nghìn",
        "không",
        "trăm",
        "linh",
        "năm",
        "đến quầy số",
        "ba",
    ]


def test_clips_for_call_letter_prefix() -> None:
    assert clips_for_call("A012", 12) == ["chime", "mời công dân có số", "a", "mười", "hai", "đến quầy số", "mười", "hai"]


def test_clips_for_call_options() -> None:
    assert clips_for_call("A012", 21, digit_by_digit=True) == [
        "chime",
        "mời công dân có số",
        "a",
        "không",
        "một",
        "hai",
        "đến quầy số",
        "hai",
        "mươi",
        "mốt",
    ]
    assert clips_for_call("105", 1, odd_word="lẻ")[2:5] == ["một", "trăm", "lẻ"]


def test_clip_key_normalises_unicode() -> None:
    nfd = "m\u01a1\u0300i c\u00f4ng d\u00e2n co\u0301 so\u0302\u0301"  # decomposed "mời công dân có số"
    assert clip_key_for(nfd) == "mời công dân có số"
    assert clip_key_for("  Đến  Quầy số ") == "đến quầy số"


def test_file_names_are_ascii_and_distinct() -> None:
    names = file_names(REQUIRED_CLIPS)
    assert len(set(names.values())) == len(REQUIRED_CLIPS)
    assert all(name.isascii() and name.endswith(".wav") and "/" not in name for name in names.values())
    assert names["mời công dân có số"] == "moi-cong-dan-co-so.wav"
    assert names["chime"] == "chime.wav"
    assert len({names["một"], names["mốt"], names["mười"], names["mươi"]}) == 4


def test_load_rejects_paths_outside_the_pack(tmp_path: Path) -> None:
    (tmp_path / "pack.json").write_text(json.dumps({"name": "x", "language": "vi", "clips": {"ba": "../ba.wav"}}))
    with pytest.raises(ValueError):
        VoicePack.load(tmp_path)


def test_load_rejects_malformed(tmp_path: Path) -> None:
    (tmp_path / "pack.json").write_text(json.dumps({"name": "x", "clips": ["ba.wav"]}))
    with pytest.raises(ValueError):
        VoicePack.load(tmp_path)


# --- built with espeak-ng and sox ---


def test_every_required_clip_is_a_valid_wav(pack: VoicePack) -> None:
    assert pack.missing(REQUIRED_CLIPS) == []
    for key in REQUIRED_CLIPS:
        path = pack.path_for(key)
        assert path is not None, key
        with wave.open(str(path), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050), key
            seconds = w.getnframes() / w.getframerate()
        # Trimmed single syllables are ~0.2–0.4 s; anything shorter means espeak or the trim failed.
        assert 0.1 < seconds < 3.0, (key, seconds)


def test_trim_removed_espeak_padding(pack: VoicePack) -> None:
    # Untrimmed espeak output of one syllable is ~0.7 s; the phrases are longer but still well under 2.5 s.
    for key in ("một", "ba", "năm"):
        assert _duration(pack.path_for(key)) < 0.5, key  # type: ignore[arg-type]
    assert 0.8 < _duration(pack.path_for("mời công dân có số")) < 2.5  # type: ignore[arg-type]


def test_chime(pack: VoicePack) -> None:
    path = pack.path_for("chime")
    assert path is not None
    assert 0.8 < _duration(path) < 1.5
    with wave.open(str(path), "rb") as w:
        frames = w.readframes(w.getnframes())
    assert max(frames) > 0  # not silence


def test_pack_json_round_trip(pack: VoicePack) -> None:
    data = json.loads((pack.folder / "pack.json").read_text(encoding="utf-8"))
    assert data["language"] == "vi"
    assert set(data["clips"]) == set(REQUIRED_CLIPS)
    loaded = VoicePack.load(pack.folder)
    assert loaded.clips == pack.clips
    assert loaded.missing() == []


def test_missing_clip_is_reported(pack: VoicePack, tmp_path: Path) -> None:
    copy = _copy(pack, tmp_path / "pack")
    copy.path_for("mốt").unlink()  # type: ignore[union-attr]
    del copy.clips["lăm"]
    assert copy.path_for("mốt") is None
    assert copy.missing() == ["mốt", "lăm"]
    assert copy.missing(clips_for_call("1005", 3)) == []
    assert copy.missing(clips_for_call("1015", 21)) == ["lăm", "mốt"]


def test_human_recording_replaces_a_clip(pack: VoicePack, tmp_path: Path) -> None:
    # A centre drops in its own recording (here: a stereo 44.1 kHz file) under the same key.
    copy = _copy(pack, tmp_path / "pack")
    recorded = copy.folder / "human" / "ba.wav"
    recorded.parent.mkdir()
    with wave.open(str(recorded), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b"\x10\x00" * 2 * 44100)  # 1 s
    copy.clips["ba"] = "human/ba.wav"
    copy.save()
    reloaded = VoicePack.load(copy.folder)
    assert reloaded.path_for("ba") == recorded
    out = tmp_path / "ba.wav"
    assert join_clips(reloaded, ["ba"], out) == []
    assert _duration(out) == pytest.approx(1.0, abs=0.01)


def test_join_clips_duration_is_the_sum(pack: VoicePack, tmp_path: Path) -> None:
    keys = clips_for_call("1005", 3)
    out = tmp_path / "call.wav"
    assert join_clips(pack, keys, out) == []
    expected = sum(_duration(pack.path_for(k)) for k in keys)  # type: ignore[arg-type]
    assert _duration(out) == pytest.approx(expected, abs=0.01)
    assert 3.0 < _duration(out) < 8.0


def test_join_clips_skips_missing(pack: VoicePack, tmp_path: Path) -> None:
    copy = _copy(pack, tmp_path / "pack")
    copy.path_for("nghìn").unlink()  # type: ignore[union-attr]
    keys = clips_for_call("1005", 3)
    out = tmp_path / "call.wav"
    assert join_clips(copy, keys, out) == ["nghìn"]
    expected = sum(_duration(pack.path_for(k)) for k in keys if k != "nghìn")  # type: ignore[arg-type]
    assert _duration(out) == pytest.approx(expected, abs=0.01)


def test_build_reports_missing_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="espeak-ng") as excinfo:
        build_pack(tmp_path / "pack")
    message = str(excinfo.value)
    assert "Thiếu chương trình" in message and "Missing program" in message and "sox" in message
