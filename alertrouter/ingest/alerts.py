"""Persisting incoming alerts: the write half of ingest, run once per group-commit batch.

Idempotent and order-proof by construction: the alert upsert only applies an update that is
newer (a later `startsAt`, i.e. a new occurrence) or that resolves the stored occurrence; anything
else changes nothing, whichever replica or retry delivers it. Only real changes make groups due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.groups import GroupRef
from alertrouter.ingest.values import FiringAlert, RoutedAlert, WriteResult, newer
from alertrouter.ingest.wire import IncomingAlert
from alertrouter.storage.database import Database
from alertrouter.storage.statements import (
    ColumnArrays,
    ColumnArraySets,
    DriverStatement,
    MultiRowInsert,
    RowsStatement,
    SerializedDict,
)
from alertrouter.storage.tables import Id, Millis, alert_occurrences, alerts, group_alerts, groups


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


ALERT_KEYS = (
    "fingerprint",
    "labels",
    "annotations",
    "generator_url",
    "severity",
    "starts_at",
    "ends_at",
    "updated_at",
    "expires_at",
)
GROUP_KEYS = (
    "key",
    "route_key",
    "receiver",
    "labels",
    "created_at",
    "due_at",
    "group_wait_ms",
    "group_interval_ms",
    "repeat_interval_ms",
)


ATTACH_KEYS = ("group_key", "alert_id")


class _Statements:
    """The write path's statements, compiled once per database and run on the driver's cursor
    (see DriverStatement: on SQLite, SQLAlchemy's per-statement work would cost more than the
    statements themselves). On PostgreSQL each statement takes the batch's rows as column
    arrays (ColumnArrays): one execution per statement, not one per row, and a round trip
    each."""

    def __init__(self, db: Database) -> None:
        dialect = db.dialect
        occurrence_keys = ("alert_id", "starts_at", "ends_at")
        if db.is_sqlite:
            self.upsert_alerts: RowsStatement = MultiRowInsert(
                alerts,
                ALERT_KEYS,
                lambda values: _upsert_alerts(db.insert(alerts).values(values)),
                dialect,
            )
            self.close_superseded: RowsStatement = DriverStatement(
                _close_superseded(sa.bindparam("alert"), sa.bindparam("start")), dialect
            )
            self.upsert_occurrences: RowsStatement = DriverStatement(
                _upsert_occurrences(
                    db.insert(alert_occurrences).values(
                        {key: sa.bindparam(key) for key in occurrence_keys}
                    )
                ),
                dialect,
            )
            self.upsert_groups: RowsStatement = MultiRowInsert(
                groups,
                GROUP_KEYS,
                lambda values: _upsert_groups(db.insert(groups).values(values)),
                dialect,
            )
            self.attach: RowsStatement = DriverStatement(
                _attach(
                    db.insert(group_alerts).values(
                        group_key=sa.bindparam("group_key"), alert_id=sa.bindparam("alert_id")
                    )
                ),
                dialect,
            )
            self.record: ColumnArraySets | None = None
            self.extend: RowsStatement = DriverStatement(
                _extend(sa.bindparam("fp"), sa.bindparam("start"), sa.bindparam("expires")),
                dialect,
            )
            return

        def closing(rows: sa.Select[Any]) -> sa.Executable:
            superseding = rows.subquery()
            return _close_superseded(superseding.c.alert, superseding.c.start)

        # Which rows the upsert inserted (xmax = 0): a new alert has no occurrence to close.
        inserted = sa.literal_column("xmax = 0")
        self.upsert_alerts = ColumnArrays(
            _types(alerts, ALERT_KEYS),
            lambda rows: _upsert_alerts(db.insert(alerts).from_select(ALERT_KEYS, rows)).returning(
                inserted
            ),
            dialect,
        )
        self.close_superseded = ColumnArrays(
            {"alert": Id, "start": Millis},
            closing,
            dialect,
            narrow={"alert": alert_occurrences.c.alert_id},
        )
        self.upsert_occurrences = ColumnArrays(
            _types(alert_occurrences, occurrence_keys),
            lambda rows: _upsert_occurrences(
                db.insert(alert_occurrences).from_select(occurrence_keys, rows)
            ),
            dialect,
        )
        self.record = ColumnArraySets(
            {
                "occurrence": {**_types(alert_occurrences, occurrence_keys), "new": sa.Boolean()},
                "group": _types(groups, GROUP_KEYS),
                "member": {**_types(group_alerts, ATTACH_KEYS), "new": sa.Boolean()},
            },
            lambda rows: _record(db, rows),
            dialect,
        )
        self.upsert_groups = ColumnArrays(
            _types(groups, GROUP_KEYS),
            lambda rows: _upsert_groups(db.insert(groups).from_select(GROUP_KEYS, rows)),
            dialect,
        )
        self.attach = ColumnArrays(
            _types(group_alerts, ATTACH_KEYS),
            lambda rows: _attach(db.insert(group_alerts).from_select(ATTACH_KEYS, rows)),
            dialect,
        )

        def extending(rows: sa.Select[Any]) -> sa.Executable:
            extended = rows.subquery()
            return _extend(extended.c.fp, extended.c.start, extended.c.expires)

        self.extend = ColumnArrays(
            {"fp": alerts.c.fingerprint.type, "start": Millis, "expires": Millis},
            extending,
            dialect,
            narrow={"fp": alerts.c.fingerprint},
        )


def _types(table: sa.Table, keys: Sequence[str]) -> dict[str, Any]:
    return {key: table.c[key].type for key in keys}


def _upsert_alerts(insert: Any) -> sa.Executable:
    """Applies only a newer occurrence (a later `startsAt`) or the resolution of the stored one,
    or, for an alert that timed out (ingest.expiry), its occurrence sent again while it fires
    (Alertmanager takes it as firing again); returns the alerts it changed. A later deadline
    of the same firing occurrence is not a change (`_extend`)."""
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[alerts.c.fingerprint],
        set_={
            "labels": excluded.labels,
            "annotations": excluded.annotations,
            "generator_url": excluded.generator_url,
            "severity": excluded.severity,
            "starts_at": excluded.starts_at,
            "ends_at": excluded.ends_at,
            "updated_at": excluded.updated_at,
            "expires_at": excluded.expires_at,
        },
        where=sa.or_(
            sa.and_(excluded.starts_at > alerts.c.starts_at, sa.not_(_overlaps(excluded))),
            sa.and_(
                excluded.starts_at == alerts.c.starts_at,
                alerts.c.ends_at.is_(None),
                excluded.ends_at.is_not(None),
            ),
            sa.and_(
                excluded.starts_at == alerts.c.starts_at,
                alerts.c.ends_at.is_not(None),
                alerts.c.ends_at == alerts.c.expires_at,  # ended by its deadline
                excluded.ends_at.is_(None),
                excluded.expires_at > alerts.c.expires_at,
            ),
        ),
    ).returning(alerts.c.id, alerts.c.fingerprint)


def _close_superseded(alert: Any, start: Any) -> sa.Executable:
    """Ends an alert's open occurrences that started before its new one (a column of a FROM
    clause for `alert` and `start` makes it UPDATE ... FROM)."""
    return (
        sa.update(alert_occurrences)
        .where(
            alert_occurrences.c.alert_id == alert,
            alert_occurrences.c.starts_at < start,
            alert_occurrences.c.ends_at.is_(None),
        )
        .values(ends_at=start)
    )


def _record(db: Database, rows: Mapping[str, sa.Select[Any]]) -> sa.Executable:
    """PostgreSQL: the changed alerts' occurrences, groups and memberships, in one statement
    (data-modifying CTEs; one round trip instead of four). The alerts are locked already (by
    their upsert), so the groups, locked in key order, are the only rows it waits for. A new
    alert's id is fresh: its occurrences and memberships cannot conflict, and a plain INSERT
    skips ON CONFLICT's arbiter check and speculative insertion."""
    occurrence, member = rows["occurrence"].subquery(), rows["member"].subquery()
    keys = ("alert_id", "starts_at", "ends_at")

    def occurrences(new: bool) -> sa.Select[Any]:
        return sa.select(*[occurrence.c[key] for key in keys]).where(occurrence.c.new.is_(new))

    def members(new: bool) -> sa.Select[Any]:
        return sa.select(*[member.c[key] for key in ATTACH_KEYS]).where(member.c.new.is_(new))

    one = sa.literal_column("1")
    writes = [
        sa.insert(alert_occurrences).from_select(keys, occurrences(True)).returning(one),
        _upsert_occurrences(
            db.insert(alert_occurrences).from_select(keys, occurrences(False))
        ).returning(one),  # type: ignore[attr-defined]
        sa.insert(group_alerts).from_select(ATTACH_KEYS, members(True)).returning(one),
        _attach(db.insert(group_alerts).from_select(ATTACH_KEYS, members(False))).returning(  # type: ignore[attr-defined]
            one
        ),
    ]
    grouped = _upsert_groups(db.insert(groups).from_select(GROUP_KEYS, rows["group"])).cte(  # type: ignore[attr-defined]
        "grouped"
    )
    counts = [
        sa.select(sa.func.count()).select_from(write.cte(f"written_{i}")).scalar_subquery()
        for i, write in enumerate(writes)
    ]
    # Every CTE is referenced, so that SQLAlchemy renders it (PostgreSQL runs each to the end).
    return sa.select(sa.select(sa.func.min(grouped.c.due_at)).scalar_subquery(), *counts)


def _overlaps(excluded: Any) -> sa.ColumnElement[bool]:
    """A firing alert with a deadline (POST /api/v2/alerts) that starts while the stored one
    still fires: Alertmanager merges the two (the earlier start stays), so it is the same
    occurrence, and only its deadline moves (`_extend`). A client that sends no startsAt
    gets a new one at every re-send."""
    return sa.and_(
        excluded.expires_at.is_not(None),
        alerts.c.ends_at.is_(None),
        sa.or_(alerts.c.expires_at.is_(None), excluded.starts_at < alerts.c.expires_at),
    )


def _extend(fingerprint: Any, start: Any, expires: Any) -> sa.Executable:
    """Moves a firing occurrence's deadline to a later one: a re-send (Prometheus sends each
    firing alert again every minute or so) of it or of an alert it overlaps (`_overlaps`),
    which changes nothing else."""
    return (
        sa.update(alerts)
        .where(
            alerts.c.fingerprint == fingerprint,
            alerts.c.starts_at <= start,
            alerts.c.ends_at.is_(None),
            sa.or_(
                alerts.c.expires_at.is_(None),
                sa.and_(start < alerts.c.expires_at, alerts.c.expires_at < expires),
            ),
        )
        .values(expires_at=expires)
    )


_ALERT_FIRING_FROM_OCCURRENCE = sa.text(
    "EXISTS (SELECT 1 FROM alerts WHERE alerts.id = alert_occurrences.alert_id"
    " AND alerts.ends_at IS NULL AND alerts.starts_at = alert_occurrences.starts_at)"
)


def _upsert_occurrences(insert: Any) -> sa.Executable:
    """Ends an open occurrence; or opens again one that ended by its deadline, once its alert
    fires again from the same start (see _upsert_alerts)."""
    excluded = insert.excluded
    occurrence = alert_occurrences.c
    firing_again = sa.and_(
        excluded.ends_at.is_(None),
        occurrence.ends_at.is_not(None),
        # Written out: SQLAlchemy does not correlate a subquery with an INSERT's target table
        # (it would add alert_occurrences to the subquery's FROM).
        _ALERT_FIRING_FROM_OCCURRENCE,
    )
    return insert.on_conflict_do_update(
        index_elements=[occurrence.alert_id, occurrence.starts_at],
        set_={"ends_at": excluded.ends_at},
        where=sa.or_(
            sa.and_(occurrence.ends_at.is_(None), excluded.ends_at.is_not(None)), firing_again
        ),
    )


def _upsert_groups(insert: Any) -> sa.Executable:
    """A new group is due after group_wait (the inserted due_at); an existing group with
    nothing pending becomes due at its next flush slot (last flush + group_interval), or now if
    that has passed; a group already due keeps its time."""
    excluded = insert.excluded
    due = sa.case(
        (groups.c.due_at.is_not(None), groups.c.due_at),
        (groups.c.next_flush_at > excluded.created_at, groups.c.next_flush_at),
        else_=excluded.created_at,
    )
    return insert.on_conflict_do_update(
        index_elements=[groups.c.key],
        set_={
            "due_at": due,
            "group_wait_ms": excluded.group_wait_ms,
            "group_interval_ms": excluded.group_interval_ms,
            "repeat_interval_ms": excluded.repeat_interval_ms,
            "receiver": excluded.receiver,
        },
    ).returning(groups.c.due_at)


def _attach(insert: Any) -> sa.Executable:
    return insert.on_conflict_do_nothing(
        index_elements=[group_alerts.c.group_key, group_alerts.c.alert_id]
    )


def _statements(db: Database) -> _Statements:
    return db.cached("alerts", lambda: _Statements(db))


def write_alerts(
    db: Database, conn: sa.Connection, batch: Sequence[RoutedAlert], now: int
) -> WriteResult:
    """Stores one batch. Alerts that change nothing (re-deliveries, HA duplicates, stale
    updates) cost one conditional upsert and nothing else."""
    merged = _merge(batch)
    if not merged:
        return WriteResult(None)
    statements = _statements(db)
    fingerprints = sorted(merged)  # a fixed order keeps concurrent writers free of deadlocks
    result = statements.upsert_alerts.fetch(
        conn, [_alert_row(merged[fp].alert, now) for fp in fingerprints]
    )
    ids = {row[1]: row[0] for row in result}  # the alerts this batch changed
    statements.extend.run_many(
        conn,
        [
            {"fp": fp, "start": alert.starts_at, "expires": alert.expires_at}
            for fp in fingerprints
            if fp not in ids and (alert := merged[fp].alert).expires_at is not None
        ],
    )
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
    ((due, *_counts),) = statements.record.fetch(
        conn,
        {
            "occurrence": occurrences,
            "group": [_group_row(refs[key], now) for key in sorted(refs)],
            "member": [
                {"group_key": key, "alert_id": i, "new": i in new_ids}
                for key, i in _memberships(routed)
            ],
        },
    )
    return WriteResult(due)


def attach_to_groups(
    db: Database, conn: sa.Connection, routed: Sequence[tuple[int, RoutedAlert]], now: int
) -> list[int]:
    """Makes the alerts' groups exist and due, and the alerts (id, routed) their members;
    returns the due times. Also used to re-route firing alerts after a reload changed the
    routing tree."""
    statements = _statements(db)
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
