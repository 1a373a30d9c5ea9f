"""The incidents a person was paged for or acknowledged, most recent first (their page)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.storage.people_tables import person_activity
from alertrouter.storage.tables import incidents


@dataclass(frozen=True, slots=True)
class PersonIncident:
    id: int
    title: str
    severity: int
    status: str
    opened_at: int
    last_at: int  # their latest page or acknowledgement
    paged: int  # how often they were paged for it
    acknowledged: bool  # whether they acknowledged it


async def recent_incidents(
    conn: AsyncConnection, user: str, since: int, limit: int = 20
) -> list[PersonIncident]:
    """Read on the (user_name, at) index: the person's activity since `since`, per incident."""
    pa, c = person_activity.c, incidents.c
    activity = (
        sa.select(
            pa.incident_id,
            sa.func.max(pa.at).label("last_at"),
            sa.func.sum(sa.case((pa.kind == "paged", 1), else_=0)).label("paged"),
            sa.func.max(sa.case((pa.kind == "acknowledged", 1), else_=0)).label("acknowledged"),
        )
        .where(pa.user_name == user, pa.at >= since)
        .group_by(pa.incident_id)
        .subquery()
    )
    a = activity.c
    rows = await conn.execute(
        sa.select(
            c.id, c.title, c.severity, c.status, c.opened_at, a.last_at, a.paged, a.acknowledged
        )
        .join_from(activity, incidents, c.id == a.incident_id)
        .order_by(a.last_at.desc(), c.id.desc())
        .limit(limit)
    )
    return [
        PersonIncident(
            id=int(r.id),
            title=r.title,
            severity=int(r.severity),
            status=r.status,
            opened_at=int(r.opened_at),
            last_at=int(r.last_at),
            paged=int(r.paged),
            acknowledged=bool(r.acknowledged),
        )
        for r in rows
    ]
