"""Paging people: an escalation step's `schedule` (whoever is on call when the step fires) and
`users`, each reached through all of their contact methods at once (a Slack direct message with
the incident's buttons, an email), in the step's transaction.

A person is a receiver of their own (`user:NAME`, config.people), so a page goes through the
same outbox, retries and notifiers as any message. Each page is on the incident's timeline (who,
how, for which schedule) and in `person_activity` for the per-person statistics. A notification
log entry is kept for the person's receiver, so that an acknowledgement or a resolution later
updates the direct message they were sent (see `tell_paged`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.config.people import person_receiver_name
from alertrouter.core.reasons import NotifyReason
from alertrouter.incidents.announce import announce_change
from alertrouter.incidents.escalation import Targets
from alertrouter.incidents.members import incident_members, muted_members
from alertrouter.incidents.store import ALERT_SOURCE, SYSTEM_ACTOR, event_row, group_of
from alertrouter.notifiers import registry
from alertrouter.notify.compose import Announcement, GroupNotice, Outgoing, announce
from alertrouter.notify.log_store import load_entries
from alertrouter.notify.settings import NotifySettings
from alertrouter.people import roster as people
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.people_tables import person_activity

SOURCE = "escalation"
PAGED, ACKNOWLEDGED = "paged", "acknowledged"


@dataclass(frozen=True, slots=True)
class Page:
    user: str
    schedule: str | None  # the schedule that had them on call; None: named by the step
    via: tuple[str, ...]  # integration kinds: slack, email
    queued: int


def whom(
    conn: sa.Connection, roster: people.Roster, targets: Targets, now: int
) -> list[tuple[str, str | None]]:
    """The people a step pages, each once: (user, the schedule that put them on call)."""
    found: dict[str, str | None] = {}
    if targets.schedule is not None and targets.schedule in roster.definitions:
        for user in people.who(conn, roster, targets.schedule, now).users:
            found.setdefault(user, targets.schedule)
    for user in targets.users:
        found.setdefault(user, None)
    return list(found.items())


def page(
    db: Database,
    conn: sa.Connection,
    incident: Mapping[str, Any],
    step: Mapping[str, Any],
    targets: Targets,
    roster: people.Roster,
    settings_of: Callable[[str], NotifySettings],
    now: int,
) -> list[Page]:
    """Pages the step's people about `incident`; returns who was paged and how. A schedule with
    nobody on call, or a person the configuration no longer has, is on the timeline."""
    chosen = whom(conn, roster, targets, now)
    events: list[dict[str, Any]] = []
    if targets.schedule is not None and not any(s == targets.schedule for _, s in chosen):
        events.append(_event(incident, now, "nobody_on_call", {"schedule": targets.schedule}))
    paged_view = [people.person_view(roster, user) for user, _ in chosen]
    announced = {**step, "paged": paged_view, "schedule": targets.schedule}
    group = group_of(incident)
    incident_id = int(incident["id"])
    members = incident_members(conn, incident_id)
    muted = muted_members(conn, incident_id)
    names = [person_receiver_name(user) for user, _ in chosen]
    entries = load_entries(conn, [(group.key, name) for name in names])
    oncall = None
    pages: list[Page] = []
    activity: list[dict[str, Any]] = []
    for (user, schedule), name in zip(chosen, names, strict=True):
        settings = settings_of(name)
        receiver = settings.receiver
        if receiver is None or not receiver.integrations:
            error = "not a configured user any more"
            events.append(_event(incident, now, "page_failed", {"user": user, "error": error}))
            continue
        if oncall is None:
            oncall = settings.oncall_of(conn, group.route_key, now)
        outgoing = Outgoing()
        queued = announce(
            outgoing,
            Announcement(
                reason=NotifyReason.ESCALATED,
                actor=SYSTEM_ACTOR,
                source=SOURCE,
                announced_only=False,
                escalation=announced,
            ),
            GroupNotice(
                group,
                incident,
                members,
                muted,
                entries.get((group.key, name), {}),
                settings,
                now,
                oncall,
            ),
        )
        via = tuple(kind for kind, _, _ in receiver.integrations)
        outgoing.log_entries += [
            _log_entry(
                group.key, name, registry.integration_id(kind, index), members, now, incident_id
            )
            for kind, index, _ in receiver.integrations
        ]
        outgoing.write(db, conn, now)
        detail = {
            "user": user,
            "schedule": schedule,
            "via": list(via),
            "policy": step.get("policy"),
            "step": step.get("step"),
        }
        events.append(_event(incident, now, PAGED, detail))
        activity.append(
            {
                "user_name": user,
                "incident_id": incident_id,
                "kind": PAGED,
                "at": now,
                "schedule": schedule,
                "response_ms": None,
                "detail": {
                    "via": list(via),
                    "policy": step.get("policy"),
                    "step": step.get("step"),
                },
            }
        )
        pages.append(Page(user, schedule, via, queued))
    timeline.append(db, conn, events)
    if activity:
        conn.execute(sa.insert(person_activity), activity)
    return pages


def record_acknowledgement(
    conn: sa.Connection, incident_id: int, user: str, now: int
) -> int | None:
    """Counts an acknowledgement by a configured user; returns the time since they were last
    paged for the incident (None if they were not)."""
    t = person_activity.c
    paged_at = conn.execute(
        sa.select(sa.func.max(t.at)).where(
            t.incident_id == incident_id, t.user_name == user, t.kind == PAGED, t.at <= now
        )
    ).scalar()
    response_ms = now - int(paged_at) if paged_at is not None else None
    conn.execute(
        sa.insert(person_activity).values(
            user_name=user,
            incident_id=incident_id,
            kind=ACKNOWLEDGED,
            at=now,
            schedule=None,
            response_ms=response_ms,
            detail={},
        )
    )
    return response_ms


def paged_receivers_of(conn: sa.Connection, incident_ids: Sequence[int]) -> dict[int, list[str]]:
    """The receivers of everyone paged about each of these incidents (one query)."""
    if not incident_ids:
        return {}
    t = person_activity.c
    rows = conn.execute(
        sa.select(t.incident_id, t.user_name)
        .where(t.incident_id.in_(incident_ids), t.kind == PAGED)
        .group_by(t.incident_id, t.user_name)
        .order_by(t.incident_id, sa.func.min(t.at), t.user_name)
    ).all()
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(int(row.incident_id), []).append(person_receiver_name(row.user_name))
    return found


def tell_paged_resolved(
    db: Database,
    conn: sa.Connection,
    resolved: Sequence[Mapping[str, Any]],
    settings_of: Callable[[str], NotifySettings],
    now: int,
) -> int:
    """Tells everyone paged about these incidents, which their alerts just resolved, on the
    messages they were sent (their Slack DMs are updated: no more buttons)."""
    by_id = {int(row["id"]): row for row in resolved}
    queued = 0
    for incident_id, receivers in paged_receivers_of(conn, list(by_id)).items():
        for receiver in receivers:
            change = Announcement(
                reason=NotifyReason.ALL_RESOLVED, actor=ALERT_SOURCE, source=ALERT_SOURCE
            )
            queued += announce_change(
                db, conn, by_id[incident_id], change, settings_of(receiver), now
            )
    return queued


def _log_entry(
    group_key: str,
    receiver: str,
    integration: str,
    members: Sequence[Any],
    now: int,
    incident_id: int,
) -> dict[str, Any]:
    return {
        "group_key": group_key,
        "receiver": receiver,
        "integration": integration,
        "firing": sorted(m.fingerprint for m in members if m.firing),
        "resolved": [],
        "notified_at": now,
        "incident_id": incident_id,
    }


def _event(
    incident: Mapping[str, Any], now: int, kind: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return event_row(int(incident["id"]), now, kind, detail, actor=SYSTEM_ACTOR, source=SOURCE)
