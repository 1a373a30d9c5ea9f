"""outbox: flag the row whose turn it is in each stream, and index those rows for the claim

A claim checked the stream order ("no earlier pending row") for every pending row, oldest
first, before it could sort them: at 2,000 queued rows a claim took about 7 ms on PostgreSQL
and 3 ms on SQLite, on every pass, and grew with the queue. `stream_head` marks the earliest
pending row of each stream (delivery.streams keeps it), and the claim reads those rows through
ix_outbox_heads, in order, stopping as soon as it has enough. The rows already queued are
flagged here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("stream_head", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE outbox SET stream_head = TRUE WHERE status = 'pending' AND NOT EXISTS ("
        " SELECT 1 FROM outbox AS earlier WHERE earlier.stream = outbox.stream"
        " AND earlier.status = 'pending' AND earlier.id < outbox.id)"
    )
    op.create_index(
        "ix_outbox_heads",
        "outbox",
        ["stream_head", "next_attempt_at", "id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_heads", table_name="outbox")
    # ALTER TABLE, on SQLite too (3.35+): a batch rebuild would reorder the indexes (see 0009).
    op.execute("ALTER TABLE outbox DROP COLUMN stream_head")
