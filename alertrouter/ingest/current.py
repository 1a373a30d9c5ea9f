"""The alerts as they stand, with the aggregation groups they are in: what Alertmanager's API v2
reads (GET /api/v2/alerts, /api/v2/alerts/groups) list."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.groups import GroupRow, MemberAlert
from alertrouter.ingest.groups import MEMBER_COLUMNS, member_of
from alertrouter.storage.tables import alerts, group_alerts, groups


@dataclass(frozen=True, slots=True)
class CurrentAlert:
    alert: MemberAlert
    groups: tuple[GroupRow, ...]


def _current(now: int) -> sa.ColumnElement[bool]:
    return sa.or_(alerts.c.ends_at.is_(None), alerts.c.ends_at > now)


async def current_alerts(conn: AsyncConnection, now: int) -> list[CurrentAlert]:
    """Every alert firing at `now` (no end, or an end still ahead), by fingerprint, each with
    the groups it is a member of."""
    found = await conn.execute(
        sa.select(alerts.c.id, *MEMBER_COLUMNS).where(_current(now)).order_by(alerts.c.fingerprint)
    )
    rows = list(found)
    membership = await conn.execute(
        sa.select(
            group_alerts.c.alert_id,
            groups.c.key,
            groups.c.route_key,
            groups.c.receiver,
            groups.c.labels,
            groups.c.group_interval_ms,
            groups.c.repeat_interval_ms,
        )
        .join(groups, groups.c.key == group_alerts.c.group_key)
        .join(alerts, alerts.c.id == group_alerts.c.alert_id)
        .where(_current(now))
        .order_by(groups.c.key)
    )
    by_alert: dict[int, list[GroupRow]] = {}
    for m in membership:
        group = GroupRow(
            m.key, m.route_key, m.receiver, m.labels, m.group_interval_ms, m.repeat_interval_ms
        )
        by_alert.setdefault(m.alert_id, []).append(group)
    return [CurrentAlert(member_of(r), tuple(by_alert.get(r.id, ()))) for r in rows]
