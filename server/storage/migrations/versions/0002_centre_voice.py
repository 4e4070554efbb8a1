"""the centre's voice options

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows of centres that exist already; batch mode lets SQLite add them.
    with op.batch_alter_table("centre") as batch:
        batch.add_column(sa.Column("voice_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("voice_repeat", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(sa.Column("voice_digit_by_digit", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("voice_odd_word", sa.String(length=8), nullable=False, server_default="linh"))


def downgrade() -> None:
    with op.batch_alter_table("centre") as batch:
        for name in ("voice_odd_word", "voice_digit_by_digit", "voice_repeat", "voice_enabled"):
            batch.drop_column(name)
