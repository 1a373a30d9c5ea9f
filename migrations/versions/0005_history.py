"""incident history: label index, free-text column and the indexes of the history queries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BACKFILL_BATCH = 2000
SEARCH_TEXT_LIMIT = 8000  # as alertrouter.history.search_index.TEXT_LIMIT


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.drop_index("ix_incidents_opened_at")
        batch_op.create_index("ix_incidents_opened_at_id", ["opened_at", "id"], unique=False)
        batch_op.create_index(
            "ix_incidents_open_severity",
            ["severity", "opened_at", "id"],
            unique=False,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.create_index(
            "ix_incidents_severity", ["severity", "opened_at", "id"], unique=False
        )
        batch_op.create_index("ix_incidents_status", ["status", "opened_at", "id"], unique=False)
        batch_op.create_index(
            "ix_incidents_receiver", ["receiver", "opened_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_incidents_acknowledged_by", ["acknowledged_by", "opened_at", "id"], unique=False
        )
        batch_op.create_index("ix_incidents_resolved_at", ["resolved_at"], unique=False)
    op.create_table(
        "incident_labels",
        sa.Column("incident_id", ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_labels_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "name", "value", name=op.f("pk_incident_labels")),
    )
    with op.batch_alter_table("incident_labels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_labels_lookup",
            ["name", "value", "opened_at", "incident_id"],
            unique=False,
        )
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Label rows and search text for the incidents that exist already."""
    incidents = sa.table(
        "incidents",
        sa.column("id", ID),
        sa.column("title", sa.Text),
        sa.column("opened_at", sa.BigInteger),
        sa.column("search_text", sa.Text),
    )
    incident_alerts = sa.table(
        "incident_alerts", sa.column("incident_id", ID), sa.column("fingerprint", sa.String)
    )
    alerts = sa.table(
        "alerts",
        sa.column("fingerprint", sa.String),
        sa.column("labels", sa.JSON),
        sa.column("annotations", sa.JSON),
    )
    labels = sa.table(
        "incident_labels",
        sa.column("incident_id", ID),
        sa.column("name", sa.String),
        sa.column("value", sa.Text),
        sa.column("opened_at", sa.BigInteger),
    )
    last = 0
    while True:
        batch = conn.execute(
            sa.select(incidents.c.id, incidents.c.title, incidents.c.opened_at)
            .where(incidents.c.id > last)
            .order_by(incidents.c.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1].id
        texts = {row.id: [row.title.lower()] for row in batch}
        opened = {row.id: row.opened_at for row in batch}
        pairs: dict[tuple[int, str, str], int] = {}
        for incident_id, alert_labels, notes in conn.execute(
            sa.select(incident_alerts.c.incident_id, alerts.c.labels, alerts.c.annotations)
            .join(alerts, alerts.c.fingerprint == incident_alerts.c.fingerprint)
            .where(incident_alerts.c.incident_id.in_(list(texts)))
        ):
            for name, value in (alert_labels or {}).items():
                pairs[(incident_id, name, value)] = opened[incident_id]
            for value in (notes or {}).values():
                text = str(value).lower()
                if text not in texts[incident_id]:
                    texts[incident_id].append(text)
        if pairs:
            conn.execute(
                sa.insert(labels),
                [
                    {"incident_id": i, "name": n, "value": v, "opened_at": at}
                    for (i, n, v), at in pairs.items()
                ],
            )
        conn.execute(
            sa.update(incidents).where(incidents.c.id == sa.bindparam("iid")),
            [{"iid": i, "search_text": "\n".join(t)[:SEARCH_TEXT_LIMIT]} for i, t in texts.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_labels_lookup")
    op.drop_table("incident_labels")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_resolved_at")
        batch_op.drop_index("ix_incidents_acknowledged_by")
        batch_op.drop_index("ix_incidents_receiver")
        batch_op.drop_index("ix_incidents_status")
        batch_op.drop_index("ix_incidents_severity")
        batch_op.drop_index("ix_incidents_open_severity")
        batch_op.drop_index("ix_incidents_opened_at_id")
        batch_op.create_index("ix_incidents_opened_at", ["opened_at"], unique=False)
        batch_op.drop_column("search_text")
