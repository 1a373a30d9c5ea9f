"""Incidents in the database: applying a flush plan, and reading incidents back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core import Severity
from alertrouter.incidents.lifecycle import KnownAlert, OpenIncident, Plan
from alertrouter.state import timeline
from alertrouter.state.groups import GroupRow
from alertrouter.storage import (
    Database,
    DriverStatement,
    alert_occurrences,
    alerts,
    incident_alerts,
    incidents,
    timeline_events,
)

SYSTEM_ACTOR = "alertrouter"
ALERT_SOURCE = "alertmanager"


def load_open(
    conn: sa.Connection, group_key: str
) -> tuple[OpenIncident | None, dict[str, KnownAlert]]:
    row = (
        conn.execute(
            sa.select(incidents.c.id, incidents.c.severity).where(
                incidents.c.group_key == group_key, incidents.c.resolved_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None, {}
    result = conn.execute(
        sa.select(
            incident_alerts.c.fingerprint, incident_alerts.c.state, incident_alerts.c.muted_by
        ).where(incident_alerts.c.incident_id == row.id)
    )
    known = {r.fingerprint: KnownAlert(r.state, r.muted_by) for r in result}
    return OpenIncident(row.id, Severity(row.severity)), known


def apply_plan(
    db: Database, conn: sa.Connection, group: GroupRow, plan: Plan, now: int
) -> int | None:
    """Writes the plan; returns the incident id it touched (None when there was nothing)."""
    if plan.open:
        assert plan.severity is not None
        result = conn.execute(
            sa.insert(incidents)
            .values(
                group_key=group.key,
                route_key=group.route_key,
                receiver=group.receiver,
                title=plan.title,
                severity=int(plan.severity),
                status="triggered",
                group_labels=group.labels,
                opened_at=now,
                updated_at=now,
            )
            .returning(incidents.c.id)
        )
        incident_id = int(result.scalar_one())
    elif plan.incident is not None:
        incident_id = plan.incident.id
        if not plan.changes_anything:
            return incident_id
        values: dict[str, Any] = {"updated_at": now}
        if plan.severity is not None:
            values["severity"] = int(plan.severity)
        if plan.resolve:
            values.update(status="resolved", resolved_at=now, resolved_by=SYSTEM_ACTOR)
        conn.execute(sa.update(incidents).where(incidents.c.id == incident_id).values(values))
    else:
        return None

    if plan.alert_states:
        db.cached("incidents.upsert_members", lambda: _upsert_members(db)).run_many(
            conn,
            [
                {
                    "incident_id": incident_id,
                    "fingerprint": fp,
                    "state": s.state,
                    "muted_by": s.muted_by,
                    "first_seen_at": now,
                    "updated_at": now,
                }
                for fp, s in sorted(plan.alert_states.items())
            ],
        )
    if plan.events:
        add_events(
            db,
            conn,
            incident_id,
            now,
            [(e.kind, e.detail) for e in plan.events],
            actor=SYSTEM_ACTOR,
            source=ALERT_SOURCE,
        )
    return incident_id


def _upsert_members(db: Database) -> DriverStatement:
    keys = ("incident_id", "fingerprint", "state", "muted_by", "first_seen_at", "updated_at")
    insert = db.insert(incident_alerts).values(timeline.bound(incident_alerts, keys))
    return DriverStatement(
        insert.on_conflict_do_update(
            index_elements=[incident_alerts.c.incident_id, incident_alerts.c.fingerprint],
            set_={
                "state": insert.excluded.state,
                "muted_by": insert.excluded.muted_by,
                "updated_at": insert.excluded.updated_at,
            },
        ),
        db.dialect,
    )


def add_events(
    db: Database,
    conn: sa.Connection,
    incident_id: int,
    now: int,
    events: list[tuple[str, dict[str, object]]],
    *,
    actor: str,
    source: str,
) -> None:
    timeline.append(
        db,
        conn,
        [
            {
                "incident_id": incident_id,
                "at": now,
                "kind": kind,
                "actor": actor,
                "source": source,
                "detail": detail,
            }
            for kind, detail in events
        ],
    )


async def count_open_by_severity(conn: AsyncConnection) -> dict[Severity, int]:
    result = await conn.execute(
        sa.select(incidents.c.severity, sa.func.count())
        .where(incidents.c.resolved_at.is_(None))
        .group_by(incidents.c.severity)
    )
    counts = {level: 0 for level in Severity}
    counts.update({Severity(severity): int(n) for severity, n in result})
    return counts


async def list_incidents(
    conn: AsyncConnection, *, limit: int, before_id: int | None = None
) -> list[dict[str, Any]]:
    query = sa.select(incidents).order_by(incidents.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(incidents.c.id < before_id)
    return [dict(row._mapping) for row in await conn.execute(query)]


async def get_incident(conn: AsyncConnection, incident_id: int) -> dict[str, Any] | None:
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
    return incident
