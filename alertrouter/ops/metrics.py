"""Prometheus metrics, one registry per application (so tests can run several apps)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alertrouter.core.values import Severity


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.alerts_received = Counter(
            "alertrouter_alerts_received",
            "Alerts received from Alertmanager, by status.",
            ["status"],
            registry=r,
        )
        self.ingest_requests = Counter(
            "alertrouter_ingest_requests",
            "Webhook requests answered, by HTTP status code.",
            ["code"],
            registry=r,
        )
        self.ingest_latency = Histogram(
            "alertrouter_ingest_duration_seconds",
            "Time from request to committed answer on the webhook endpoint.",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.commit_batch = Histogram(
            "alertrouter_ingest_commit_batch_requests",
            "Webhook requests committed together in one transaction (group commit).",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
        )
        self.commits_in_flight = Gauge(
            "alertrouter_ingest_commits_in_flight",
            "Ingest group-commit batches being written right now (PostgreSQL writes several "
            "at once: storage.commits_in_flight; SQLite one).",
            registry=r,
        )
        self.open_incidents = Gauge(
            "alertrouter_open_incidents",
            "Incidents not resolved, by severity.",
            ["severity"],
            registry=r,
        )
        self.active_silences = Gauge(
            "alertrouter_active_silences", "Silences in force now.", registry=r
        )
        self.scheduler_lag = Gauge(
            "alertrouter_scheduler_lag_seconds",
            "How late the oldest due group was when the scheduler last looked.",
            registry=r,
        )
        self.groups_flushed = Counter(
            "alertrouter_groups_flushed", "Aggregation groups flushed by this process.", registry=r
        )
        self.config_reload_success = Gauge(
            "alertrouter_config_last_reload_successful",
            "Whether the last configuration reload succeeded.",
            registry=r,
        )
        self.config_reload_time = Gauge(
            "alertrouter_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully.",
            registry=r,
        )
        self.notifications = Counter(
            "alertrouter_notifications",
            "Notification requests by integration and outcome (sent, retry, dead), and messages "
            "replaced by a later one before they were sent (superseded).",
            ["integration", "outcome"],
            registry=r,
        )
        self.notification_errors = Counter(
            "alertrouter_notification_errors",
            "Failed notification requests by integration and error kind.",
            ["integration", "error"],
            registry=r,
        )
        self.notification_latency = Histogram(
            "alertrouter_notification_latency_seconds",
            "Time from the incident change (the flush that queued it) to the message sent.",
            ["integration"],
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
        )
        self.outbox_pending = Gauge(
            "alertrouter_outbox_pending", "Messages waiting in the outbox.", registry=r
        )
        self.outbox_oldest_pending = Gauge(
            "alertrouter_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when none).",
            registry=r,
        )
        self.outbox_dead = Gauge(
            "alertrouter_outbox_dead_letters",
            "Messages given up on (dead-lettered) and not re-queued.",
            registry=r,
        )
        response_buckets = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)
        self.acknowledgements = Counter(
            "alertrouter_incident_acknowledgements",
            "Acknowledgements (also of incidents acknowledged before), by where (slack, api,"
            " cli, pagerduty, web).",
            ["source"],
            registry=r,
        )
        self.time_to_acknowledge = Histogram(
            "alertrouter_time_to_acknowledge_seconds",
            "From an incident opening to its first acknowledgement, by P-level.",
            ["severity"],
            registry=r,
            buckets=response_buckets,
        )
        self.time_to_resolve = Histogram(
            "alertrouter_time_to_resolve_seconds",
            "From an incident opening to its resolution (by its alerts or by a person).",
            ["severity"],
            registry=r,
            buckets=response_buckets,
        )
        self.escalations = Counter(
            "alertrouter_escalations",
            "Escalation steps fired, by P-level.",
            ["severity"],
            registry=r,
        )
        self.history_pruned = Counter(
            "alertrouter_history_pruned",
            "Rows deleted by history retention, by kind (the table they were in).",
            ["kind"],
            registry=r,
        )
        self.schedule_pages = Counter(
            "alertrouter_schedule_pages",
            "People paged through a schedule (one per person paged), by schedule.",
            ["schedule"],
            registry=r,
        )
        self.shift_changes = Counter(
            "alertrouter_schedule_shift_changes",
            "Shift changes announced by this process (each change by one replica), by schedule.",
            ["schedule"],
            registry=r,
        )
        self.overrides_active = Gauge(
            "alertrouter_schedule_overrides_active",
            "Overrides in force now, by schedule.",
            ["schedule"],
            registry=r,
        )
        self.heartbeat_up = Gauge(
            "alertrouter_heartbeat_up",
            "Whether a heartbeat is not missing (0 while its outage is open), by heartbeat.",
            ["heartbeat"],
            registry=r,
        )
        self.heartbeat_last_beat = Gauge(
            "alertrouter_heartbeat_last_beat_timestamp_seconds",
            "When a heartbeat last beat (absent until its first beat), by heartbeat.",
            ["heartbeat"],
            registry=r,
        )
        self.heartbeat_beats = Counter(
            "alertrouter_heartbeat_beats",
            "Beats received by this process, by heartbeat and source (api, alert).",
            ["heartbeat", "source"],
            registry=r,
        )
        self.heartbeat_outages = Counter(
            "alertrouter_heartbeat_outages",
            "Heartbeats gone missing (alerts raised by this process; each by one replica), by "
            "heartbeat.",
            ["heartbeat"],
            registry=r,
        )
        for level in Severity:
            self.open_incidents.labels(level.name)
            self.time_to_acknowledge.labels(level.name)
            self.time_to_resolve.labels(level.name)
            self.escalations.labels(level.name)
        # Children resolved once: a labels() lookup per request shows in the ingest profile.
        self.received_firing = self.alerts_received.labels("firing")
        self.received_resolved = self.alerts_received.labels("resolved")
        self._responses: dict[int, Counter] = {}

    def ingest_response(self, status: int) -> None:
        child = self._responses.get(status)
        if child is None:
            child = self._responses[status] = self.ingest_requests.labels(str(status))
        child.inc()

    def notification_sent(self, integration: str, latency: float) -> None:
        self.notifications.labels(integration, "sent").inc()
        self.notification_latency.labels(integration).observe(latency)

    def notification_superseded(self, integration: str) -> None:
        """A queued message replaced by a later one before it was sent (delivery.coalesce)."""
        self.notifications.labels(integration, "superseded").inc()

    def notification_failed(self, integration: str, error: str, *, dead: bool) -> None:
        self.notifications.labels(integration, "dead" if dead else "retry").inc()
        self.notification_errors.labels(integration, error).inc()

    def observe_outbox(
        self, pending: int, oldest_created_at: int | None, dead: int, now: int
    ) -> None:
        self.outbox_pending.set(pending)
        self.outbox_oldest_pending.set(
            0 if oldest_created_at is None else max(0, now - oldest_created_at) / 1000
        )
        self.outbox_dead.set(dead)

    def pruned(self, deleted: Mapping[str, int]) -> None:
        for kind, rows in deleted.items():
            self.history_pruned.labels(kind).inc(rows)

    def incident_acknowledged(
        self, source: str, severity: Severity, first_seconds: float | None
    ) -> None:
        """`first_seconds`: from opening to this acknowledgement, when it is the first."""
        self.acknowledgements.labels(source).inc()
        if first_seconds is not None:
            self.time_to_acknowledge.labels(severity.name).observe(max(0.0, first_seconds))

    def incident_resolved(self, severity: Severity, seconds: float) -> None:
        self.time_to_resolve.labels(severity.name).observe(max(0.0, seconds))

    def observe_overrides(self, schedules: Iterable[str], active: Mapping[str, int]) -> None:
        """The overrides in force per configured schedule (0 for those without; schedules no
        longer configured are dropped)."""
        self.overrides_active.clear()
        for schedule in schedules:
            self.overrides_active.labels(schedule).set(active.get(schedule, 0))

    def observe_heartbeats(self, heartbeats: Iterable[tuple[str, bool, int | None]]) -> None:
        """(name, missing, last beat in epoch ms) of every configured heartbeat; heartbeats no
        longer configured are dropped."""
        self.heartbeat_up.clear()
        self.heartbeat_last_beat.clear()
        for name, missing, last_beat_at in heartbeats:
            self.heartbeat_up.labels(name).set(0 if missing else 1)
            if last_beat_at is not None:
                self.heartbeat_last_beat.labels(name).set(last_beat_at / 1000)
