"""outbox: index the pending rows of each stream (the claim's "earlier pending row" check)

Without it SQLite checks each pending row against every earlier pending row through
ix_outbox_status_id, which is quadratic in the backlog: at 1,850 pending rows a claim took
about 500 ms, and delivery fell further behind the longer it ran. With the partial index the
same claim takes about 2 ms. The partial index replaces ix_outbox_stream, which served only
that check.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_stream")
        batch_op.create_index(
            "ix_outbox_pending_stream",
            ["stream", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending_stream")
        batch_op.create_index("ix_outbox_stream", ["stream", "id"], unique=False)
