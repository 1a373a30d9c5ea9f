"""Aggregation groups: claiming due ones and reading their members for a flush."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.groups import GroupRow, MemberAlert
from alertrouter.core.values import Severity
from alertrouter.ingest.values import Flushed
from alertrouter.storage.database import Database
from alertrouter.storage.statements import per_row
from alertrouter.storage.tables import alerts, group_alerts, groups


async def due_keys(conn: AsyncConnection, now: int, limit: int) -> list[str]:
    """Keys of groups due at `now`, oldest first (no lock: `lock_due` decides who flushes)."""
    result = await conn.execute(
        sa.select(groups.c.key).where(groups.c.due_at <= now).order_by(groups.c.due_at).limit(limit)
    )
    return [row[0] for row in result]


def lock_due(db: Database, conn: sa.Connection, keys: Sequence[str], now: int) -> list[GroupRow]:
    """Take the groups of `keys` that are still due and that no other replica holds, for this
    transaction; in the order of `keys`."""
    query = db.for_update(
        sa.select(groups).where(groups.c.key.in_(keys), groups.c.due_at <= now),
        skip_locked=True,
    )
    locked = {
        row["key"]: GroupRow(
            key=row["key"],
            route_key=row["route_key"],
            receiver=row["receiver"],
            labels=row["labels"],
            group_interval_ms=row["group_interval_ms"],
            repeat_interval_ms=row["repeat_interval_ms"],
        )
        for row in conn.execute(query).mappings()
    }
    return [locked[key] for key in keys if key in locked]


MEMBER_COLUMNS = (
    alerts.c.fingerprint,
    alerts.c.labels,
    alerts.c.annotations,
    alerts.c.severity,
    alerts.c.starts_at,
    alerts.c.ends_at,
    alerts.c.generator_url,
    alerts.c.updated_at,
)


def member_of(row: sa.Row[Any]) -> MemberAlert:
    """A MemberAlert from a row selected with MEMBER_COLUMNS."""
    return MemberAlert(
        fingerprint=row.fingerprint,
        labels=row.labels,
        annotations=row.annotations,
        severity=Severity(row.severity),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        generator_url=row.generator_url,
        updated_at=row.updated_at,
    )


def members(conn: sa.Connection, keys: Sequence[str]) -> dict[str, list[MemberAlert]]:
    """The member alerts of each group, by fingerprint (a group without any is left out)."""
    result = conn.execute(
        sa.select(group_alerts.c.group_key, *MEMBER_COLUMNS)
        .join(group_alerts, group_alerts.c.alert_id == alerts.c.id)
        .where(group_alerts.c.group_key.in_(keys))
        .order_by(group_alerts.c.group_key, alerts.c.fingerprint)
    )
    by_key: dict[str, list[MemberAlert]] = {}
    for r in result:
        by_key.setdefault(r.group_key, []).append(member_of(r))
    return by_key


def mark_flushed(db: Database, conn: sa.Connection, flushed: Sequence[Flushed], now: int) -> None:
    """The next flush is one group_interval away: always while alerts are firing (as in
    Alertmanager, so expired silences, resolved inhibitors and repeat intervals are noticed),
    else only when a change arrives. Resolved alerts the flush has recorded leave the group."""
    statements = db.cached("groups.flushed", lambda: _FlushedStatements(db))
    statements.update.run_many(
        conn,
        [
            {
                "group_key": f.group.key,
                "due": now + f.group.group_interval_ms if f.still_firing else None,
                "flushed": now,
                "next_flush": now + f.group.group_interval_ms,
            }
            for f in flushed
        ],
    )
    statements.drop.run_many(
        conn,
        [{"group_key": f.group.key, "fingerprint": fp} for f in flushed for fp in f.drop_members],
    )


class _FlushedStatements:
    def __init__(self, db: Database) -> None:
        def update(value: Mapping[str, Any]) -> Any:
            return sa.update(groups).values(
                due_at=value["due"],
                last_flushed_at=value["flushed"],
                next_flush_at=value["next_flush"],
            )

        def drop(value: Mapping[str, Any]) -> Any:
            return sa.delete(group_alerts).where(
                group_alerts.c.alert_id
                == sa.select(alerts.c.id)
                .where(alerts.c.fingerprint == value["fingerprint"])
                .scalar_subquery(),
            )

        self.update = per_row(
            update,
            {
                "group_key": groups.c.key.type,
                "due": groups.c.due_at.type,
                "flushed": groups.c.last_flushed_at.type,
                "next_flush": groups.c.next_flush_at.type,
            },
            db.dialect,
            match={"group_key": groups.c.key},
        )
        self.drop = per_row(
            drop,
            {"group_key": group_alerts.c.group_key.type, "fingerprint": alerts.c.fingerprint.type},
            db.dialect,
            match={"group_key": group_alerts.c.group_key},
        )


async def next_due(conn: AsyncConnection) -> int | None:
    result = await conn.execute(sa.select(sa.func.min(groups.c.due_at)))
    return result.scalar()
