"""The printed ticket (phiếu số thứ tự) as a 1-bit image, ready to be sent as ESC/POS raster.

The ticket is drawn as a picture rather than printer text because printer code pages for Vietnamese
differ from model to model (see PLATFORM-NOTES); a picture drawn with the bundled Noto Sans prints the
same everywhere. Pure rendering: no I/O except loading the bundled fonts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from client import fonts

WHITE = 255
BLACK = 0
# Anti-aliased text is cut at mid-grey: dithering would turn glyph edges into speckles on thermal paper.
THRESHOLD = 128
# How much the number may be stretched vertically when the label is too wide for the target height.
# Queue tickets traditionally use tall, condensed numbers; beyond this the digits start to look distorted.
MAX_NUMBER_STRETCH = 1.3


@dataclass(frozen=True)
class TicketContent:
    centre_name: str
    field_name: str
    label: str  # e.g. "1005" or "A012"
    priority_name: str | None  # e.g. "Người cao tuổi" or None
    people_ahead: int
    wait_minutes: int
    issued_at: datetime  # already in local time (aware)
    status_url: str


def test_ticket_content(
    now: datetime,
    centre_name: str = "Trung tâm Phục vụ hành chính công",
    status_url: str = "hangdoi:in-thu-may-in",
) -> TicketContent:
    """A sample ticket for the "In thử" (test print) button of the kiosk settings."""
    return TicketContent(
        centre_name=centre_name,
        field_name="IN THỬ MÁY IN",
        label="0000",
        priority_name=None,
        people_ahead=0,
        wait_minutes=0,
        issued_at=now,
        status_url=status_url,
    )


# Not a pytest test, although the name starts with "test_" and test modules import it.
test_ticket_content.__test__ = False  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Style:
    width: int
    margin: int
    body: ImageFont.FreeTypeFont
    body_bold: ImageFont.FreeTypeFont
    title: ImageFont.FreeTypeFont
    small: ImageFont.FreeTypeFont
    gap: int

    @property
    def content_width(self) -> int:
        return self.width - 2 * self.margin


@lru_cache(maxsize=64)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.BOLD if bold else fonts.REGULAR), size)


def _style(width: int) -> _Style:
    # Text sizes stay near the printer's own 12×24-dot font on both paper widths: 58 mm paper shows
    # fewer words per line, not smaller letters (scaling text down by 2/3 would make it hard to read).
    wide = width >= 500
    body = 26 if wide else 23
    return _Style(
        width=width,
        margin=max(8, round(width * 0.035)),
        body=_font(False, body),
        body_bold=_font(True, body),
        title=_font(True, 34 if wide else 28),
        small=_font(False, 22 if wide else 20),
        gap=14 if wide else 10,
    )


def _split_word(word: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and font.getlength(current + char) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def _wrap_words(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        if font.getlength(word) <= max_width:
            current = word
        else:
            *full, current = _split_word(word, font, max_width)
            lines.extend(full)
    if current:
        lines.append(current)
    return lines


def _wrap(parts: Sequence[str], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Wrap a line given as parts ("Thời gian chờ dự kiến:", "khoảng 20 phút"), breaking between parts
    first so that a label and its value are not split in the middle of either. Single-part text is
    balanced: a long centre name becomes even lines rather than full ones and a lone last word. (Balancing
    several parts would move breaks from between them to inside them.)"""
    lines = _wrap_greedy(parts, font, max_width)
    if len(lines) < 2 or len(parts) > 1:
        return lines
    narrowest, widest = 1, max_width
    while narrowest < widest:
        middle = (narrowest + widest) // 2
        if len(_wrap_greedy(parts, font, middle)) == len(lines):
            widest = middle
        else:
            narrowest = middle + 1
    return _wrap_greedy(parts, font, widest)


def _wrap_greedy(parts: Sequence[str], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current} {part}" if current else part
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        *full, current = _wrap_words(part, font, max_width) or [""]
        lines.extend(full)
    if current:
        lines.append(current)
    return lines


def _text_block(
    lines: Sequence[str], font: ImageFont.FreeTypeFont, width: int, fg: int = BLACK, bg: int = WHITE, pad: int = 0
) -> Image.Image:
    """Centred lines on a strip as wide as the ticket, tall enough for every mark (stacked Vietnamese
    diacritics such as "Ệ" reach above the font's nominal ascent on some lines)."""
    ascent, descent = font.getmetrics()
    rows: list[tuple[str, int, int]] = []  # line, space above the baseline, space below it
    for line in lines:
        _, top, _, bottom = font.getbbox(line, anchor="ls")
        rows.append((line, max(ascent, -top), max(descent, bottom)))
    height = sum(above + below for _, above, below in rows) + 2 * pad
    image = Image.new("L", (width, max(height, 1)), bg)
    draw = ImageDraw.Draw(image)
    y = pad
    for line, above, below in rows:
        draw.text((width / 2, y + above), line, font=font, fill=fg, anchor="ms")
        y += above + below
    return image


def _number_block(label: str, style: _Style) -> Image.Image:
    """The number, as tall as about 40% of the paper width, narrowed to fit when the label is long."""
    target_height = round(style.width * 0.40)
    probe_size = 200
    left, top, right, bottom = _font(True, probe_size).getbbox(label, anchor="ls")
    ink_width, ink_height = right - left, bottom - top
    by_height = probe_size * target_height / ink_height
    by_width = probe_size * style.content_width / ink_width
    size = max(8, int(min(by_height, by_width)))
    font = _font(True, size)
    left, top, right, bottom = font.getbbox(label, anchor="ls")
    image = Image.new("L", (style.width, bottom - top), WHITE)
    ImageDraw.Draw(image).text((style.width / 2, -top), label, font=font, fill=BLACK, anchor="ms")
    stretch = min(target_height / (bottom - top), MAX_NUMBER_STRETCH)
    if stretch > 1.02:
        image = image.resize((style.width, round(image.height * stretch)), Image.Resampling.BICUBIC)
    return image


def _priority_band(priority_name: str, style: _Style) -> Image.Image:
    font = style.body_bold
    one_line = f"ƯU TIÊN – {priority_name}"
    max_width = style.content_width - 2 * style.gap
    fits = font.getlength(one_line) <= max_width
    lines = [one_line] if fits else ["ƯU TIÊN", *_wrap([priority_name], font, max_width)]
    band = _text_block(lines, font, style.content_width, fg=WHITE, bg=BLACK, pad=style.gap // 2 + 2)
    strip = Image.new("L", (style.width, band.height), WHITE)
    strip.paste(band, (style.margin, 0))
    return strip


def _qr_block(url: str, style: _Style) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # includes the 4-module quiet zone
    modules = len(matrix)
    # Whole dots per module keep every module the same size, which phone cameras need on thermal paper;
    # aim at about half the paper width, never less than 3 dots (0.375 mm) per module.
    scale = max(3, min(style.width // 2, style.content_width) // modules)
    scale = min(scale, style.width // modules)
    small = Image.new("L", (modules, modules), WHITE)
    small.putdata([BLACK if cell else WHITE for row in matrix for cell in row])
    code = small.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    strip = Image.new("L", (style.width, code.height), WHITE)
    strip.paste(code, ((style.width - code.width) // 2, 0))
    return strip


def _rule(style: _Style) -> Image.Image:
    strip = Image.new("L", (style.width, 2), WHITE)
    draw = ImageDraw.Draw(strip)
    dash = 8
    for x in range(style.margin, style.width - style.margin, 2 * dash):
        draw.rectangle((x, 0, min(x + dash - 1, style.width - style.margin - 1), 1), fill=BLACK)
    return strip


def _space(style: _Style, height: int) -> Image.Image:
    return Image.new("L", (style.width, height), WHITE)


def wait_text(people_ahead: int, wait_minutes: int) -> list[str]:
    """The estimated-wait line as parts for wrapping (also useful for the kiosk screen)."""
    if people_ahead <= 0:
        return ["Thời gian chờ dự kiến:", "sắp đến lượt"]
    return ["Thời gian chờ dự kiến:", f"khoảng {max(wait_minutes, 1)} phút"]


def render_ticket(content: TicketContent, width_dots: int = 576) -> Image.Image:
    """Render the ticket as a mode "1" image exactly ``width_dots`` wide (576 for 80 mm, 384 for 58 mm)."""
    if width_dots < 200:
        raise ValueError(f"width_dots too small for a ticket: {width_dots}")
    style = _style(width_dots)
    width, cw, gap = style.width, style.content_width, style.gap

    def text(parts: Sequence[str], font: ImageFont.FreeTypeFont) -> Image.Image:
        return _text_block(_wrap(parts, font, cw), font, width)

    blocks: list[Image.Image] = [
        _space(style, gap),
        text([content.centre_name], style.body_bold),
        _space(style, gap),
        _rule(style),
        _space(style, gap),
        text(["PHIẾU SỐ THỨ TỰ"], style.title),
        text(["Lĩnh vực:", content.field_name], style.body_bold),
        _space(style, gap * 2),
        _number_block(content.label, style),
        _space(style, gap * 2),
    ]
    if content.priority_name:
        blocks += [_priority_band(content.priority_name, style), _space(style, gap)]
    blocks += [
        text(["Số người chờ trước:", str(content.people_ahead)], style.body),
        text(wait_text(content.people_ahead, content.wait_minutes), style.body),
        text([content.issued_at.strftime("%H:%M %d/%m/%Y")], style.body),
        _space(style, gap),
        _rule(style),
        _space(style, gap),
        _qr_block(content.status_url, style),
        text(["Quét mã để theo dõi", "lượt của bạn"], style.small),
        _space(style, gap),
        text(["Xin cảm ơn!"], style.body_bold),
        _space(style, gap),
    ]

    canvas = Image.new("L", (width, sum(block.height for block in blocks)), WHITE)
    y = 0
    for block in blocks:
        canvas.paste(block, (0, y))
        y += block.height
    return canvas.point(lambda value: WHITE if value >= THRESHOLD else BLACK).convert("1", dither=Image.Dither.NONE)
