"""schedule_revisions: a revision per schedule, bumped whenever one of its overrides is made or
deleted, so that the people statistics keep each schedule's hours on call until it changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "schedule_revisions",
        sa.Column("schedule", sa.String(64), primary_key=True),
        sa.Column("revision", ID, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedule_revisions")
