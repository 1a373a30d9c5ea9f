"""Persisting incoming alerts: the write half of ingest, run once per group-commit batch.

Idempotent and order-proof by construction: the alert upsert only applies an update that is
newer (a later `startsAt`, i.e. a new occurrence) or that resolves the stored occurrence; anything
else changes nothing, whichever replica or retry delivers it. Only real changes make groups due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.ingest import IncomingAlert
from alertrouter.storage import Database, alert_occurrences, alerts, group_alerts, groups


@dataclass(frozen=True, slots=True)
class GroupRef:
    """The aggregation group an alert joins on one matched route, with that route's timings."""

    key: str
    route_key: str
    receiver: str
    labels: dict[str, str]
    group_wait_ms: int
    group_interval_ms: int
    repeat_interval_ms: int


@dataclass(frozen=True, slots=True)
class RoutedAlert:
    alert: IncomingAlert
    groups: tuple[GroupRef, ...]


@dataclass(frozen=True, slots=True)
class WriteResult:
    changed_alerts: int
    earliest_due: int | None  # the soonest due time this batch gave a group, if any


def newer(candidate: IncomingAlert, current: IncomingAlert) -> bool:
    """Whether `candidate` supersedes `current` for the same fingerprint (same rule as SQL)."""
    if candidate.starts_at != current.starts_at:
        return candidate.starts_at > current.starts_at
    return current.ends_at is None and candidate.ends_at is not None


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


async def write_alerts(
    db: Database, conn: AsyncConnection, batch: Sequence[RoutedAlert], now: int
) -> WriteResult:
    merged = _merge(batch)
    if not merged:
        return WriteResult(0, None)
    fingerprints = sorted(merged)  # a fixed order keeps concurrent writers free of deadlocks
    changed = await _upsert_alerts(db, conn, [merged[fp].alert for fp in fingerprints], now)
    await _record_occurrences(db, conn, _occurrences(batch), changed, merged)

    refs = {ref.key: ref for fp in fingerprints for ref in merged[fp].groups}
    changed_keys = {ref.key for fp in changed for ref in merged[fp].groups}
    due_times = await _upsert_groups(
        db, conn, [refs[k] for k in sorted(changed_keys)], now, make_due=True
    )
    await _upsert_groups(
        db, conn, [refs[k] for k in sorted(set(refs) - changed_keys)], now, make_due=False
    )
    attached = await _attach(
        db, conn, [(ref.key, fp) for fp in fingerprints for ref in merged[fp].groups]
    )
    newly_due = sorted(attached - changed_keys)
    if newly_due:  # an unchanged alert joined a group, e.g. after a reload changed the routes
        due_times += await _make_due(conn, newly_due, now)
    return WriteResult(len(changed), min(due_times, default=None))


async def _upsert_alerts(
    db: Database, conn: AsyncConnection, batch: list[IncomingAlert], now: int
) -> set[str]:
    insert = db.insert(alerts)
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=[alerts.c.fingerprint],
        set_={
            "labels": excluded.labels,
            "annotations": excluded.annotations,
            "generator_url": excluded.generator_url,
            "severity": excluded.severity,
            "starts_at": excluded.starts_at,
            "ends_at": excluded.ends_at,
            "updated_at": excluded.updated_at,
        },
        where=sa.or_(
            excluded.starts_at > alerts.c.starts_at,
            sa.and_(
                excluded.starts_at == alerts.c.starts_at,
                alerts.c.ends_at.is_(None),
                excluded.ends_at.is_not(None),
            ),
        ),
    ).returning(alerts.c.fingerprint)
    rows = [
        {
            "fingerprint": a.fingerprint,
            "labels": a.labels,
            "annotations": a.annotations,
            "generator_url": a.generator_url,
            "severity": int(a.severity),
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "updated_at": now,
        }
        for a in batch
    ]
    result = await conn.execute(statement, rows)
    return {row[0] for row in result}


async def _record_occurrences(
    db: Database,
    conn: AsyncConnection,
    ends: dict[tuple[str, int], int | None],
    changed: set[str],
    merged: dict[str, RoutedAlert],
) -> None:
    # A new occurrence closes the previous one if its resolve never arrived.
    superseded = [{"fp": fp, "start": merged[fp].alert.starts_at} for fp in sorted(changed)]
    if superseded:
        await conn.execute(
            sa.update(alert_occurrences)
            .where(
                alert_occurrences.c.fingerprint == sa.bindparam("fp"),
                alert_occurrences.c.starts_at < sa.bindparam("start"),
                alert_occurrences.c.ends_at.is_(None),
            )
            .values(ends_at=sa.bindparam("start")),
            superseded,
        )
    insert = db.insert(alert_occurrences)
    statement = insert.on_conflict_do_update(
        index_elements=[alert_occurrences.c.fingerprint, alert_occurrences.c.starts_at],
        set_={"ends_at": insert.excluded.ends_at},
        where=sa.and_(alert_occurrences.c.ends_at.is_(None), insert.excluded.ends_at.is_not(None)),
    )
    await conn.execute(
        statement,
        [
            {"fingerprint": fp, "starts_at": start, "ends_at": end}
            for (fp, start), end in sorted(ends.items())
        ],
    )


async def _upsert_groups(
    db: Database, conn: AsyncConnection, refs: list[GroupRef], now: int, *, make_due: bool
) -> list[int]:
    """Create missing groups (due after group_wait). With `make_due`, an existing group with
    nothing pending becomes due at its next flush slot (last flush + group_interval) or now."""
    if not refs:
        return []
    insert = db.insert(groups)
    excluded = insert.excluded
    if make_due:
        due = sa.case(
            (groups.c.due_at.is_not(None), groups.c.due_at),
            (groups.c.next_flush_at > excluded.created_at, groups.c.next_flush_at),
            else_=excluded.created_at,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[groups.c.key],
            set_={
                "due_at": due,
                "group_wait_ms": excluded.group_wait_ms,
                "group_interval_ms": excluded.group_interval_ms,
                "repeat_interval_ms": excluded.repeat_interval_ms,
                "receiver": excluded.receiver,
            },
        ).returning(groups.c.due_at)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=[groups.c.key])
    rows = [
        {
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
        for ref in refs
    ]
    result = await conn.execute(statement, rows)
    return [row[0] for row in result if row[0] is not None] if make_due else []


async def _attach(db: Database, conn: AsyncConnection, pairs: list[tuple[str, str]]) -> set[str]:
    """Membership rows; returns the keys of groups that gained a member."""
    if not pairs:
        return set()
    statement = (
        db.insert(group_alerts)
        .on_conflict_do_nothing(
            index_elements=[group_alerts.c.group_key, group_alerts.c.fingerprint]
        )
        .returning(group_alerts.c.group_key)
    )
    result = await conn.execute(
        statement, [{"group_key": k, "fingerprint": fp} for k, fp in sorted(pairs)]
    )
    return {row[0] for row in result}


async def _make_due(conn: AsyncConnection, keys: list[str], now: int) -> list[int]:
    due = sa.case(
        (groups.c.due_at.is_not(None), groups.c.due_at),
        (groups.c.next_flush_at > now, groups.c.next_flush_at),
        else_=now,
    )
    result = await conn.execute(
        sa.update(groups)
        .where(groups.c.key.in_(keys))
        .values(due_at=due)
        .returning(groups.c.due_at)
    )
    return [row[0] for row in result]
