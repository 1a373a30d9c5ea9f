"""history retention: ended alert occurrences by end time

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_occurrences_ended",
            ["ends_at"],
            unique=False,
            sqlite_where=sa.text("ends_at IS NOT NULL"),
            postgresql_where=sa.text("ends_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_occurrences", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_occurrences_ended")
