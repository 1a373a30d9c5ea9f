"""Resolving alerts whose deadline passed: an alert POSTed to /api/v2/alerts fires until its
`endsAt` (or arrival + `global.resolve_timeout`) unless it is sent again, as in Alertmanager.

The decision is a write, not a reading of the clock: `ends_at` becomes the deadline, the open
occurrence ends there, and the alert's groups become due, in one transaction. Every later
reader (the flush, inhibition, the API) sees one resolved alert, and the flush that follows
resolves the incident once, under the group's lock, on whichever replica. The rows are claimed
with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas expiring at the same moment take
different alerts; the deadline is in the database, so a restart loses none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.storage.database import Database
from alertrouter.storage.tables import alert_occurrences, alerts, group_alerts, groups

_EXPIRING = sa.and_(alerts.c.ends_at.is_(None), alerts.c.expires_at.is_not(None))


@dataclass(frozen=True, slots=True)
class Expired:
    alerts: int  # how many alerts this transaction resolved
    earliest_due: int | None  # the soonest due time it gave one of their groups


async def next_expiry(conn: AsyncConnection) -> int | None:
    """The earliest deadline of a firing alert (through the partial index ix_alerts_expiring)."""
    result = await conn.execute(sa.select(sa.func.min(alerts.c.expires_at)).where(_EXPIRING))
    return result.scalar()


def expire_due(db: Database, conn: sa.Connection, now: int, limit: int) -> Expired:
    """Resolves up to `limit` firing alerts whose deadline is at or before `now`."""
    claim = (
        sa.select(alerts.c.id)
        .where(_EXPIRING, alerts.c.expires_at <= now)
        .order_by(alerts.c.expires_at, alerts.c.id)
        .limit(limit)
    )
    if not db.is_sqlite:  # (SQLite's write transaction excludes every other writer)
        # NO KEY UPDATE: group_alerts rows inserted meanwhile (KEY SHARE) need not wait.
        claim = claim.with_for_update(skip_locked=True, key_share=True)
    ids = sorted(row[0] for row in conn.execute(claim))
    if not ids:
        return Expired(0, None)
    resolved = conn.execute(
        sa.update(alerts)
        .where(alerts.c.id.in_(ids), _EXPIRING)
        .values(ends_at=alerts.c.expires_at, updated_at=now)
        .returning(alerts.c.id)
    ).all()
    ids = sorted(row[0] for row in resolved)
    if not ids:
        return Expired(0, None)
    _end_occurrences(conn, ids)
    return Expired(len(ids), _make_groups_due(db, conn, ids, now))


def _end_occurrences(conn: sa.Connection, ids: Sequence[int]) -> None:
    deadline = (
        sa.select(alerts.c.expires_at)
        .where(alerts.c.id == alert_occurrences.c.alert_id)
        .scalar_subquery()
    )
    conn.execute(
        sa.update(alert_occurrences)
        .where(alert_occurrences.c.alert_id.in_(ids), alert_occurrences.c.ends_at.is_(None))
        .values(ends_at=deadline)
    )


def _make_groups_due(db: Database, conn: sa.Connection, ids: Sequence[int], now: int) -> int | None:
    """As a change arriving at ingest does (ingest.alert_statements._upsert_groups): a group
    already due keeps its time, one with nothing pending is due at its next flush slot or now."""
    due = sa.case(
        (groups.c.due_at.is_not(None), groups.c.due_at),
        (groups.c.next_flush_at > now, groups.c.next_flush_at),
        else_=now,
    )
    members = sa.select(group_alerts.c.group_key).where(group_alerts.c.alert_id.in_(ids))
    # Locked in key order first, the order ingest takes them in, so neither waits in a cycle.
    keys = [
        row[0]
        for row in conn.execute(
            db.for_update(sa.select(groups.c.key).where(groups.c.key.in_(members))).order_by(
                groups.c.key
            )
        )
    ]
    if not keys:
        return None
    result = conn.execute(
        sa.update(groups)
        .where(groups.c.key.in_(keys))
        .values(due_at=due)
        .returning(groups.c.due_at)
    )
    return min((row[0] for row in result if row[0] is not None), default=None)
