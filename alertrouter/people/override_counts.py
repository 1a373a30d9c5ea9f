"""How many overrides are in force now, per schedule (the `alertrouter_schedule_overrides_active`
gauge, read at each scrape)."""

from __future__ import annotations

import sqlalchemy as sa

from alertrouter.storage.people_tables import schedule_overrides


def active_by_schedule(conn: sa.Connection, now: int) -> dict[str, int]:
    t = schedule_overrides.c
    rows = conn.execute(
        sa.select(t.schedule, sa.func.count())
        .where(t.deleted_at.is_(None), t.starts_at <= now, t.ends_at > now)
        .group_by(t.schedule)
    ).all()
    return {str(schedule): int(count) for schedule, count in rows}
