"""people: schedule overrides and versions, who is on call as announced, the schedules' audit
trail, pages and acknowledgements by person, calendar feed tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "calendar_tokens",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_calendar_tokens_token_sha256")),
    )
    with op.batch_alter_table("calendar_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_tokens_user_name"), ["user_name"], unique=False
        )

    op.create_table(
        "oncall_state",
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("users", JSON, nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("schedule", name=op.f("pk_oncall_state")),
    )
    op.create_table(
        "schedule_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_events")),
    )
    with op.batch_alter_table("schedule_events", schema=None) as batch_op:
        batch_op.create_index("ix_schedule_events_schedule_at", ["schedule", "at"], unique=False)

    op.create_table(
        "schedule_overrides",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("users", JSON, nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_overrides")),
    )
    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedule_overrides_window", ["schedule", "ends_at", "starts_at"], unique=False
        )

    op.create_table(
        "schedule_versions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("effective_from", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_versions")),
    )
    with op.batch_alter_table("schedule_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedule_versions_schedule", ["schedule", "effective_from"], unique=False
        )

    op.create_table(
        "person_activity",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("incident_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=True),
        sa.Column("response_ms", sa.BigInteger(), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_person_activity_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_activity")),
    )
    with op.batch_alter_table("person_activity", schema=None) as batch_op:
        batch_op.create_index("ix_person_activity_at", ["at"], unique=False)
        batch_op.create_index("ix_person_activity_incident", ["incident_id"], unique=False)
        batch_op.create_index("ix_person_activity_user_at", ["user_name", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_person_activity_user_at")
        batch_op.drop_index("ix_person_activity_incident")
        batch_op.drop_index("ix_person_activity_at")

    op.drop_table("person_activity")
    with op.batch_alter_table("schedule_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_versions_schedule")

    op.drop_table("schedule_versions")
    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_overrides_window")

    op.drop_table("schedule_overrides")
    with op.batch_alter_table("schedule_events", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_events_schedule_at")

    op.drop_table("schedule_events")
    op.drop_table("oncall_state")
    with op.batch_alter_table("calendar_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_tokens_user_name"))

    op.drop_table("calendar_tokens")
