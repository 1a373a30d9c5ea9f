"""Aggregation groups: claiming due ones and reading their members for a flush."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core import Severity
from alertrouter.storage import Database, alerts, group_alerts, groups


@dataclass(frozen=True, slots=True)
class GroupRow:
    key: str
    route_key: str
    receiver: str
    labels: dict[str, str]
    group_interval_ms: int
    repeat_interval_ms: int


@dataclass(frozen=True, slots=True)
class MemberAlert:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    severity: Severity
    starts_at: int
    ends_at: int | None
    generator_url: str = ""

    @property
    def firing(self) -> bool:
        return self.ends_at is None


async def due_keys(conn: AsyncConnection, now: int, limit: int) -> list[str]:
    """Keys of groups due at `now`, oldest first (no lock: `lock_due` decides who flushes)."""
    result = await conn.execute(
        sa.select(groups.c.key).where(groups.c.due_at <= now).order_by(groups.c.due_at).limit(limit)
    )
    return [row[0] for row in result]


def lock_due(db: Database, conn: sa.Connection, key: str, now: int) -> GroupRow | None:
    """Take the group for this transaction if it is still due and no other replica holds it."""
    query = db.for_update(
        sa.select(groups).where(groups.c.key == key, groups.c.due_at <= now), skip_locked=True
    )
    row = (conn.execute(query)).mappings().first()
    if row is None:
        return None
    return GroupRow(
        key=row["key"],
        route_key=row["route_key"],
        receiver=row["receiver"],
        labels=row["labels"],
        group_interval_ms=row["group_interval_ms"],
        repeat_interval_ms=row["repeat_interval_ms"],
    )


def members(conn: sa.Connection, key: str) -> list[MemberAlert]:
    result = conn.execute(
        sa.select(
            alerts.c.fingerprint,
            alerts.c.labels,
            alerts.c.annotations,
            alerts.c.severity,
            alerts.c.starts_at,
            alerts.c.ends_at,
            alerts.c.generator_url,
        )
        .join(group_alerts, group_alerts.c.alert_id == alerts.c.id)
        .where(group_alerts.c.group_key == key)
        .order_by(alerts.c.fingerprint)
    )
    return [
        MemberAlert(
            fingerprint=r.fingerprint,
            labels=r.labels,
            annotations=r.annotations,
            severity=Severity(r.severity),
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            generator_url=r.generator_url,
        )
        for r in result
    ]


def mark_flushed(
    conn: sa.Connection,
    group: GroupRow,
    now: int,
    *,
    still_firing: bool,
    drop_members: list[str],
) -> None:
    """The next flush is one group_interval away: always while alerts are firing (as in
    Alertmanager, so expired silences, resolved inhibitors and repeat intervals are noticed),
    else only when a change arrives. Resolved alerts the flush has recorded leave the group."""
    next_flush = now + group.group_interval_ms
    conn.execute(
        sa.update(groups)
        .where(groups.c.key == group.key)
        .values(
            due_at=next_flush if still_firing else None,
            last_flushed_at=now,
            next_flush_at=next_flush,
        )
    )
    if drop_members:
        conn.execute(
            sa.delete(group_alerts).where(
                group_alerts.c.group_key == group.key,
                group_alerts.c.alert_id.in_(
                    sa.select(alerts.c.id).where(alerts.c.fingerprint.in_(drop_members))
                ),
            )
        )


async def next_due(conn: AsyncConnection) -> int | None:
    result = await conn.execute(sa.select(sa.func.min(groups.c.due_at)))
    return result.scalar()
