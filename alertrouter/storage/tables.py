"""The schema: its metadata, the column types the tables share, and every table and index but
the people feature's (storage.people_tables; storage.schema loads both).

Times are stored as integer milliseconds since the epoch (UTC): exact, portable across both
databases, and cheap to compare and add in SQL (`due_at <= :now`, `next_flush_at + ...`).
Alembic's revisions (migrations/) build this schema; migrations/env.py compares against it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys
Millis = sa.BigInteger

# Alerts are found by fingerprint, but the tables that grow with every new alert (occurrences,
# group members) refer to the sequential `id`: their index entries then go to the end of each
# b-tree instead of a random page, which writes about a quarter of the pages per transaction.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(32), nullable=False, unique=True),
    sa.Column("labels", Json, nullable=False),
    sa.Column("annotations", Json, nullable=False),
    sa.Column("generator_url", sa.Text, nullable=False, server_default=""),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=True),  # NULL while firing
    sa.Column("updated_at", Millis, nullable=False),
    # When a firing alert resolves unless it is sent again (POST /api/v2/alerts: its endsAt,
    # or arrival + global.resolve_timeout); NULL for the webhook's alerts and once resolved by
    # hand of the sender. Kept after the alert timed out (ends_at = expires_at): a re-send of
    # the same occurrence then fires it again, as in Alertmanager.
    sa.Column("expires_at", Millis, nullable=True),
)
sa.Index(
    "ix_alerts_expiring",
    alerts.c.expires_at,
    sqlite_where=sa.and_(alerts.c.ends_at.is_(None), alerts.c.expires_at.is_not(None)),
    postgresql_where=sa.and_(alerts.c.ends_at.is_(None), alerts.c.expires_at.is_not(None)),
)
sa.Index(
    "ix_alerts_firing",
    alerts.c.id,
    sqlite_where=alerts.c.ends_at.is_(None),
    postgresql_where=alerts.c.ends_at.is_(None),
)

# alert_occurrences and group_alerts, one row each per alert ingested, have no foreign keys: on
# PostgreSQL their checks cost about a quarter of a batch's time (migration 0012). Only ingest
# writes them, in the transaction that upserts the alert they name; only history retention
# deletes, an alert's occurrences before the alert, and never an alert a group holds, or a group.
# An occurrence is keyed by what it is (alert, start), not by a surrogate id: one index less to
# write per alert (migration 0013).
alert_occurrences = sa.Table(
    "alert_occurrences",
    metadata,
    sa.Column("alert_id", Id, primary_key=True, autoincrement=False),  # alerts.id
    sa.Column("starts_at", Millis, primary_key=True),
    sa.Column("ends_at", Millis, nullable=True),
)
# Ended occurrences by end time: what history retention deletes (history.retention). Partial,
# so an occurrence that starts adds no entry, and one that ends adds it near the index's end.
sa.Index(
    "ix_alert_occurrences_ended",
    alert_occurrences.c.ends_at,
    sqlite_where=alert_occurrences.c.ends_at.is_not(None),
    postgresql_where=alert_occurrences.c.ends_at.is_not(None),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("route_key", sa.Text, nullable=False),
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("due_at", Millis, nullable=True),  # NULL: nothing pending
    sa.Column("next_flush_at", Millis, nullable=True),  # last flush + group_interval
    sa.Column("last_flushed_at", Millis, nullable=True),
    sa.Column("group_wait_ms", Millis, nullable=False),
    sa.Column("group_interval_ms", Millis, nullable=False),
    sa.Column("repeat_interval_ms", Millis, nullable=False),
)
sa.Index("ix_groups_due_at", groups.c.due_at)

group_alerts = sa.Table(
    "group_alerts",
    metadata,
    sa.Column("group_key", sa.Text, primary_key=True),  # groups.key
    sa.Column("alert_id", Id, primary_key=True, index=True),  # alerts.id
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("matchers", Json, nullable=False),
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=False, index=True),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("group_key", sa.Text, nullable=False, index=True),
    sa.Column("route_key", sa.Text, nullable=False),
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("group_labels", Json, nullable=False),
    sa.Column("opened_at", Millis, nullable=False),
    sa.Column("acknowledged_at", Millis, nullable=True),
    sa.Column("acknowledged_by", sa.String(255), nullable=True),
    sa.Column("resolved_at", Millis, nullable=True),
    sa.Column("resolved_by", sa.String(255), nullable=True),
    sa.Column("updated_at", Millis, nullable=False),
    # Where the acknowledgement / resolution came from: slack, api, cli, pagerduty; resolutions
    # by the alerts themselves say "alertmanager".
    sa.Column("acknowledged_via", sa.String(32), nullable=True),
    sa.Column("resolved_via", sa.String(32), nullable=True),
    # The first acknowledgement, kept through un-acknowledge and re-trigger (acknowledged_at is
    # the current one): time to acknowledge runs to it.
    sa.Column("first_acknowledged_at", Millis, nullable=True),
    # Lower-cased title and annotation values of the incident's alerts: the free-text search.
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
)
# The history queries list newest first, (opened_at, id) descending, narrowed by one of these.
# SQLite appends the rowid (id) to every index by itself; PostgreSQL needs it spelled out.
sa.Index("ix_incidents_opened_at_id", incidents.c.opened_at, incidents.c.id)
sa.Index(
    "ix_incidents_open_severity",
    incidents.c.severity,
    incidents.c.opened_at,
    incidents.c.id,
    sqlite_where=incidents.c.resolved_at.is_(None),
    postgresql_where=incidents.c.resolved_at.is_(None),
)
sa.Index("ix_incidents_severity", incidents.c.severity, incidents.c.opened_at, incidents.c.id)
sa.Index("ix_incidents_status", incidents.c.status, incidents.c.opened_at, incidents.c.id)
sa.Index("ix_incidents_receiver", incidents.c.receiver, incidents.c.opened_at, incidents.c.id)
sa.Index(
    "ix_incidents_acknowledged_by",
    incidents.c.acknowledged_by,
    incidents.c.opened_at,
    incidents.c.id,
)
sa.Index("ix_incidents_resolved_at", incidents.c.resolved_at)
# The database guarantees one open incident per aggregation group.
sa.Index(
    "uq_incidents_open_group",
    incidents.c.group_key,
    unique=True,
    sqlite_where=incidents.c.resolved_at.is_(None),
    postgresql_where=incidents.c.resolved_at.is_(None),
)

# Every label pair of every alert an incident has held: label matchers over the history find
# incidents here. `opened_at` is the incident's, so "service=db, last 7 days" is one index range.
incident_labels = sa.Table(
    "incident_labels",
    metadata,
    sa.Column(
        "incident_id", Id, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, primary_key=True),
    sa.Column("opened_at", Millis, nullable=False),
)
sa.Index(
    "ix_incident_labels_lookup",
    incident_labels.c.name,
    incident_labels.c.value,
    incident_labels.c.opened_at,
    incident_labels.c.incident_id,
)

incident_alerts = sa.Table(
    "incident_alerts",
    metadata,
    sa.Column(
        "incident_id", Id, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "fingerprint",
        sa.String(32),
        sa.ForeignKey("alerts.fingerprint", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("state", sa.String(16), nullable=False),  # firing | resolved
    sa.Column("muted_by", sa.Text, nullable=True),
    sa.Column("first_seen_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

timeline_events = sa.Table(
    "timeline_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "incident_id",
        Id,
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", Millis, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("detail", Json, nullable=False),
)

# The next escalation step of each incident that is escalating (incidents.escalation_store).
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "incident_id",
        Id,
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("policy", sa.String(255), nullable=False),  # "" for the P-level default
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),  # 0, then 1..repeat
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("due_at", Millis, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | fired | cancelled
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)
sa.Index(
    "ix_escalations_pending",
    escalations.c.due_at,
    sqlite_where=escalations.c.status == "pending",
    postgresql_where=escalations.c.status == "pending",
)

# Signed requests already acted on (Slack actions, PagerDuty webhooks): a replay is refused.
inbound_requests = sa.Table(
    "inbound_requests",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("received_at", Millis, nullable=False, index=True),
)

# Per (group, receiver, integration): what the last notification reported (notify.notification_log).
notification_log = sa.Table(
    "notification_log",
    metadata,
    sa.Column("group_key", sa.Text, primary_key=True),
    sa.Column("receiver", sa.String(255), primary_key=True),
    sa.Column("integration", sa.String(64), primary_key=True),  # e.g. "slack:0"
    sa.Column("firing", Json, nullable=False),  # fingerprints
    sa.Column("resolved", Json, nullable=False),
    sa.Column("notified_at", Millis, nullable=False),
    sa.Column("incident_id", Id, nullable=True),  # the incident that notification was about
)

# Rendered messages waiting for (or done with) delivery: the only queue of outgoing requests.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # NULL for messages about no incident: on-call hand-off notices, Slack user group updates.
    sa.Column(
        "incident_id",
        Id,
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("integration", sa.String(64), nullable=False),
    # Messages of one stream (incident x receiver x integration, or a schedule's topic x
    # receiver x integration) are delivered in order.
    sa.Column("stream", sa.String(400), nullable=False),
    sa.Column("op", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("rate_key", sa.String(400), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("next_attempt_at", Millis, nullable=False),
    sa.Column("deadline_at", Millis, nullable=False),
    sa.Column("lease_until", Millis, nullable=True),  # set while a worker is sending it
    sa.Column("sent_at", Millis, nullable=True),
    sa.Column("updated_at", Millis, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_kind", sa.String(32), nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    # Set on the earliest pending row of its stream, the one whose turn it is (delivery.streams).
    sa.Column("stream_head", sa.Boolean, nullable=False, server_default=sa.false()),
)
sa.Index(
    "ix_outbox_pending",
    outbox.c.next_attempt_at,
    sqlite_where=outbox.c.status == "pending",
    postgresql_where=outbox.c.status == "pending",
)
# A row waits while an earlier row of its stream is pending: the claim's check, per row.
sa.Index(
    "ix_outbox_pending_stream",
    outbox.c.stream,
    outbox.c.id,
    sqlite_where=outbox.c.status == "pending",
    postgresql_where=outbox.c.status == "pending",
)
sa.Index("ix_outbox_status_id", outbox.c.status, outbox.c.id)
# The claim reads the rows whose turn it is, oldest first, however long the queue behind them.
# (SQLite plans the claim on it only with stream_head as its first column, not in its WHERE.)
sa.Index(
    "ix_outbox_heads",
    outbox.c.stream_head,
    outbox.c.next_attempt_at,
    outbox.c.id,
    sqlite_where=outbox.c.status == "pending",
    postgresql_where=outbox.c.status == "pending",
)

# What later messages of a stream refer to, e.g. the Slack channel and ts of the incident message.
delivery_threads = sa.Table(
    "delivery_threads",
    metadata,
    sa.Column("stream", sa.String(400), primary_key=True),
    sa.Column("ref", Json, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

# Per rate key (e.g. one Slack channel), the earliest time the next message may go out; shared
# by every replica, so a channel's rate holds however many processes deliver.
rate_slots = sa.Table(
    "rate_slots",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("next_at", Millis, nullable=False),
)


# Dead man's switches (ingest.heartbeats): one row per configured heartbeat, moved by beats
# (last_beat_at, beat_count) and, under its row lock, by the pass that raises or resolves its
# alert (missing_since ... alert_labels).
heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_beat_at", Millis, nullable=True),
    sa.Column("last_beat_source", sa.String(16), nullable=True),
    sa.Column("beat_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("watch_from", Millis, nullable=False),
    sa.Column("watched_at", Millis, nullable=False),
    sa.Column("since", Millis, nullable=False),
    sa.Column("missing_since", Millis, nullable=True),
    sa.Column("outage_beat_count", sa.BigInteger, nullable=True),
    sa.Column("alert_labels", Json, nullable=True),
    sa.Column("updated_at", Millis, nullable=False),
)

# The processes serving this database (server.replicas): each announces itself while it runs
# (seen_at), for the cluster that GET /api/v2/status reports.
replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("started_at", Millis, nullable=False),
    sa.Column("seen_at", Millis, nullable=False),
)
