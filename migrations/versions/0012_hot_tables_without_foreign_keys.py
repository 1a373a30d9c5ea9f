"""alert_occurrences, group_alerts: no foreign keys

Every alert a batch ingests writes one occurrence and one group membership, and on PostgreSQL
each of their three foreign keys cost a lookup and a FOR KEY SHARE lock on the parent row per
row written: about a quarter of a 100-alert batch's time in the database. The tables are written
only by ingest, in the transaction that upserts the alert they name, and emptied only by
history retention, which deletes an alert's occurrences before the alert and never deletes an
alert a group still holds, or a group. The cascades had nothing left to do.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEYS = (
    ("alert_occurrences", "fk_alert_occurrences_alert_id_alerts", ["alert_id"], "alerts", ["id"]),
    ("group_alerts", "fk_group_alerts_alert_id_alerts", ["alert_id"], "alerts", ["id"]),
    ("group_alerts", "fk_group_alerts_group_key_groups", ["group_key"], "groups", ["key"]),
)


def upgrade() -> None:
    for table, name, _columns, _parent, _parent_columns in _FOREIGN_KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, columns, parent, parent_columns in _FOREIGN_KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(name, parent, columns, parent_columns, ondelete="CASCADE")
