"""Vietnamese number reading for the waiting-room announcement (Northern standard by default).

Every word returned is one syllable (or, for letters, one letter name) so that each maps to exactly one
voice clip: "mươi" and "mười" are separate words, as are "một" and "mốt".

We keep our own reader because the libraries get the rules wrong (num2words says "lẻ" and drops
"không trăm": 1014 → "một nghìn lẻ mười bốn"; see shared/PLATFORM-NOTES.md).

Leading zeros in a ticket label are read by value: "A012" → "a mười hai", "0007" → "bảy". The zeros
only pad the printed number to a fixed width; nobody says them aloud unless the centre has chosen
digit-by-digit reading, where "A012" → "a không một hai".
"""

from __future__ import annotations

import unicodedata
from typing import Literal

OddWord = Literal["linh", "lẻ"]

MAX_NUMBER = 999_999

DIGIT_WORDS: tuple[str, ...] = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# Names as Vietnamese people spell letters aloud (tên chữ cái). F, J, W, Z are not in the Vietnamese
# alphabet but do appear in prefixes, so they get their usual borrowed names. Common variants a centre
# may prefer by recording its own clip under the same key: Q "cu", S "ét-sì", Y "i-cờ-rét", G "gờ".
LETTER_NAMES: dict[str, str] = {
    "A": "a",
    "B": "bê",
    "C": "xê",
    "D": "dê",
    "Đ": "đê",
    "E": "e",
    "F": "ép-phờ",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e-lờ",
    "M": "em-mờ",
    "N": "en-nờ",
    "O": "o",
    "P": "pê",
    "Q": "quy",
    "R": "e-rờ",
    "S": "ét-xì",
    "T": "tê",
    "U": "u",
    "V": "vê",
    "W": "vê kép",
    "X": "ích-xì",
    "Y": "i dài",
    "Z": "dét",
}

# Every word read_number/read_digits can return, in a stable order (the voice pack needs a clip for each).
NUMBER_WORDS: tuple[str, ...] = (*DIGIT_WORDS, "mốt", "tư", "lăm", "mười", "mươi", "linh", "lẻ", "trăm", "nghìn")

# Characters allowed between parts of a label ("A-012", "B 15") that are not read aloud.
_SEPARATORS = frozenset(" -._/")


def _check_odd_word(odd_word: str) -> None:
    if odd_word not in ("linh", "lẻ"):
        raise ValueError(f"odd_word must be 'linh' or 'lẻ', not {odd_word!r}")


def _units_after_tens(units: int, *, after_muoi: bool) -> list[str]:
    if units == 0:
        return []
    if units == 5:
        return ["lăm"]
    # "mốt" and "tư" only follow "mươi" (21, 24); after "mười" it stays "mười một", "mười bốn".
    if after_muoi and units == 1:
        return ["mốt"]
    if after_muoi and units == 4:
        return ["tư"]
    return [DIGIT_WORDS[units]]


def _read_below_1000(n: int, *, full: bool, odd_word: OddWord) -> list[str]:
    """Read 0 < n < 1000. ``full`` forces the hundreds ("không trăm") as needed after "nghìn"."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    has_hundreds = hundreds > 0 or full
    if has_hundreds:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if units:
            # "linh"/"lẻ" marks the empty tens place, and the unit keeps its plain form (105 "linh năm").
            words += [odd_word, DIGIT_WORDS[units]] if has_hundreds else [DIGIT_WORDS[units]]
    elif tens == 1:
        words += ["mười", *_units_after_tens(units, after_muoi=False)]
    else:
        words += [DIGIT_WORDS[tens], "mươi", *_units_after_tens(units, after_muoi=True)]
    return words


def read_number(n: int, *, odd_word: OddWord = "linh") -> list[str]:
    """Words for 0 ≤ n ≤ 999 999, e.g. 1005 → ["một", "nghìn", "không", "trăm", "linh", "năm"]."""
    _check_odd_word(odd_word)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"cannot read {n}: only 0..{MAX_NUMBER} are supported")
    if n == 0:
        return ["không"]
    thousands, rest = divmod(n, 1000)
    words: list[str] = []
    if thousands:
        words += [*_read_below_1000(thousands, full=False, odd_word=odd_word), "nghìn"]
    if rest:
        words += _read_below_1000(rest, full=bool(thousands), odd_word=odd_word)
    return words


def read_digits(text: str) -> list[str]:
    """Digit by digit: "1005" → ["một", "không", "không", "năm"]."""
    if not text or not all(ch in "0123456789" for ch in text):
        raise ValueError(f"not a string of digits: {text!r}")
    return [DIGIT_WORDS[int(ch)] for ch in text]


def read_label(label: str, *, digit_by_digit: bool = False, odd_word: OddWord = "linh") -> list[str]:
    """Words for a ticket label: letters by name, each run of digits as a number (or digit by digit).

    "A012" → ["a", "mười", "hai"]; "1005" → ["một", "nghìn", "không", "trăm", "linh", "năm"].
    Spaces, hyphens, dots, underscores and slashes between parts are not read.
    """
    _check_odd_word(odd_word)
    text = unicodedata.normalize("NFC", label).strip().upper()
    if not text:
        raise ValueError("empty label")
    words: list[str] = []
    digits = ""

    def flush() -> None:
        nonlocal digits
        if digits:
            words.extend(read_digits(digits) if digit_by_digit else read_number(int(digits), odd_word=odd_word))
            digits = ""

    for ch in text:
        # Only ASCII digits: str.isdigit() also accepts superscripts and other scripts' digits.
        if ch in "0123456789":
            digits += ch
            continue
        flush()
        if ch in LETTER_NAMES:
            words.append(LETTER_NAMES[ch])
        elif ch not in _SEPARATORS:
            raise ValueError(f"cannot read character {ch!r} in label {label!r}")
    flush()
    if not words:
        raise ValueError(f"nothing to read in label {label!r}")
    return words
