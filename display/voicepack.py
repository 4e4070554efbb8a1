"""Voice packs: one short WAV clip per word, played in sequence to announce a call offline.

A pack is a folder holding ``pack.json`` and the clips::

    {"name": "espeak-ng vi", "language": "vi",
     "clips": {"chime": "chime.wav", "mời công dân có số": "moi-cong-dan-co-so.wav", "một": "mootj.wav", ...}}

Clips are mono 16-bit PCM WAV at any sample rate. Keys are the words of display.numbers (one clip per
syllable or letter name) plus "chime" and the two fixed phrases. A centre replaces any clip with a human
recording by pointing the same key at its own file, so a pack can mix recorded and synthetic clips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import unicodedata
import wave
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from display.numbers import LETTER_NAMES, NUMBER_WORDS, OddWord, read_label, read_number

CHIME = "chime"
PHRASE_CALL = "mời công dân có số"
PHRASE_COUNTER = "đến quầy số"
PACK_FILE = "pack.json"

REQUIRED_CLIPS: list[str] = [CHIME, PHRASE_CALL, PHRASE_COUNTER, *NUMBER_WORDS, *LETTER_NAMES.values()]

SAMPLE_RATE = 22050

# espeak-ng reads "gi" as a bare consonant; "di" is the same sound (/zi/) in the Northern accent.
_SPOKEN_OVERRIDES = {"gi": "di"}

# Tone marks and vowel marks in Telex order, used only to keep ASCII file names apart ("một" vs "mốt").
_TELEX_TONES = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_TELEX_SHAPES = {"\u0302": None, "\u0306": "w", "\u031b": "w"}


def clip_key_for(word: str) -> str:
    """The pack key for a word or phrase: NFC, lower case, single spaces.

    Normalising matters because hand-edited pack.json files and recordings named on macOS often
    carry decomposed (NFD) Vietnamese, which would otherwise never match the reader's words.
    """
    return " ".join(unicodedata.normalize("NFC", word).lower().split())


@dataclass(frozen=True)
class VoiceStyle:
    """How a call is read: the centre's voice options (set in the admin console)."""

    repeat: int = 2  # times the call is spoken; the chime plays once
    digit_by_digit: bool = False
    odd_word: OddWord = "linh"


def clips_for_call(label: str, counter_number: int, *, digit_by_digit: bool = False, odd_word: OddWord = "linh") -> list[str]:
    """The exact clip keys for "Mời công dân có số <label> đến quầy số <counter>", chime first."""
    return [
        CHIME,
        PHRASE_CALL,
        *read_label(label, digit_by_digit=digit_by_digit, odd_word=odd_word),
        PHRASE_COUNTER,
        *read_number(counter_number, odd_word=odd_word),
    ]


def clips_for_announcement(label: str, counter_number: int, style: VoiceStyle) -> list[str]:
    """Every clip of one announcement in playing order: the chime once, then the call `repeat` times."""
    call = clips_for_call(label, counter_number, digit_by_digit=style.digit_by_digit, odd_word=style.odd_word)
    spoken = [key for key in call if key != CHIME]
    return [CHIME, *(spoken * style.repeat)]


def _ascii_slug(key: str) -> str:
    decomposed = unicodedata.normalize("NFD", key.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return "-".join("".join(ch if ch.isascii() and ch.isalnum() else " " for ch in plain).split())


def _telex_slug(key: str) -> str:
    syllables = []
    for syllable in _syllables(key):
        out, tone = "", ""
        for ch in unicodedata.normalize("NFD", syllable.replace("đ", "dd")):
            if ch in _TELEX_TONES:
                tone = _TELEX_TONES[ch]
            elif ch in _TELEX_SHAPES:
                # Circumflex doubles the vowel (â → aa); breve and horn add "w" (ă → aw, ơ → ow).
                shape = _TELEX_SHAPES[ch]
                out += out[-1] if shape is None else shape
            elif ch.isascii() and ch.isalnum():
                out += ch
        syllables.append(out + tone)
    return "-".join(s for s in syllables if s)


def _syllables(key: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in clip_key_for(key)).split()


def file_names(keys: Iterable[str]) -> dict[str, str]:
    """ASCII file names for clip keys: plain ("moi-cong-dan-co-so.wav") unless that would collide.

    Keys whose plain names collide ("một", "mốt"; "mười", "mươi"; "dê", "đê") all get their Telex
    spelling instead ("mootj", "moots"), which keeps every tone and vowel mark distinct.
    """
    keys = list(dict.fromkeys(keys))
    plain = {key: _ascii_slug(key) or "clip" for key in keys}
    counts: dict[str, int] = {}
    for slug in plain.values():
        counts[slug] = counts.get(slug, 0) + 1
    names = {key: (_telex_slug(key) if counts[slug] > 1 else slug) for key, slug in plain.items()}
    if len(set(names.values())) != len(names):
        raise ValueError(f"clip file names collide: {sorted(names.values())}")
    return {key: f"{name}.wav" for key, name in names.items()}


@dataclass
class VoicePack:
    folder: Path
    name: str
    language: str = "vi"
    clips: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | str) -> VoicePack:
        folder = Path(folder)
        data = json.loads((folder / PACK_FILE).read_text(encoding="utf-8"))
        clips = data.get("clips") if isinstance(data, dict) else None
        if not isinstance(clips, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in clips.items()):
            raise ValueError(f"{folder / PACK_FILE}: expected an object with 'clips' mapping phrase → file name")
        root = folder.resolve()
        for file_name in clips.values():
            # A pack comes from a centre's USB stick; a clip path must not reach outside the pack.
            if not (root / file_name).resolve().is_relative_to(root):
                raise ValueError(f"{folder / PACK_FILE}: clip path {file_name!r} leaves the pack folder")
        return cls(
            folder=folder,
            name=str(data.get("name", folder.name)),
            language=str(data.get("language", "vi")),
            clips={clip_key_for(k): v for k, v in clips.items()},
        )

    def save(self) -> None:
        data = {"name": self.name, "language": self.language, "clips": self.clips}
        tmp = self.folder / f".{PACK_FILE}.tmp"
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.folder / PACK_FILE)

    def path_for(self, key: str) -> Path | None:
        file_name = self.clips.get(clip_key_for(key))
        if file_name is None:
            return None
        path = self.folder / file_name
        return path if path.is_file() else None

    def missing(self, keys: Iterable[str] = REQUIRED_CLIPS) -> list[str]:
        """Keys (each once, in order) with no entry in pack.json or whose file is gone."""
        return [key for key in dict.fromkeys(clip_key_for(k) for k in keys) if self.path_for(key) is None]


def _require_programs(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        names = ", ".join(missing)
        raise RuntimeError(
            f"Thiếu chương trình {names} để tạo giọng đọc – cài đặt bằng: apt install {' '.join(missing)}. "
            f"Missing program {names} needed to build the voice pack – install it with: apt install {' '.join(missing)}."
        )


def _run(args: Sequence[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {' '.join(args)}\n{result.stderr.strip()}")


_OUTPUT_FORMAT = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]


def _speak(text: str, out: Path, tmp_dir: Path, *, voice: str, speed: int) -> None:
    raw = tmp_dir / f"raw-{out.name}"
    _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text])
    # espeak pads each clip with ~0.3 s of digital silence; trimmed clips join into natural speech.
    # The 0.1% threshold is safe because that padding is exact zeros, and it keeps soft onsets ("h" in "hai").
    trim = ["silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse"]
    _run(["sox", str(raw), *_OUTPUT_FORMAT, str(out), *trim, "gain", "-n", "-1"])


def _make_chime(out: Path, tmp_dir: Path) -> None:
    ding, dong = tmp_dir / "ding.wav", tmp_dir / "dong.wav"
    # A falling major third (E5 → C5) with an octave overtone and a logarithmic decay sounds like a bell.
    for path, seconds, low, high in ((ding, 0.4, 659.25, 1318.5), (dong, 0.6, 523.25, 1046.5)):
        fade = ["fade", "l", "0.005", str(seconds), str(seconds - 0.05)]
        _run(["sox", "-n", *_OUTPUT_FORMAT, str(path), "synth", str(seconds), "sine", str(low), "sine", "mix", str(high), *fade])
    # The short pause after the chime lets listeners turn to the screen before the speech starts.
    _run(["sox", str(ding), str(dong), *_OUTPUT_FORMAT, str(out), "gain", "-n", "-4", "pad", "0", "0.1"])


def spoken_text(key: str) -> str:
    """What espeak-ng is given for a key: words only (given digits it says the Southern "ngàn")."""
    return _SPOKEN_OVERRIDES.get(key, key.replace("-", " "))


def build_pack(out_dir: Path, *, voice: str = "vi", speed: int = 150) -> VoicePack:
    """Synthesise every required clip with espeak-ng into ``out_dir`` and write pack.json.

    Existing clips of the same names are overwritten; other files in the folder are left alone.
    """
    _require_programs("espeak-ng", "sox")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = file_names(REQUIRED_CLIPS)
    with tempfile.TemporaryDirectory(prefix="hangdoi-voice-") as tmp:
        tmp_dir = Path(tmp)
        with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as pool:
            futures = [pool.submit(_make_chime, out_dir / names[CHIME], tmp_dir)]
            futures += [
                pool.submit(_speak, spoken_text(key), out_dir / names[key], tmp_dir, voice=voice, speed=speed)
                for key in REQUIRED_CLIPS
                if key != CHIME
            ]
            for future in futures:
                future.result()
    pack = VoicePack(folder=out_dir, name=f"espeak-ng {voice} (speed {speed})", language="vi", clips=dict(names))
    pack.save()
    return pack


def _wav_matches(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as w:
            return (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
    except (wave.Error, EOFError):
        return False


def join_clips(pack: VoicePack, keys: Sequence[str], out_path: Path) -> list[str]:
    """Concatenate the clips for ``keys`` into one WAV (mono 16-bit, 22050 Hz); returns the missing keys.

    Missing clips are skipped so a half-recorded pack is still audible. Human recordings at other rates
    or channel counts are converted with sox first, since WAV frames can only be joined at one format.
    """
    missing = pack.missing(keys)
    paths = [path for key in keys if (path := pack.path_for(key)) is not None]
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="hangdoi-join-") as tmp:
        sources: list[Path] = []
        for i, path in enumerate(paths):
            if _wav_matches(path):
                sources.append(path)
                continue
            _require_programs("sox")
            converted = Path(tmp) / f"{i}.wav"
            _run(["sox", str(path), *_OUTPUT_FORMAT, str(converted)])
            sources.append(converted)
        with wave.open(str(out_path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            for source in sources:
                with wave.open(str(source), "rb") as w:
                    out.writeframes(w.readframes(w.getnframes()))
    return missing
