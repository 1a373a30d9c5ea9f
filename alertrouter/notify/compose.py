"""The notify step, used by a flush (`notify`: the notification log decides) and by people's
actions and escalation steps (`announce`): per integration of the group's receiver, compose the
messages and queue them in the outbox, all in the caller's transaction (so a notification is
queued exactly when the log says it was made)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from alertrouter.config.gotemplates import without_go_templates
from alertrouter.config.receivers import Integration
from alertrouter.core.groups import GroupRow, MemberAlert
from alertrouter.core.reasons import NotifyReason
from alertrouter.delivery import outbox as outbox_store
from alertrouter.delivery.outcomes import ACTOR, SOURCE
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import ErrorKind, Message, Notification
from alertrouter.notify.log_store import LogEntries, upsert_entry
from alertrouter.notify.notification_log import (
    decide,
    logged,
    reportable_resolved,
    still_reported,
)
from alertrouter.notify.settings import NotifySettings
from alertrouter.notify.template_data import incident_view, template_data
from alertrouter.render.environment import TemplateError
from alertrouter.storage import timeline
from alertrouter.storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupNotice:
    """One group at one instant, what its notifications are made of: the same for a flush, a
    person's action and an escalation step."""

    group: GroupRow
    incident: Mapping[str, Any]  # the incidents row (after the flush or the action)
    members: Sequence[MemberAlert]
    muted: Collection[str]  # fingerprints of silenced or inhibited members
    entries: LogEntries  # the notification log of the group's receiver (log_store.load_entries)
    settings: NotifySettings
    now: int
    # Who is on call for the schedule owning the group's route (people.roster.oncall_view).
    oncall: Mapping[str, Any] | None = None


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
        db.cached("notification_log.upsert", lambda: upsert_entry(db)).run_many(
            conn, self.log_entries
        )


def notify(outgoing: Outgoing, notice: GroupNotice) -> int:
    """Decides what this flush of one group notifies and adds it to `outgoing`; returns how
    many messages that queues."""
    group, incident, members, muted = notice.group, notice.incident, notice.members, notice.muted
    entries, settings, now = notice.entries, notice.settings, notice.now
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
            oncall=notice.oncall,
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


def announce(outgoing: Outgoing, change: Announcement, notice: GroupNotice) -> int:
    """Queues the messages that tell `settings.receiver`'s integrations about `change`;
    returns how many. The notification log is left alone: it records what was said about the
    alerts, and a change of hands says nothing new about them."""
    group, incident, members, muted = notice.group, notice.incident, notice.members, notice.muted
    entries, settings, now = notice.entries, notice.settings, notice.now
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
        oncall=notice.oncall,
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


def compose_messages(
    kind: str, config: Integration, settings: NotifySettings, notification: Notification
) -> list[Message]:
    """What one integration sends for a notification. Raises TemplateError."""
    return registry.compose(kind, config, settings.global_, settings.renderer, notification)


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

    try:
        messages = compose_messages(kind, config, settings, notification)
    except TemplateError as exc:
        # A broken custom template must not silence the page: say so, then send the default.
        log.error("notification template failed, sending the default template: %s", exc)
        outgoing.events.append(_template_error_event(notification, integration, str(exc)))
        try:
            # Without its own templates and Go-template fields: the defaults alone.
            fallback = without_go_templates(config).model_copy(update={"templates": {}})
            messages = compose_messages(kind, fallback, settings, notification)
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
        "actor": ACTOR,
        "source": SOURCE,
        "detail": {"receiver": receiver, "reason": why},
    }


def _template_error_event(
    notification: Notification, integration: str, error: str
) -> dict[str, Any]:
    return {
        "incident_id": notification.incident_id,
        "at": notification.now,
        "kind": "notification_template_error",
        "actor": ACTOR,
        "source": SOURCE,
        "detail": {
            "receiver": notification.receiver,
            "integration": integration,
            "error": error,
            "fallback": "default template",
        },
    }
