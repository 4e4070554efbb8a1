"""Vietnamese number reading: every rule checked against word lists written by hand."""

from __future__ import annotations

import pytest

from display.numbers import LETTER_NAMES, NUMBER_WORDS, read_digits, read_label, read_number

NUMBERS: list[tuple[int, str]] = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (7, "bảy"),
    (9, "chín"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (19, "mười chín"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (30, "ba mươi"),
    (41, "bốn mươi mốt"),
    (44, "bốn mươi tư"),
    (55, "năm mươi lăm"),
    (91, "chín mươi mốt"),
    (99, "chín mươi chín"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (114, "một trăm mười bốn"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (124, "một trăm hai mươi tư"),
    (200, "hai trăm"),
    (305, "ba trăm linh năm"),
    (999, "chín trăm chín mươi chín"),
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1014, "một nghìn không trăm mười bốn"),
    (1015, "một nghìn không trăm mười lăm"),
    (1021, "một nghìn không trăm hai mươi mốt"),
    (1100, "một nghìn một trăm"),
    (1105, "một nghìn một trăm linh năm"),
    (1999, "một nghìn chín trăm chín mươi chín"),
    (2001, "hai nghìn không trăm linh một"),
    (2024, "hai nghìn không trăm hai mươi tư"),
    (5000, "năm nghìn"),
    (10000, "mười nghìn"),
    (10001, "mười nghìn không trăm linh một"),
    (15000, "mười lăm nghìn"),
    (21000, "hai mươi mốt nghìn"),
    (24000, "hai mươi tư nghìn"),
    (100000, "một trăm nghìn"),
    (100005, "một trăm nghìn không trăm linh năm"),
    (105000, "một trăm linh năm nghìn"),
    (115015, "một trăm mười lăm nghìn không trăm mười lăm"),
    (999999, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
]


@pytest.mark.parametrize(("n", "expected"), NUMBERS, ids=[str(n) for n, _ in NUMBERS])
def test_read_number(n: int, expected: str) -> None:
    assert read_number(n) == expected.split()


LE: list[tuple[int, str]] = [
    (101, "một trăm lẻ một"),
    (105, "một trăm lẻ năm"),
    (1005, "một nghìn không trăm lẻ năm"),
    (100005, "một trăm nghìn không trăm lẻ năm"),
    (110, "một trăm mười"),
    (24, "hai mươi tư"),
]


@pytest.mark.parametrize(("n", "expected"), LE, ids=[str(n) for n, _ in LE])
def test_read_number_le(n: int, expected: str) -> None:
    assert read_number(n, odd_word="lẻ") == expected.split()


@pytest.mark.parametrize("n", [-1, 1_000_000, 10**9])
def test_read_number_out_of_range(n: int) -> None:
    with pytest.raises(ValueError):
        read_number(n)


def test_read_number_rejects_non_int() -> None:
    with pytest.raises(TypeError):
        read_number(True)
    with pytest.raises(TypeError):
        read_number(1.0)  # type: ignore[arg-type]


def test_bad_odd_word() -> None:
    with pytest.raises(ValueError):
        read_number(105, odd_word="lẽ")  # type: ignore[arg-type]


DIGITS: list[tuple[str, str]] = [
    ("0", "không"),
    ("1005", "một không không năm"),
    ("012", "không một hai"),
    ("2415", "hai bốn một năm"),
    ("6789", "sáu bảy tám chín"),
]


@pytest.mark.parametrize(("text", "expected"), DIGITS)
def test_read_digits(text: str, expected: str) -> None:
    assert read_digits(text) == expected.split()


@pytest.mark.parametrize("text", ["", "12a", "-5", "１２", "²"])
def test_read_digits_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        read_digits(text)


LABELS: list[tuple[str, dict[str, object], list[str]]] = [
    ("1005", {}, ["một", "nghìn", "không", "trăm", "linh", "năm"]),
    ("A012", {}, ["a", "mười", "hai"]),
    ("A001", {}, ["a", "một"]),
    ("A000", {}, ["a", "không"]),
    ("a015", {}, ["a", "mười", "lăm"]),
    ("B105", {}, ["bê", "một", "trăm", "linh", "năm"]),
    ("B105", {"odd_word": "lẻ"}, ["bê", "một", "trăm", "lẻ", "năm"]),
    ("C021", {}, ["xê", "hai", "mươi", "mốt"]),
    ("Đ024", {}, ["đê", "hai", "mươi", "tư"]),
    ("L7", {}, ["e-lờ", "bảy"]),
    ("Y3", {}, ["i dài", "ba"]),
    ("S10", {}, ["ét-xì", "mười"]),
    ("A-012", {}, ["a", "mười", "hai"]),
    (" HT 15 ", {}, ["hát", "tê", "mười", "lăm"]),
    ("A012", {"digit_by_digit": True}, ["a", "không", "một", "hai"]),
    ("1005", {"digit_by_digit": True}, ["một", "không", "không", "năm"]),
    ("0007", {}, ["bảy"]),
    ("12B3", {}, ["mười", "hai", "bê", "ba"]),
]


@pytest.mark.parametrize(("label", "options", "expected"), LABELS)
def test_read_label(label: str, options: dict[str, object], expected: list[str]) -> None:
    assert read_label(label, **options) == expected  # type: ignore[arg-type]


def test_read_label_lower_case_d_stroke() -> None:
    # "đ".upper() is "Đ", not "D": the stroke letter must keep its own name.
    assert read_label("đ5") == ["đê", "năm"]
    assert read_label("d5") == ["dê", "năm"]


@pytest.mark.parametrize("label", ["", "   ", "--", "A#1", "Ô12", "1000000", "A1234567"])
def test_read_label_rejects(label: str) -> None:
    with pytest.raises(ValueError):
        read_label(label)


def test_letter_names_cover_the_alphabet() -> None:
    assert set(LETTER_NAMES) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") | {"Đ"}
    assert LETTER_NAMES["C"] == "xê"
    assert LETTER_NAMES["W"] == "vê kép"
    assert len(set(LETTER_NAMES.values())) == len(LETTER_NAMES)


def test_reader_words_are_all_known() -> None:
    # The voice pack has one clip per word, so the reader must never invent a word outside this list.
    produced = {w for n in range(0, 1_000_000, 7) for w in read_number(n)}
    produced |= {w for n in range(0, 2000) for w in read_number(n, odd_word="lẻ")}
    assert produced == set(NUMBER_WORDS)
