"""Signed requests already acted on (table `inbound_requests`), so that a replayed or redelivered
request is acted on once. Keys are `<sender>:<the sender's id of the request>`."""

from __future__ import annotations

import sqlalchemy as sa

from alertrouter.storage.database import Database
from alertrouter.storage.tables import inbound_requests


def first_time(db: Database, conn: sa.Connection, key: str, now: int, *, keep_ms: int) -> bool:
    """Records `key` unless it is already recorded; True when it was not. The sender's records
    older than `keep_ms` are dropped first (each sender keeps its own window)."""
    sender = key.partition(":")[0]
    conn.execute(
        sa.delete(inbound_requests).where(
            inbound_requests.c.received_at < now - keep_ms,
            inbound_requests.c.key.startswith(f"{sender}:", autoescape=True),
        )
    )
    inserted = conn.execute(
        db.insert(inbound_requests)
        .values(key=key, received_at=now)
        .on_conflict_do_nothing(index_elements=[inbound_requests.c.key])
        .returning(inbound_requests.c.key)
    ).first()
    return inserted is not None


def forget(conn: sa.Connection, key: str) -> None:
    """Drops a record, so that the request is acted on when it comes again."""
    conn.execute(sa.delete(inbound_requests).where(inbound_requests.c.key == key))
