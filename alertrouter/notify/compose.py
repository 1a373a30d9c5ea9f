"""The notify step of a flush: per integration of the group's receiver, decide with the
notification log, compose the messages, and queue them in the outbox, all in the flush's
transaction (so a notification is queued exactly when the log says it was made)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import Integration, Receiver
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import Severity
from alertrouter.delivery import outbox as outbox_store
from alertrouter.ingest.groups import GroupRow, MemberAlert
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import ErrorKind, Notification
from alertrouter.notify.notification_log import (
    LogEntry,
    decide,
    logged,
    reportable_resolved,
    still_reported,
)
from alertrouter.render.environment import Renderer, TemplateError
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.statements import DriverStatement, column_binds
from alertrouter.storage.tables import notification_log

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifySettings:
    """What the notify step needs from the configuration in force."""

    receiver: Receiver | None  # None: the group's receiver is no longer configured
    global_: GlobalConfig
    renderer: Renderer
    external_url: str
    interactive: bool
    max_retry_ms: int
    # Route labels by route key (routing.RoutingTree.labels_by_key).
    route_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


LogEntries = dict[str, tuple[LogEntry, int | None]]  # integration -> (entry, its incident id)


@dataclass
class Outgoing:
    """What the notify steps of one flush batch write; written together by `write`, a few
    statements for the whole batch."""

    messages: list[tuple[outbox_store.NewMessage, int]] = field(default_factory=list)  # deadline
    unsendable: list[tuple[outbox_store.NewMessage, str]] = field(default_factory=list)  # error
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def write(self, db: Database, conn: sa.Connection, now: int) -> None:
        timeline.append(db, conn, self.events)
        for message, error in self.unsendable:
            outbox_store.enqueue_dead(conn, message, now, error, ErrorKind.CONFIG)
        outbox_store.enqueue(db, conn, self.messages, now)
        db.cached("notification_log.upsert", lambda: _upsert_entry(db)).run_many(
            conn, self.log_entries
        )


def notify(
    outgoing: Outgoing,
    *,
    group: GroupRow,
    incident: Mapping[str, Any],
    members: Sequence[MemberAlert],
    muted: Collection[str],
    entries: LogEntries,
    settings: NotifySettings,
    now: int,
) -> int:
    """Decides what this flush of one group notifies and adds it to `outgoing`; returns how
    many messages that queues. `incident` is the incidents row after the flush; `entries` the
    log entries of the group's receiver (see `load_entries`)."""
    receiver = settings.receiver
    if receiver is None or not receiver.integrations:
        return 0
    firing = frozenset(m.fingerprint for m in members if m.firing and m.fingerprint not in muted)
    muted_firing = frozenset(m.fingerprint for m in members if m.firing) - firing
    resolved = frozenset(m.fingerprint for m in members if not m.firing)
    incident_id = int(incident["id"])
    view: dict[str, Any] | None = None
    queued = 0
    for kind, index, config in receiver.integrations:
        integration = registry.integration_id(kind, index)
        entry, last_incident = entries.get(integration, (None, None))
        reason = decide(
            entry,
            firing,
            resolved,
            muted=muted_firing,
            send_resolved=config.sends_resolved,
            repeat_interval_ms=group.repeat_interval_ms,
            now=now,
        )
        if reason is None:
            continue
        if reason is NotifyReason.REPEAT and incident["status"] == "acknowledged":
            continue  # someone is on it: no reminders until it is un-acknowledged
        if view is None:
            view = incident_view(incident, settings.external_url)
        reported_resolved = reportable_resolved(entry, resolved)
        data = template_data(
            incident=view,
            firing=[m for m in members if m.fingerprint in firing],
            resolved=[m for m in members if m.fingerprint in reported_resolved],
            group=group,
            reason=reason,
            settings=settings,
            now=now,
        )
        notification = Notification(
            reason=reason,
            data=data,
            incident_id=incident_id,
            group_key=group.key,
            receiver=receiver.name,
            index=index,
            send_resolved=config.sends_resolved,
            opens_incident=last_incident != incident_id,
            now=now,
        )
        queued += _queue(outgoing, kind, integration, config, notification, settings)
        stored = logged(firing, resolved, now, held=still_reported(entry, muted_firing))
        outgoing.log_entries.append(
            {
                "group_key": group.key,
                "receiver": receiver.name,
                "integration": integration,
                "firing": sorted(stored.firing),
                "resolved": sorted(stored.resolved),
                "notified_at": stored.notified_at,
                "incident_id": incident_id,
            }
        )
    return queued


@dataclass(frozen=True, slots=True)
class Announcement:
    """A change that people or escalation made to an incident, for its integrations to tell."""

    reason: NotifyReason
    actor: str
    source: str  # slack, api, cli, pagerduty, escalation
    comment: str = ""
    until: int | None = None  # a silence's end (epoch ms)
    # Integrations of these kinds are left out (a change that came from PagerDuty is not sent
    # back to it).
    skip_kinds: frozenset[str] = frozenset()
    # Only integrations that announced this incident hear of the change; escalation steps
    # reach the step's receiver whether or not it heard of the incident before.
    announced_only: bool = True
    # An escalation step: policy, step, repetition, receiver, unacknowledged_for (`5m`),
    # unacknowledged_ms (see incidents.escalation_store).
    escalation: Mapping[str, Any] | None = None

    def template_action(self) -> dict[str, Any]:
        return {
            "kind": str(self.reason),
            "actor": self.actor,
            "source": self.source,
            "comment": self.comment,
            "until": self.until,
            "escalation": dict(self.escalation) if self.escalation is not None else None,
        }


def announce(
    outgoing: Outgoing,
    change: Announcement,
    *,
    group: GroupRow,
    incident: Mapping[str, Any],
    members: Sequence[MemberAlert],
    muted: Collection[str],
    entries: LogEntries,
    settings: NotifySettings,
    now: int,
) -> int:
    """Queues the messages that tell `settings.receiver`'s integrations about `change`;
    returns how many. The notification log is left alone: it records what was said about the
    alerts, and a change of hands says nothing new about them."""
    receiver = settings.receiver
    if receiver is None or not receiver.integrations:
        return 0
    incident_id = int(incident["id"])
    data = template_data(
        incident=incident_view(incident, settings.external_url),
        firing=[m for m in members if m.firing and m.fingerprint not in muted],
        resolved=[m for m in members if not m.firing],
        group=group,
        reason=change.reason,
        settings=settings,
        now=now,
        action=change.template_action(),
    )
    queued = 0
    for kind, index, config in receiver.integrations:
        if kind in change.skip_kinds:
            continue
        integration = registry.integration_id(kind, index)
        entry = entries.get(integration)
        announced = entry is not None and entry[1] == incident_id
        if change.announced_only and not announced:
            continue
        notification = Notification(
            reason=change.reason,
            data=data,
            incident_id=incident_id,
            group_key=group.key,
            receiver=receiver.name,
            index=index,
            send_resolved=config.sends_resolved,
            opens_incident=not announced,
            now=now,
        )
        queued += _queue(outgoing, kind, integration, config, notification, settings)
    return queued


def _queue(
    outgoing: Outgoing,
    kind: str,
    integration: str,
    config: Integration,
    notification: Notification,
    settings: NotifySettings,
) -> int:
    def queued(op: str, body: dict[str, Any], rate_key: str | None) -> outbox_store.NewMessage:
        return outbox_store.NewMessage(
            incident_id=notification.incident_id,
            receiver=notification.receiver,
            integration=integration,
            op=op,
            reason=str(notification.reason),
            body=body,
            rate_key=rate_key,
        )

    compose_args = (kind, config, settings.global_, settings.renderer, notification)
    try:
        messages = registry.compose(*compose_args)
    except TemplateError as exc:
        # A broken custom template must not silence the page: say so, then send the default.
        log.error("notification template failed, sending the default template: %s", exc)
        outgoing.events.append(_template_error_event(notification, integration, str(exc)))
        try:
            fallback = config.model_copy(update={"templates": {}})
            messages = registry.compose(kind, fallback, *compose_args[2:])
        except TemplateError as default_exc:
            log.error("the default template failed too: %s", default_exc)
            outgoing.unsendable.append(
                (queued("compose", {}, None), f"template error: {default_exc}")
            )
            return 0
    deadline = notification.now + settings.max_retry_ms
    outgoing.messages += [(queued(m.op, m.body, m.rate_key), deadline) for m in messages]
    return len(messages)


def time_muted_event(incident_id: int, receiver: str, why: str, now: int) -> dict[str, Any]:
    """The timeline's note that a change was not notified: the route's time intervals mute
    notifications now (Alertmanager's mute_time_intervals / active_time_intervals)."""
    return {
        "incident_id": incident_id,
        "at": now,
        "kind": "notification_muted",
        "actor": outbox_store.ACTOR,
        "source": outbox_store.SOURCE,
        "detail": {"receiver": receiver, "reason": why},
    }


def _template_error_event(
    notification: Notification, integration: str, error: str
) -> dict[str, Any]:
    return {
        "incident_id": notification.incident_id,
        "at": notification.now,
        "kind": "notification_template_error",
        "actor": outbox_store.ACTOR,
        "source": outbox_store.SOURCE,
        "detail": {
            "receiver": notification.receiver,
            "integration": integration,
            "error": error,
            "fallback": "default template",
        },
    }


# ------------------------------------------------------------------------------ template data


def template_data(
    *,
    incident: Mapping[str, Any],
    firing: Sequence[MemberAlert],
    resolved: Sequence[MemberAlert],
    group: GroupRow,
    reason: NotifyReason,
    settings: NotifySettings,
    now: int,
    action: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The data every template receives (the shape of render.sample_data)."""
    alerts = [*firing, *resolved]
    return {
        "incident": dict(incident),
        "alerts": {
            "firing": [_alert(m) for m in firing],
            "resolved": [_alert(m) for m in resolved],
        },
        "status": "firing" if firing else "resolved",
        "group_key": group.key,
        "group_labels": dict(group.labels),
        "route_labels": dict(settings.route_labels.get(group.route_key, {})),
        "common_labels": common([m.labels for m in alerts]),
        "common_annotations": common([m.annotations for m in alerts]),
        "receiver": group.receiver,
        "reason": str(reason),
        "external_url": settings.external_url,
        "now": now,
        "interactive": settings.interactive,
        "action": dict(action) if action is not None else None,
    }


def _alert(member: MemberAlert) -> dict[str, Any]:
    return {
        "fingerprint": member.fingerprint,
        "labels": dict(member.labels),
        "annotations": dict(member.annotations),
        "starts_at": member.starts_at,
        "ends_at": member.ends_at,
        "generator_url": member.generator_url,
        "severity": member.severity.name,
    }


def common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every map has."""
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def incident_view(row: Mapping[str, Any], external_url: str) -> dict[str, Any]:
    """The `incident` of the template data, from its incidents row."""
    return {
        "id": row["id"],
        "title": row["title"],
        "severity": Severity(row["severity"]).name,
        "status": row["status"],
        "opened_at": row["opened_at"],
        "acknowledged_at": row["acknowledged_at"],
        "acknowledged_by": row["acknowledged_by"],
        "resolved_at": row["resolved_at"],
        "resolved_by": row["resolved_by"],
        "url": f"{external_url}/incidents/{row['id']}",
    }


# ------------------------------------------------------------------------ the notification log


def load_entries(
    conn: sa.Connection, groups: Collection[tuple[str, str]]
) -> dict[tuple[str, str], LogEntries]:
    """The log entries of each (group key, receiver) in `groups`."""
    wanted = set(groups)
    if not wanted:
        return {}
    result = conn.execute(
        sa.select(notification_log).where(
            notification_log.c.group_key.in_({key for key, _ in wanted})
        )
    )
    entries: dict[tuple[str, str], LogEntries] = {}
    for r in result:
        if (r.group_key, r.receiver) in wanted:
            entries.setdefault((r.group_key, r.receiver), {})[r.integration] = (
                LogEntry(frozenset(r.firing), frozenset(r.resolved), r.notified_at),
                r.incident_id,
            )
    return entries


def _upsert_entry(db: Database) -> DriverStatement:
    keys = (
        "group_key", "receiver", "integration", "firing", "resolved", "notified_at", "incident_id"
    )  # fmt: skip
    insert = db.insert(notification_log).values(column_binds(notification_log, keys))
    return DriverStatement(
        insert.on_conflict_do_update(
            index_elements=[
                notification_log.c.group_key,
                notification_log.c.receiver,
                notification_log.c.integration,
            ],
            set_={key: insert.excluded[key] for key in keys[3:]},
        ),
        db.dialect,
    )
