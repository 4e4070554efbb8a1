"""The public ticket page behind a ticket's QR code (`/t/<code>`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
