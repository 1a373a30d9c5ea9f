"""Incidents in the database: applying a flush plan, and reading incidents back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.groups import GroupRow
from alertrouter.core.values import Severity
from alertrouter.delivery import deliveries
from alertrouter.incidents.lifecycle import KnownAlert, OpenIncident, Plan
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.statements import MultiRowInsert, RowsStatement, per_row, rows_insert
from alertrouter.storage.tables import (
    alert_occurrences,
    alerts,
    incident_alerts,
    incidents,
    timeline_events,
)

SYSTEM_ACTOR = "alertrouter"
NOTIFICATIONS_SHOWN = 200
ALERT_SOURCE = "alertmanager"


@dataclass(frozen=True, slots=True)
class Current:
    """A group's open incident as a flush finds it."""

    incident: OpenIncident
    known: dict[str, KnownAlert]
    row: dict[str, Any]  # the incidents row


def load_open(conn: sa.Connection, group_keys: Sequence[str]) -> dict[str, Current]:
    """The open incident of each group that has one."""
    rows = {
        row.id: dict(row._mapping)
        for row in conn.execute(
            sa.select(incidents).where(
                incidents.c.group_key.in_(group_keys), incidents.c.resolved_at.is_(None)
            )
        )
    }
    if not rows:
        return {}
    known: dict[int, dict[str, KnownAlert]] = {incident_id: {} for incident_id in rows}
    for r in conn.execute(
        sa.select(
            incident_alerts.c.incident_id,
            incident_alerts.c.fingerprint,
            incident_alerts.c.state,
            incident_alerts.c.muted_by,
        ).where(incident_alerts.c.incident_id.in_(rows))
    ):
        known[r.incident_id][r.fingerprint] = KnownAlert(r.state, r.muted_by)
    return {
        row["group_key"]: Current(
            OpenIncident(incident_id, Severity(row["severity"]), row["status"] == "acknowledged"),
            known[incident_id],
            row,
        )
        for incident_id, row in rows.items()
    }


@dataclass(frozen=True, slots=True)
class ManualResolution:
    """A group's last incident, resolved by a person while alerts may still have been firing."""

    incident_id: int
    resolved_at: int
    resolved_by: str
    fingerprints: frozenset[str]

    def holds(self, fingerprint: str, changed_at: int, now: int, repeat_interval_ms: int) -> bool:
        """Whether this alert is kept from opening a new incident: it was part of the resolved
        incident, has not fired anew since (`changed_at`: when we last stored a change of it,
        by our clock, not the sender's startsAt), and repeat_interval has not passed."""
        return (
            fingerprint in self.fingerprints
            and changed_at <= self.resolved_at
            and now < self.resolved_at + repeat_interval_ms
        )


def manual_resolutions(
    conn: sa.Connection, group_keys: Sequence[str], since: int
) -> dict[str, ManualResolution]:
    """Per group, its latest incident resolved by a person after `since`."""
    if not group_keys:
        return {}
    latest: dict[str, Any] = {}
    for row in conn.execute(
        sa.select(
            incidents.c.id, incidents.c.group_key, incidents.c.resolved_at, incidents.c.resolved_by
        )
        .where(
            incidents.c.group_key.in_(group_keys),
            incidents.c.resolved_at > since,
            incidents.c.resolved_via.is_not(None),
            incidents.c.resolved_via != ALERT_SOURCE,
        )
        .order_by(incidents.c.resolved_at)
    ):
        latest[row.group_key] = row
    if not latest:
        return {}
    members: dict[int, set[str]] = {row.id: set() for row in latest.values()}
    for incident_id, fingerprint in conn.execute(
        sa.select(incident_alerts.c.incident_id, incident_alerts.c.fingerprint).where(
            incident_alerts.c.incident_id.in_(members)
        )
    ):
        members[incident_id].add(fingerprint)
    return {
        key: ManualResolution(row.id, row.resolved_at, row.resolved_by, frozenset(members[row.id]))
        for key, row in latest.items()
    }


def apply_plans(
    db: Database,
    conn: sa.Connection,
    planned: Sequence[tuple[GroupRow, Plan, Current | None]],
    now: int,
) -> list[dict[str, Any] | None]:
    """Writes the plans of one flush batch, a few statements for all of them; returns, per
    plan, the incidents row as it now stands (None when there was no incident)."""
    statements = db.cached("incidents.flush", lambda: _PlanStatements(db))
    opened = [_opened_row(group, plan, now) for group, plan, _ in planned if plan.open]
    ids = {
        group_key: int(incident_id)
        for incident_id, group_key in statements.open.fetch(conn, opened)
    }
    opened_rows = iter(opened)
    after: list[dict[str, Any] | None] = []
    updates: list[dict[str, Any]] = []
    resolves: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for group, plan, current in planned:
        if plan.open:
            row = {"id": ids[group.key], **next(opened_rows)}
        elif plan.incident is not None and current is not None:
            row = dict(current.row)
            if plan.changes_anything:
                row["updated_at"] = now
                if plan.severity is not None:
                    row["severity"] = int(plan.severity)
                if plan.resolve:
                    row.update(
                        status="resolved",
                        resolved_at=now,
                        resolved_by=SYSTEM_ACTOR,
                        resolved_via=ALERT_SOURCE,
                    )
                    resolves.append(row)
                else:
                    if plan.retrigger:
                        row.update(
                            status="triggered",
                            acknowledged_at=None,
                            acknowledged_by=None,
                            acknowledged_via=None,
                        )
                    updates.append(row)
        else:
            after.append(None)
            continue
        after.append(row)
        if not plan.changes_anything:
            continue
        members += [
            {
                "incident_id": row["id"],
                "fingerprint": fp,
                "state": s.state,
                "muted_by": s.muted_by,
                "first_seen_at": now,
                "updated_at": now,
            }
            for fp, s in sorted(plan.alert_states.items())
        ]
        events += [
            event_row(row["id"], now, e.kind, e.detail, actor=SYSTEM_ACTOR, source=ALERT_SOURCE)
            for e in plan.events
        ]
    statements.update.run_many(conn, updates)
    statements.resolve.run_many(conn, resolves)
    statements.upsert_members.run_many(conn, members)
    timeline.append(db, conn, events)
    return after


def _opened_row(group: GroupRow, plan: Plan, now: int) -> dict[str, Any]:
    assert plan.severity is not None
    return {
        "group_key": group.key,
        "route_key": group.route_key,
        "receiver": group.receiver,
        "title": plan.title,
        "severity": int(plan.severity),
        "status": "triggered",
        "group_labels": group.labels,
        "opened_at": now,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "updated_at": now,
        "acknowledged_via": None,
        "resolved_via": None,
    }


def group_of(incident: Mapping[str, Any]) -> GroupRow:
    """The incident's group as templates see it, for changes announced outside a flush (its
    timings are not needed there, and the group may have been re-routed since)."""
    return GroupRow(
        key=incident["group_key"],
        route_key=incident["route_key"],
        receiver=incident["receiver"],
        labels=incident["group_labels"],
        group_interval_ms=0,
        repeat_interval_ms=0,
    )


class _PlanStatements:
    def __init__(self, db: Database) -> None:
        def insert_incidents(values: list[dict[str, Any]]) -> sa.Executable:
            return (
                sa.insert(incidents).values(values).returning(incidents.c.id, incidents.c.group_key)
            )

        self.open = MultiRowInsert(incidents, OPEN_KEYS, insert_incidents, db.dialect)

        def changing(*keys: str) -> Any:
            def build(value: Mapping[str, Any]) -> Any:
                return sa.update(incidents).values({key: value[key] for key in keys})

            columns = {"id": incidents.c.id.type} | {key: incidents.c[key].type for key in keys}
            return per_row(build, columns, db.dialect, match={"id": incidents.c.id})

        self.update = changing(
            "severity", "status", "acknowledged_at", "acknowledged_by", "acknowledged_via",
            "updated_at",
        )  # fmt: skip
        self.resolve = changing(
            "severity", "status", "resolved_at", "resolved_by", "resolved_via", "updated_at"
        )
        self.upsert_members = _upsert_members(db)


OPEN_KEYS = (
    "group_key", "route_key", "receiver", "title", "severity", "status", "group_labels",
    "opened_at", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "updated_at",
    "acknowledged_via", "resolved_via",
)  # fmt: skip


def _upsert_members(db: Database) -> RowsStatement:
    keys = ("incident_id", "fingerprint", "state", "muted_by", "first_seen_at", "updated_at")

    def build(insert: Any) -> sa.Executable:
        return insert.on_conflict_do_update(
            index_elements=[incident_alerts.c.incident_id, incident_alerts.c.fingerprint],
            set_={
                "state": insert.excluded.state,
                "muted_by": insert.excluded.muted_by,
                "updated_at": insert.excluded.updated_at,
            },
        )

    return rows_insert(incident_alerts, keys, build, db.dialect, db.insert)


def event_row(
    incident_id: int, now: int, kind: str, detail: dict[str, object], *, actor: str, source: str
) -> dict[str, Any]:
    """A timeline event (see storage.timeline.append)."""
    return {
        "incident_id": incident_id,
        "at": now,
        "kind": kind,
        "actor": actor,
        "source": source,
        "detail": detail,
    }


async def count_open_by_severity(conn: AsyncConnection) -> dict[Severity, int]:
    result = await conn.execute(
        sa.select(incidents.c.severity, sa.func.count())
        .where(incidents.c.resolved_at.is_(None))
        .group_by(incidents.c.severity)
    )
    counts = {level: 0 for level in Severity}
    counts.update({Severity(severity): int(n) for severity, n in result})
    return counts


async def get_incident(conn: AsyncConnection, incident_id: int) -> dict[str, Any] | None:
    """The incident with its alerts (and their occurrences), timeline and latest
    NOTIFICATIONS_SHOWN notifications."""
    row = (await conn.execute(sa.select(incidents).where(incidents.c.id == incident_id))).first()
    if row is None:
        return None
    incident = dict(row._mapping)
    members = await conn.execute(
        sa.select(
            incident_alerts,
            alerts.c.labels,
            alerts.c.annotations,
            alerts.c.severity,
            alerts.c.generator_url,
        )
        .join(alerts, alerts.c.fingerprint == incident_alerts.c.fingerprint)
        .where(incident_alerts.c.incident_id == incident_id)
        .order_by(incident_alerts.c.first_seen_at, incident_alerts.c.fingerprint)
    )
    incident["alerts"] = [dict(r._mapping) for r in members]
    fingerprints = [a["fingerprint"] for a in incident["alerts"]]
    occurrences = await conn.execute(
        sa.select(alerts.c.fingerprint, alert_occurrences.c.starts_at, alert_occurrences.c.ends_at)
        .join(alerts, alerts.c.id == alert_occurrences.c.alert_id)
        .where(alerts.c.fingerprint.in_(fingerprints))
        .order_by(alert_occurrences.c.starts_at)
    )
    by_fp: dict[str, list[dict[str, Any]]] = {}
    for occurrence in occurrences:
        by_fp.setdefault(occurrence.fingerprint, []).append(
            {"startsAt": occurrence.starts_at, "endsAt": occurrence.ends_at}
        )
    for alert in incident["alerts"]:
        alert["occurrences"] = by_fp.get(alert["fingerprint"], [])
    timeline = await conn.execute(
        sa.select(timeline_events)
        .where(timeline_events.c.incident_id == incident_id)
        .order_by(timeline_events.c.at, timeline_events.c.id)
    )
    incident["timeline"] = [dict(r._mapping) for r in timeline]
    latest = await deliveries.list_deliveries(
        conn, limit=NOTIFICATIONS_SHOWN, incident_id=incident_id
    )
    incident["notifications"] = latest[::-1]  # oldest first, like the timeline
    return incident
