"""alert_occurrences: keyed by (alert_id, starts_at), without the surrogate id

An occurrence was found by its alert and start through a unique index beside a primary key on a
sequential id that nothing but history retention read. Every alert ingested wrote both indexes;
now (alert_id, starts_at) is the primary key and the only index written per occurrence besides
the partial one on ended occurrences.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alert_occurrences", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint("uq_alert_occurrences_alert_id_starts_at", type_="unique")
        batch_op.drop_constraint("pk_alert_occurrences", type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_alert_occurrences", ["alert_id", "starts_at"])


def downgrade() -> None:
    unique = ("uq_alert_occurrences_alert_id_starts_at", ["alert_id", "starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE alert_occurrences DROP CONSTRAINT pk_alert_occurrences")
        op.execute("ALTER TABLE alert_occurrences ADD COLUMN id BIGSERIAL")
        op.create_primary_key("pk_alert_occurrences", "alert_occurrences", ["id"])
        op.create_unique_constraint(*unique[:1], "alert_occurrences", unique[1])
        return
    with op.batch_alter_table("alert_occurrences", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint("pk_alert_occurrences", type_="primary")
        batch_op.add_column(sa.Column("id", ID, nullable=True))
    op.execute("UPDATE alert_occurrences SET id = rowid")
    with op.batch_alter_table("alert_occurrences", schema=None, recreate="always") as batch_op:
        batch_op.alter_column("id", existing_type=ID, nullable=False)
        batch_op.create_primary_key("pk_alert_occurrences", ["id"])
        batch_op.create_unique_constraint(*unique)
