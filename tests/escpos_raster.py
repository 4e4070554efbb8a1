"""Decode what a printer received back into the picture it would print, for tests.

Only what the kiosk sends is understood: ``GS v 0 m xL xH yL yH d1…dk`` raster blocks (bit set = black
dot, rows of xL + 256·xH bytes) stacked top to bottom, and whether a cut (``GS V …``) follows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

GS_V_0 = b"\x1dv0"
CUT = b"\x1dV"
# ESC/POS uses 1 = black; Pillow's mode "1" uses 1 = white.
_INVERT = bytes(255 - value for value in range(256))


@dataclass
class DecodedJob:
    image: Image.Image | None  # mode "1", None when the job held no raster
    cut: bool  # a cut command came after the (last) image
    blocks: list[tuple[int, int]] = field(default_factory=list)  # (width in dots, height) of each GS v 0
    modes: list[int] = field(default_factory=list)  # m of each block (0 = normal density)


def decode(data: bytes) -> DecodedJob:
    images: list[Image.Image] = []
    modes: list[int] = []
    position = 0
    end_of_last_image = 0
    while (start := data.find(GS_V_0, position)) != -1:
        if start + 8 > len(data):
            raise ValueError(f"truncated GS v 0 header at byte {start}")
        mode = data[start + 3]
        width_bytes = data[start + 4] + 256 * data[start + 5]
        height = data[start + 6] + 256 * data[start + 7]
        begin = start + 8
        end = begin + width_bytes * height
        if end > len(data):
            raise ValueError(f"GS v 0 block at byte {start} wants {width_bytes * height} bytes, {len(data) - begin} left")
        pixels = data[begin:end].translate(_INVERT)
        images.append(Image.frombytes("1", (width_bytes * 8, height), pixels))
        modes.append(mode)
        position = end_of_last_image = end
    if not images:
        return DecodedJob(image=None, cut=CUT in data)
    width = max(image.width for image in images)
    stacked = Image.new("1", (width, sum(image.height for image in images)), 1)
    y = 0
    for image in images:
        stacked.paste(image, (0, y))
        y += image.height
    return DecodedJob(
        image=stacked,
        cut=CUT in data[end_of_last_image:],
        blocks=[(image.width, image.height) for image in images],
        modes=modes,
    )
