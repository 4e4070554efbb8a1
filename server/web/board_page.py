"""The waiting-room board for a browser (`/board`), and the voice pack it plays."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
