"""an index for the reports: a centre's events by kind and time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_centre_kind_at", "event", ["centre_id", "kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_event_centre_kind_at", table_name="event")
