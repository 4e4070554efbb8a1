"""Reading a printed ticket back, as a person would: its QR code with zbarimg and its text with
tesseract (Vietnamese). Shared by the printing and kiosk tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (Debian: {'zbar-tools' if name == 'zbarimg' else 'tesseract-ocr tesseract-ocr-vie'})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def read_qr(image_path: Path) -> list[str]:
    result = subprocess.run(
        [require_tool("zbarimg"), "--raw", "-q", str(image_path)], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout.splitlines()


def ocr(image: Image.Image, tmp_path: Path, psm: int = 3) -> str:
    tesseract = require_tool("tesseract")
    languages = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True, timeout=30, check=False).stdout
    if "vie" not in languages.split():
        pytest.fail("tesseract has no Vietnamese data (Debian: tesseract-ocr-vie)")
    source = tmp_path / f"ocr-{psm}.png"
    image.save(source)
    result = subprocess.run(
        [tesseract, str(source), "-", "-l", "vie", "--psm", str(psm)], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def ink_runs(image: Image.Image) -> list[tuple[int, int]]:
    """(top, height) of each run of rows holding ink."""
    runs: list[tuple[int, int]] = []
    top: int | None = None
    for y in range(image.height + 1):
        inked = y < image.height and image.crop((0, y, image.width, y + 1)).getextrema()[0] == 0
        if inked and top is None:
            top = y
        elif not inked and top is not None:
            runs.append((top, y - top))
            top = None
    return runs


def number_region(image: Image.Image) -> tuple[int, int]:
    """The number is the first tall run of inked rows (the QR code comes after it)."""
    return next(run for run in ink_runs(image) if run[1] > 0.2 * image.width)


def ocr_number(image: Image.Image, tmp_path: Path) -> str:
    """The number, read from its own strip shrunk to about 60 dots tall: tesseract does not read
    characters as tall as the printed number (over 200 dots)."""
    top, height = number_region(image)
    strip = image.convert("L").crop((0, top - 20, image.width, top + height + 20))
    factor = strip.height / 100
    small = strip.resize((round(strip.width / factor), 100), Image.Resampling.LANCZOS)
    return ocr(small, tmp_path, psm=7).strip()
