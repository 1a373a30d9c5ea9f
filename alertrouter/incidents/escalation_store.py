"""Escalation steps in the database: each escalating incident has one pending row, its next
step with its due time. Opening (or re-triggering, un-acknowledging) an incident writes it;
acknowledging, resolving or silencing cancels it; the scheduler fires due rows.

Firing locks the row (`FOR UPDATE SKIP LOCKED` on PostgreSQL), announces the step to its
receiver through the outbox, puts it on the timeline, marks it fired and writes the next step,
all in one transaction: a step is never lost or fired twice, across restarts and replicas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.core.durations import human_duration
from alertrouter.core.reasons import NotifyReason
from alertrouter.core.values import Severity
from alertrouter.incidents import paging
from alertrouter.incidents.announce import announce_change
from alertrouter.incidents.escalation import NO_RECEIVER, Due, Policies, first, following
from alertrouter.incidents.members import incident_members
from alertrouter.incidents.store import SYSTEM_ACTOR, event_row
from alertrouter.notify.compose import Announcement
from alertrouter.notify.settings import NotifySettings
from alertrouter.people.roster import Roster
from alertrouter.people.roster import person_view as roster_view
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.tables import escalations, incidents

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"
MUTED_RECHECK_MS = 30_000
SOURCE = "escalation"


def start(
    db: Database,
    conn: sa.Connection,
    incidents_rows: Sequence[Mapping[str, Any]],
    policies: Policies,
    now: int,
) -> None:
    """(Re)starts escalation of these incidents from their policy's first step."""
    cancel(db, conn, [int(i["id"]) for i in incidents_rows], now)
    rows = []
    for incident in incidents_rows:
        policy = policies.for_incident(incident["route_key"], Severity(incident["severity"]))
        due = first(policy, incident["receiver"], now) if policy is not None else None
        if due is not None:
            rows.append(_row(int(incident["id"]), due, now))
    if rows:
        conn.execute(sa.insert(escalations), rows)


def cancel(db: Database, conn: sa.Connection, incident_ids: Sequence[int], now: int) -> None:
    if incident_ids:
        conn.execute(
            sa.update(escalations)
            .where(escalations.c.incident_id.in_(incident_ids), escalations.c.status == PENDING)
            .values(status=CANCELLED, updated_at=now)
        )


@dataclass(frozen=True, slots=True)
class Fired:
    incident_id: int
    severity: Severity
    step: int
    receiver: str  # NO_RECEIVER for a step that pages people only
    queued: int
    paged: tuple[paging.Page, ...] = ()


def fire_due(
    db: Database,
    conn: sa.Connection,
    policies: Policies,
    settings_of: Callable[[str], NotifySettings],
    now: int,
    *,
    roster: Roster | None = None,
    limit: int = 50,
    is_muted: Callable[[Mapping[str, str]], bool] = lambda labels: False,
) -> list[Fired]:
    """Fires the steps due at `now` (up to `limit`); returns what it fired. A step of an
    incident whose firing alerts are all muted now (`is_muted`: silenced or inhibited) is held,
    checked again every MUTED_RECHECK_MS, and fires once an alert is no longer muted: a silence
    taken out during maintenance escalates to nobody."""
    due_rows = conn.execute(
        db.for_update(
            sa.select(escalations)
            .where(escalations.c.status == PENDING, escalations.c.due_at <= now)
            .order_by(escalations.c.due_at, escalations.c.id)
            .limit(limit),
            skip_locked=True,
        )
    ).all()
    fired: list[Fired] = []
    for row in due_rows:
        incident_row = conn.execute(
            sa.select(incidents).where(incidents.c.id == row.incident_id)
        ).first()
        if incident_row is None or incident_row.status != "triggered":
            _set_status(conn, row.id, CANCELLED, now)
            continue
        if _every_firing_alert_muted(conn, row.incident_id, is_muted):
            conn.execute(
                sa.update(escalations)
                .where(escalations.c.id == row.id)
                .values(due_at=now + MUTED_RECHECK_MS)
            )
            continue
        incident = dict(incident_row._mapping)
        due = Due(row.policy, row.step, row.iteration, row.receiver, row.due_at)
        step = escalation_step(due, unacknowledged_ms=now - _chain_start(conn, row, incident))
        severity = Severity(incident["severity"])
        targets = policies.targets(due, incident["route_key"], severity)
        paged = (
            paging.page(db, conn, incident, step, targets, roster, settings_of, now)
            if roster is not None and (targets.schedule or targets.users)
            else []
        )
        queued = sum(p.queued for p in paged)
        if row.receiver != NO_RECEIVER:
            announced = {**step, "paged": [roster_view(roster, p.user) for p in paged]}
            queued += _announce(db, conn, incident, announced, settings_of(row.receiver), now)
        timeline.append(
            db,
            conn,
            [
                event_row(
                    row.incident_id,
                    now,
                    "escalated",
                    {
                        "policy": step["policy"],
                        "step": step["step"],
                        "iteration": row.iteration,
                        "receiver": None if row.receiver == NO_RECEIVER else row.receiver,
                        "schedule": targets.schedule,
                        "paged": [p.user for p in paged],
                        "unacknowledged_for": step["unacknowledged_for"],
                        "unacknowledged_ms": step["unacknowledged_ms"],
                    },
                    actor=SYSTEM_ACTOR,
                    source=SOURCE,
                )
            ],
        )
        _set_status(conn, row.id, FIRED, now)
        policy = policies.named(row.policy, Severity(incident["severity"]))
        upcoming = following(policy, due, incident["receiver"], now) if policy else None
        if upcoming is not None:
            conn.execute(sa.insert(escalations).values(_row(row.incident_id, upcoming, now)))
        fired.append(Fired(row.incident_id, severity, row.step, row.receiver, queued, tuple(paged)))
    return fired


def next_due(conn: sa.Connection) -> int | None:
    return conn.execute(
        sa.select(sa.func.min(escalations.c.due_at)).where(escalations.c.status == PENDING)
    ).scalar()


def escalation_step(due: Due, *, unacknowledged_ms: int) -> dict[str, Any]:
    """What messages and the timeline say about a step: the template data's
    `action.escalation`."""
    return {
        "policy": due.policy or "default",
        "step": due.step + 1,
        "repetition": due.iteration,
        "receiver": due.receiver,
        "unacknowledged_for": human_duration(unacknowledged_ms / 1000),
        "unacknowledged_ms": unacknowledged_ms,
    }


def _chain_start(conn: sa.Connection, row: Any, incident: Mapping[str, Any]) -> int:
    """When the incident last became unacknowledged: the start of its current escalation (the
    first step's row, written when it opened, was re-triggered or un-acknowledged)."""
    started = conn.execute(
        sa.select(sa.func.max(escalations.c.created_at)).where(
            escalations.c.incident_id == row.incident_id,
            escalations.c.step == 0,
            escalations.c.iteration == 0,
            escalations.c.created_at <= row.created_at,
        )
    ).scalar()
    return int(started if started is not None else incident["opened_at"])


def _every_firing_alert_muted(
    conn: sa.Connection, incident_id: int, is_muted: Callable[[Mapping[str, str]], bool]
) -> bool:
    firing = [m.labels for m in incident_members(conn, incident_id) if m.firing]
    return bool(firing) and all(is_muted(labels) for labels in firing)


def _announce(
    db: Database,
    conn: sa.Connection,
    incident: Mapping[str, Any],
    step: Mapping[str, Any],
    settings: NotifySettings,
    now: int,
) -> int:
    change = Announcement(
        reason=NotifyReason.ESCALATED,
        actor=SYSTEM_ACTOR,
        source=SOURCE,
        announced_only=False,
        escalation=step,
    )
    return announce_change(db, conn, incident, change, settings, now)


def _set_status(conn: sa.Connection, row_id: int, status: str, now: int) -> None:
    conn.execute(
        sa.update(escalations)
        .where(escalations.c.id == row_id)
        .values(status=status, updated_at=now)
    )


def _row(incident_id: int, due: Due, now: int) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "policy": due.policy,
        "step": due.step,
        "iteration": due.iteration,
        "receiver": due.receiver,
        "due_at": due.due_at,
        "status": PENDING,
        "created_at": now,
        "updated_at": now,
    }
