"""heartbeats: one row per configured dead man's switch (its last beat, the current watch, the
open outage and the labels of the alert it raised)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_beat_at", sa.BigInteger(), nullable=True),
        sa.Column("last_beat_source", sa.String(16), nullable=True),
        sa.Column("beat_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("watch_from", sa.BigInteger(), nullable=False),
        sa.Column("watched_at", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("missing_since", sa.BigInteger(), nullable=True),
        sa.Column("outage_beat_count", sa.BigInteger(), nullable=True),
        sa.Column("alert_labels", JSON, nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
