"""outbox: messages about no incident (on-call hand-off notices, Slack user group updates)

Their outbox rows have no incident: `incident_id` becomes nullable. They go through the same
queue, worker, retries and delivery log as every other message; their stream is named by what
they are about (e.g. `schedule:payments/...`), so one schedule's messages still go out in order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("incident_id", existing_type=ID, nullable=True)
    if op.get_bind().dialect.name == "sqlite":
        _pending_stream_index_last()


def _pending_stream_index_last() -> None:
    """SQLite rebuilt the table, and its indexes came back in another order. Without statistics
    it breaks the tie between ix_outbox_status_id and ix_outbox_pending_stream for the claim's
    stream check by that order, and only the latter keeps the check linear (see 0003): it is
    made again, last."""
    op.drop_index("ix_outbox_pending_stream", table_name="outbox")
    op.create_index(
        "ix_outbox_pending_stream",
        "outbox",
        ["stream", "id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE incident_id IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("incident_id", existing_type=ID, nullable=False)
    if op.get_bind().dialect.name == "sqlite":
        _pending_stream_index_last()
