"""the centre's service day and last event time, failed sign-ins, and an index for the kiosks' rate limit

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for centres that exist already: their first command starts the day (and expires
    # whatever was left open before the upgrade).
    with op.batch_alter_table("centre") as batch:
        batch.add_column(sa.Column("service_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("last_event_at", server.storage.types.UTCDateTime(), nullable=True))
    op.create_index("ix_ticket_device_issued", "ticket", ["issued_by_device_id", "issued_at"])
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", server.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_username_at", "login_failure", ["username", "at"])
    op.create_index("ix_login_failure_address_at", "login_failure", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failure_address_at", table_name="login_failure")
    op.drop_index("ix_login_failure_username_at", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_index("ix_ticket_device_issued", table_name="ticket")
    with op.batch_alter_table("centre") as batch:
        batch.drop_column("last_event_at")
        batch.drop_column("service_day")
