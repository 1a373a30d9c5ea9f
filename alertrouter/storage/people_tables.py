"""The people feature's tables: schedule overrides and their revisions, each schedule's
definitions over time, who is on call as last announced, the schedules' audit trail, what
people did about incidents, and calendar feed tokens. In the one schema (storage.tables'
metadata and column types); storage.schema holds them all for Alembic.
"""

from __future__ import annotations

import sqlalchemy as sa

from alertrouter.storage.tables import Id, Json, Millis, metadata

# Overrides of who is on call (people.override_store): `replace` puts `users` on call instead
# of whoever the layers have; `add` puts them on call beside them. Deleting keeps the row.
schedule_overrides = sa.Table(
    "schedule_overrides",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("schedule", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # replace | add
    sa.Column("users", Json, nullable=False),  # user names
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("deleted_at", Millis, nullable=True),
    sa.Column("deleted_by", sa.String(255), nullable=True),
)
sa.Index(
    "ix_schedule_overrides_window",
    schedule_overrides.c.schedule,
    schedule_overrides.c.ends_at,
    schedule_overrides.c.starts_at,
)

# Each schedule's definition (layers, zone) from the instant it took effect: a reload that
# changes a rotation changes who is on call from then on, never in the past.
schedule_versions = sa.Table(
    "schedule_versions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("schedule", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("definition", Json, nullable=False),
    sa.Column("effective_from", Millis, nullable=False),
)
sa.Index(
    "ix_schedule_versions_schedule",
    schedule_versions.c.schedule,
    schedule_versions.c.effective_from,
)

# Who each schedule has on call as last announced: a hand-off (notice, Slack user group) is
# made by whichever replica first moves this row, once.
# Each schedule's overrides revision: bumped in the transaction that makes or deletes one of its
# overrides (people.override_store, the only writer of schedule_overrides), so that a reader who
# saw a revision knows every override it has read is still as it was (people.ledgers). No row:
# revision 0.
schedule_revisions = sa.Table(
    "schedule_revisions",
    metadata,
    sa.Column("schedule", sa.String(64), primary_key=True),
    sa.Column("revision", Id, nullable=False),
)

oncall_state = sa.Table(
    "oncall_state",
    metadata,
    sa.Column("schedule", sa.String(64), primary_key=True),
    sa.Column("users", Json, nullable=False),
    sa.Column("since", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

# The audit trail of schedules: overrides made and deleted, hand-offs, user group updates.
schedule_events = sa.Table(
    "schedule_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("schedule", sa.String(64), nullable=False),
    sa.Column("at", Millis, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("detail", Json, nullable=False),
)
sa.Index("ix_schedule_events_schedule_at", schedule_events.c.schedule, schedule_events.c.at)

# What people did about incidents: each page (escalation to them) and each acknowledgement by a
# configured user, for the per-person statistics. `response_ms`: on an acknowledgement, the
# time since that person was last paged for the incident (None if they were not).
person_activity = sa.Table(
    "person_activity",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(64), nullable=False),
    sa.Column("incident_id", Id, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # paged | acknowledged
    sa.Column("at", Millis, nullable=False),
    sa.Column("schedule", sa.String(64), nullable=True),
    sa.Column("response_ms", Millis, nullable=True),
    sa.Column("detail", Json, nullable=False),  # paged: via, policy, step
)
sa.Index("ix_person_activity_user_at", person_activity.c.user_name, person_activity.c.at)
sa.Index("ix_person_activity_at", person_activity.c.at)
sa.Index("ix_person_activity_incident", person_activity.c.incident_id)

# Secrets in calendar feed URLs (calendar apps cannot send headers): one per person, revocable.
# Only a SHA-256 of the token is kept.
calendar_tokens = sa.Table(
    "calendar_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(64), nullable=False, index=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("revoked_at", Millis, nullable=True),
)
