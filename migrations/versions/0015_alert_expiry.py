"""alerts: expires_at, when an alert POSTed to /api/v2/alerts resolves unless sent again

Alertmanager's API v2 takes alerts whose end is a deadline (Prometheus sends endsAt a few
evaluation intervals ahead; without endsAt it is arrival + global.resolve_timeout). The
scheduler resolves the firing alerts whose deadline passed (ingest.expiry) through
ix_alerts_expiring, which holds only those still firing with a deadline.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("expires_at", sa.BigInteger(), nullable=True))
    where = sa.text("ends_at IS NULL AND expires_at IS NOT NULL")
    op.create_index(
        "ix_alerts_expiring",
        "alerts",
        ["expires_at"],
        unique=False,
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_expiring", table_name="alerts")
    # ALTER TABLE, on SQLite too (3.35+): a batch rebuild would reorder the indexes (see 0009).
    op.execute("ALTER TABLE alerts DROP COLUMN expires_at")
