"""The statements of ingest's write (ingest.alerts), compiled once per database: on SQLite run
on the driver's cursor, on PostgreSQL each over the batch's rows as column arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.database import Database
from alertrouter.storage.statements import (
    ColumnArrays,
    ColumnArraySets,
    DriverStatement,
    MultiRowInsert,
    RowsStatement,
    UnnestedRows,
)
from alertrouter.storage.tables import Id, Millis, alert_occurrences, alerts, group_alerts, groups

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
EXTEND_TYPES = {"fp": alerts.c.fingerprint.type, "start": Millis, "expires": Millis}


class Statements:
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
            self.record_extending = None
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
        recorded = {
            "occurrence": {**_types(alert_occurrences, occurrence_keys), "new": sa.Boolean()},
            "group": _types(groups, GROUP_KEYS),
            "member": {**_types(group_alerts, ATTACH_KEYS), "new": sa.Boolean()},
        }
        self.record = ColumnArraySets(recorded, lambda rows: _record(db, rows), dialect)
        # The same with the unchanged alerts' deadlines (API v2 re-sends): a webhook batch has
        # none, and an UPDATE over no rows would still cost every batch its execution.
        self.record_extending: ColumnArraySets | None = ColumnArraySets(
            {**recorded, "extend": EXTEND_TYPES}, lambda rows: _record(db, rows), dialect
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
            EXTEND_TYPES,
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


def _record(db: Database, rows: Mapping[str, UnnestedRows]) -> sa.Executable:
    """PostgreSQL: the changed alerts' occurrences, groups and memberships, and (with an
    "extend" set) the deadlines of the unchanged ones (`_extend`), in one statement
    (data-modifying CTEs; one round trip instead of five). The alerts are locked already (by
    their upsert, changed or not), so the groups, locked in key order, are the only rows it
    waits for. A new alert's id is fresh: its occurrences and memberships cannot conflict, and
    a plain INSERT skips ON CONFLICT's arbiter check and speculative insertion."""
    occurrence, member = rows["occurrence"].select.subquery(), rows["member"].select.subquery()
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
    if "extend" in rows:
        extended = rows["extend"]
        deadlines = extended.select.subquery()
        writes.append(
            _extend(deadlines.c.fp, deadlines.c.start, deadlines.c.expires)
            .where(alerts.c.fingerprint == sa.any_(extended.arrays["fp"]))  # type: ignore[attr-defined]
            .returning(one)
        )
    grouped = _upsert_groups(db.insert(groups).from_select(GROUP_KEYS, rows["group"].select)).cte(  # type: ignore[attr-defined]
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


def statements_for(db: Database) -> Statements:
    return db.cached("alerts", lambda: Statements(db))
