"""The delivery log the API shows: queued, sent and dead outbox rows, the queue's size, and
putting a dead row back in the queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.delivery.outcomes import DEAD, PENDING
from alertrouter.storage.tables import outbox


def requeue(conn: sa.Connection, outbox_id: int, now: int, deadline: int) -> str | None:
    """Puts a dead row back in the queue. Returns the row's status before (None: no such row);
    only a dead row is changed."""
    status = conn.execute(sa.select(outbox.c.status).where(outbox.c.id == outbox_id)).scalar()
    if status == DEAD:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id)
            .values(
                status=PENDING,
                next_attempt_at=now,
                deadline_at=deadline,
                lease_until=None,
                updated_at=now,
                stream_head=True,  # the claim still checks that no earlier row is pending
            )
        )
    return status


async def list_deliveries(
    conn: AsyncConnection,
    *,
    limit: int,
    before_id: int | None = None,
    status: str | None = None,
    incident_id: int | None = None,
    receiver: str | None = None,
    integration: str | None = None,
) -> list[dict[str, Any]]:
    query = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(outbox.c.id < before_id)
    if status is not None:
        query = query.where(outbox.c.status == status)
    if incident_id is not None:
        query = query.where(outbox.c.incident_id == incident_id)
    if receiver is not None:
        query = query.where(outbox.c.receiver == receiver)
    if integration is not None:
        query = query.where(outbox.c.integration == integration)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def get_delivery(conn: AsyncConnection, outbox_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(outbox).where(outbox.c.id == outbox_id))).first()
    return None if row is None else dict(row._mapping)


@dataclass(frozen=True, slots=True)
class QueueStats:
    pending: int
    oldest_pending_created_at: int | None
    dead: int


async def queue_stats(conn: AsyncConnection) -> QueueStats:
    pending, oldest = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
                outbox.c.status == PENDING
            )
        )
    ).one()
    dead = (
        await conn.execute(sa.select(sa.func.count()).where(outbox.c.status == DEAD))
    ).scalar_one()
    return QueueStats(int(pending), oldest, int(dead))
