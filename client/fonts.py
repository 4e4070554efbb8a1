"""The bundled Noto Sans files (SIL OFL 1.1, see fonts/OFL.txt): full Vietnamese coverage on any
machine, for Qt widgets and for Pillow when a ticket is rendered."""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).parent / "fonts"
REGULAR = FONT_DIR / "NotoSans-Regular.ttf"
BOLD = FONT_DIR / "NotoSans-Bold.ttf"
FAMILY = "Noto Sans"
