"""Persisting incoming alerts: the write half of ingest, run once per group-commit batch.

Idempotent and order-proof by construction: the alert upsert only applies an update that is
newer (a later `startsAt`, i.e. a new occurrence) or that resolves the stored occurrence; anything
else changes nothing, whichever replica or retry delivers it. Only real changes make groups due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.groups import GroupRef
from alertrouter.ingest.alert_statements import statements_for
from alertrouter.ingest.values import FiringAlert, RoutedAlert, WriteResult, newer
from alertrouter.ingest.wire import IncomingAlert
from alertrouter.storage.database import Database
from alertrouter.storage.statements import SerializedDict
from alertrouter.storage.tables import alerts


def serialized_ahead(routed: Sequence[RoutedAlert]) -> list[RoutedAlert]:
    """The alerts with their labels and annotations in JSON already: for a thread to prepare
    a large body's write (see SerializedDict)."""
    return [
        replace(
            r,
            alert=replace(
                r.alert,
                labels=SerializedDict(r.alert.labels),
                annotations=SerializedDict(r.alert.annotations),
            ),
        )
        for r in routed
    ]


def _merge(batch: Iterable[RoutedAlert]) -> dict[str, RoutedAlert]:
    """One entry per fingerprint: the one that wins under `newer` (statements must not touch a
    row twice, and duplicates from an HA pair are common)."""
    merged: dict[str, RoutedAlert] = {}
    for routed in batch:
        current = merged.get(routed.alert.fingerprint)
        if current is None or newer(routed.alert, current.alert):
            merged[routed.alert.fingerprint] = routed
    return merged


def _occurrences(batch: Iterable[RoutedAlert]) -> dict[tuple[str, int], int | None]:
    ends: dict[tuple[str, int], int | None] = {}
    for routed in batch:
        alert = routed.alert
        key = (alert.fingerprint, alert.starts_at)
        if ends.get(key) is None:
            ends[key] = alert.ends_at
    return ends


def write_alerts(
    db: Database, conn: sa.Connection, batch: Sequence[RoutedAlert], now: int
) -> WriteResult:
    """Stores one batch. Alerts that change nothing (re-deliveries, HA duplicates, stale
    updates) cost one conditional upsert and nothing else."""
    merged = _merge(batch)
    if not merged:
        return WriteResult(None)
    statements = statements_for(db)
    fingerprints = sorted(merged)  # a fixed order keeps concurrent writers free of deadlocks
    result = statements.upsert_alerts.fetch(
        conn, [_alert_row(merged[fp].alert, now) for fp in fingerprints]
    )
    ids = {row[1]: row[0] for row in result}  # the alerts this batch changed
    deadlines = [
        {"fp": fp, "start": alert.starts_at, "expires": alert.expires_at}
        for fp in fingerprints
        if fp not in ids and (alert := merged[fp].alert).expires_at is not None
    ]
    if not ids or statements.record is None:
        statements.extend.run_many(conn, deadlines)
    if not ids:
        return WriteResult(None)
    changed = sorted(ids)
    new = {row[1] for row in result if len(row) > 2 and row[2]}  # known on PostgreSQL only

    statements.close_superseded.run_many(
        conn,
        [
            {"alert": ids[fp], "start": merged[fp].alert.starts_at}
            for fp in changed
            if fp not in new
        ],
    )
    occurrences = [
        {"alert_id": ids[fp], "starts_at": start, "ends_at": end, "new": fp in new}
        for (fp, start), end in sorted(_occurrences(batch).items())
        if fp in ids
    ]
    routed = [(ids[fp], merged[fp]) for fp in changed]
    if statements.record is None:
        statements.upsert_occurrences.run_many(conn, occurrences)
        return WriteResult(min(attach_to_groups(db, conn, routed, now), default=None))
    new_ids = {ids[fp] for fp in new}
    refs = {ref.key: ref for _, r in routed for ref in r.groups}
    record = statements.record_extending if deadlines else statements.record
    assert record is not None
    sets: dict[str, list[dict[str, object]]] = {
        "occurrence": occurrences,
        "group": [_group_row(refs[key], now) for key in sorted(refs)],
        "member": [
            {"group_key": key, "alert_id": i, "new": i in new_ids}
            for key, i in _memberships(routed)
        ],
    }
    if deadlines:
        sets["extend"] = deadlines
    ((due, *_counts),) = record.fetch(conn, sets)
    return WriteResult(due)


def attach_to_groups(
    db: Database, conn: sa.Connection, routed: Sequence[tuple[int, RoutedAlert]], now: int
) -> list[int]:
    """Makes the alerts' groups exist and due, and the alerts (id, routed) their members;
    returns the due times. Also used to re-route firing alerts after a reload changed the
    routing tree."""
    statements = statements_for(db)
    refs = {ref.key: ref for _, r in routed for ref in r.groups}
    if not refs:
        return []
    result = statements.upsert_groups.fetch(
        conn, [_group_row(refs[key], now) for key in sorted(refs)]
    )
    due_times = [row[0] for row in result if row[0] is not None]
    statements.attach.run_many(
        conn, [{"group_key": key, "alert_id": i} for key, i in _memberships(routed)]
    )
    return due_times


def _memberships(routed: Sequence[tuple[int, RoutedAlert]]) -> list[tuple[str, int]]:
    """(group key, alert id) of each alert in each of its groups, sorted."""
    return sorted({(ref.key, alert_id) for alert_id, r in routed for ref in r.groups})


def _alert_row(alert: IncomingAlert, now: int) -> dict[str, object]:
    return {
        "fingerprint": alert.fingerprint,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "generator_url": alert.generator_url,
        "severity": int(alert.severity),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "updated_at": now,
        "expires_at": alert.expires_at,
    }


def _group_row(ref: GroupRef, now: int) -> dict[str, object]:
    return {
        "key": ref.key,
        "route_key": ref.route_key,
        "receiver": ref.receiver,
        "labels": ref.labels,
        "created_at": now,
        "due_at": now + ref.group_wait_ms,
        "group_wait_ms": ref.group_wait_ms,
        "group_interval_ms": ref.group_interval_ms,
        "repeat_interval_ms": ref.repeat_interval_ms,
    }


async def firing_alerts(
    conn: AsyncConnection, *, after: int = 0, limit: int | None = None
) -> list[FiringAlert]:
    """Firing alerts in id order, those with an id above `after` (for paging through all)."""
    query = (
        sa.select(alerts.c.id, alerts.c.fingerprint, alerts.c.labels, alerts.c.starts_at)
        .where(alerts.c.ends_at.is_(None), alerts.c.id > after)
        .order_by(alerts.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        FiringAlert(r.id, r.fingerprint, r.labels, r.starts_at) for r in await conn.execute(query)
    ]
