"""What people do to incidents: acknowledge, un-acknowledge, resolve, silence.

Each action is one transaction: the incident row, a timeline event saying who did it and from
where, the escalation change, and the messages that tell the incident's integrations (Slack
updates its message and replies in its thread, PagerDuty gets `acknowledge` / `resolve`, ...).
The same action twice (a double click, a retried request) changes nothing the second time.

Rules:
- acknowledge: triggered -> acknowledged. Escalation stops, and repeat notifications pause
  until it is un-acknowledged or (for the P-levels in `incidents.retrigger_on_new_alerts`) a
  new alert joins. The first acknowledgement's time is kept (`first_acknowledged_at`): time to
  acknowledge runs to it, however often the incident is un-acknowledged and acknowledged again.
- un-acknowledge: acknowledged -> triggered; escalation starts over from its first step.
- resolve: triggered or acknowledged -> resolved, even with alerts still firing. Those alerts
  open no new incident until the group's repeat_interval has passed since the resolution (see
  `held_alerts`); an alert that was not part of the incident, or fires again, opens one at once.
- silence: a silence for the duration over the incident's group labels (or, for a group
  without any, the labels its alerts share); the alerts are muted at the next flush.
  Escalation stops. The incident's state is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.core.groups import MemberAlert
from alertrouter.core.reasons import ActionKind, NotifyReason
from alertrouter.core.values import InputError
from alertrouter.incidents import escalation_store, paging
from alertrouter.incidents.announce import announce_change
from alertrouter.incidents.escalation import Policies
from alertrouter.incidents.members import incident_members
from alertrouter.incidents.store import event_row
from alertrouter.matchers import Matcher, MatchType
from alertrouter.mute import silence_store
from alertrouter.mute.silences import Silence
from alertrouter.notify.compose import Announcement
from alertrouter.notify.settings import NotifySettings
from alertrouter.notify.template_data import common
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.tables import incidents

SOURCES = ("slack", "api", "cli", "pagerduty", "opsgenie", "web")
# Sources that are integrations too: what came from one is not told back to it.
INTEGRATION_SOURCES = frozenset({"pagerduty", "opsgenie"})


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    incident_id: int
    actor: str  # a display name
    source: str  # one of SOURCES
    comment: str = ""
    silence_ms: int = 3_600_000  # for SILENCE
    # The configured user who acted (config `users`), when known: their acknowledgements count
    # in the per-person statistics.
    user: str | None = None


class NoSuchIncident(LookupError):
    pass


class ActionRefused(InputError):
    """The incident's state does not allow the action (e.g. acknowledging a resolved one)."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    incident: dict[str, Any]  # the incidents row after the action
    changed: bool  # False: it was already so
    queued: int  # messages put in the outbox
    silence_id: str | None = None
    first_acknowledgement: bool = False  # time to acknowledge is measured to this one


def perform(
    db: Database,
    conn: sa.Connection,
    action: Action,
    settings_of: Callable[[str], NotifySettings],
    policies: Policies,
    now: int,
) -> ActionResult:
    """Applies `action` in the caller's transaction. Raises NoSuchIncident, ActionRefused."""
    row = conn.execute(
        db.for_update(sa.select(incidents).where(incidents.c.id == action.incident_id))
    ).first()
    if row is None:
        raise NoSuchIncident(f"no incident {action.incident_id}")
    incident = dict(row._mapping)
    status = incident["status"]
    if status == "resolved" and action.kind is not ActionKind.RESOLVE:
        raise ActionRefused(f"incident {action.incident_id} is resolved")

    silence_id: str | None = None
    values: dict[str, Any]
    if action.kind is ActionKind.ACKNOWLEDGE:
        if status == "acknowledged":
            return ActionResult(incident, changed=False, queued=0)
        values = {
            "status": "acknowledged",
            "acknowledged_at": now,
            "acknowledged_by": action.actor,
            "acknowledged_via": action.source,
        }
        if incident["first_acknowledged_at"] is None:
            values["first_acknowledged_at"] = now
        event = ("incident_acknowledged", {})
        if action.user is not None:
            response_ms = paging.record_acknowledgement(conn, action.incident_id, action.user, now)
            event = ("incident_acknowledged", {"user": action.user, "response_ms": response_ms})
        reason = NotifyReason.ACKNOWLEDGED
        escalation_store.cancel(db, conn, [action.incident_id], now)
    elif action.kind is ActionKind.UNACKNOWLEDGE:
        if status == "triggered":
            return ActionResult(incident, changed=False, queued=0)
        values = {
            "status": "triggered",
            "acknowledged_at": None,
            "acknowledged_by": None,
            "acknowledged_via": None,
        }
        event = ("incident_unacknowledged", {"acknowledged_by": incident["acknowledged_by"]})
        reason = NotifyReason.UNACKNOWLEDGED
    elif action.kind is ActionKind.RESOLVE:
        if status == "resolved":
            return ActionResult(incident, changed=False, queued=0)
        values = {
            "status": "resolved",
            "resolved_at": now,
            "resolved_by": action.actor,
            "resolved_via": action.source,
        }
        event = ("incident_resolved", {"reason": "resolved manually"})
        reason = NotifyReason.RESOLVED_MANUALLY
        escalation_store.cancel(db, conn, [action.incident_id], now)
    else:
        members = incident_members(conn, action.incident_id)
        silence = _silence_for(incident, members, action, now)
        stored = silence_store.create(conn, silence, now)
        silence_id = stored.id
        values = {}
        event = (
            "incident_silenced",
            {"silence_id": stored.id, "until": stored.ends_at, "matchers": _shown(silence)},
        )
        reason = NotifyReason.SILENCED
        escalation_store.cancel(db, conn, [action.incident_id], now)

    values["updated_at"] = now
    conn.execute(sa.update(incidents).where(incidents.c.id == action.incident_id).values(values))
    incident.update(values)
    detail = {**event[1], **({"comment": action.comment} if action.comment else {})}
    timeline.append(
        db,
        conn,
        [
            event_row(
                action.incident_id, now, event[0], detail, actor=action.actor, source=action.source
            )
        ],
    )
    if action.kind is ActionKind.UNACKNOWLEDGE:
        escalation_store.start(db, conn, [incident], policies, now)
    queued = 0
    # The incident's own receiver, then everyone paged about it (their direct messages).
    paged = paging.paged_receivers_of(conn, [action.incident_id]).get(action.incident_id, [])
    for receiver in [incident["receiver"], *paged]:
        settings = settings_of(receiver)
        queued += _tell(db, conn, incident, action, reason, settings, now, silence_id=silence_id)
    return ActionResult(
        incident,
        changed=True,
        queued=queued,
        silence_id=silence_id,
        first_acknowledgement="first_acknowledged_at" in values,
    )


def _tell(
    db: Database,
    conn: sa.Connection,
    incident: Mapping[str, Any],
    action: Action,
    reason: NotifyReason,
    settings: NotifySettings,
    now: int,
    *,
    silence_id: str | None,
) -> int:
    until = None
    if silence_id is not None:
        until = now + action.silence_ms
    change = Announcement(
        reason=reason,
        actor=action.actor,
        source=action.source,
        comment=action.comment,
        until=until,
        # What PagerDuty or Opsgenie told us is not told back to it.
        skip_kinds=frozenset({action.source} & INTEGRATION_SOURCES),
    )
    return announce_change(db, conn, incident, change, settings, now)


def _silence_for(
    incident: Mapping[str, Any], members: Sequence[MemberAlert], action: Action, now: int
) -> Silence:
    labels: Mapping[str, str] = incident["group_labels"] or common([m.labels for m in members])
    matchers = tuple(
        Matcher.create(name, MatchType.EQUAL, value)
        for name, value in sorted(labels.items())
        if value != ""
    )
    if not matchers:
        raise ActionRefused(
            f"incident {incident['id']} has no group labels and its alerts share none: "
            "create the silence with matchers instead"
        )
    comment = action.comment or f"Silenced from incident #{incident['id']} ({action.source})"
    return Silence(
        id="",
        matchers=matchers,
        starts_at=now,
        ends_at=now + action.silence_ms,
        created_by=action.actor,
        comment=comment,
    )


def _shown(silence: Silence) -> list[str]:
    return [str(m) for m in silence.matchers]
