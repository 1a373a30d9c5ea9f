"""incidents.first_acknowledged_at: time to acknowledge runs to the first acknowledgement

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACKNOWLEDGED = "incident_acknowledged"  # the timeline event of every acknowledgement


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_acknowledged_at", sa.BigInteger(), nullable=True))
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """The first acknowledgement of the incidents that exist already, from their timelines
    (acknowledged_at was overwritten by every later acknowledgement and cleared by
    un-acknowledging); the current acknowledgement where the timeline has none."""
    incidents = sa.table(
        "incidents",
        sa.column("id", ID),
        sa.column("acknowledged_at", sa.BigInteger),
        sa.column("first_acknowledged_at", sa.BigInteger),
    )
    events = sa.table(
        "timeline_events",
        sa.column("incident_id", ID),
        sa.column("at", sa.BigInteger),
        sa.column("kind", sa.String),
    )
    acknowledgements = events.c.kind == ACKNOWLEDGED
    first = (
        sa.select(sa.func.min(events.c.at))
        .where(acknowledgements, events.c.incident_id == incidents.c.id)
        .scalar_subquery()
    )
    conn.execute(
        sa.update(incidents)
        .where(incidents.c.id.in_(sa.select(events.c.incident_id).where(acknowledgements)))
        .values(first_acknowledged_at=first)
    )
    conn.execute(
        sa.update(incidents)
        .where(
            incidents.c.first_acknowledged_at.is_(None), incidents.c.acknowledged_at.is_not(None)
        )
        .values(first_acknowledged_at=incidents.c.acknowledged_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("first_acknowledged_at")
