"""The `heartbeats` rows (see ingest.heartbeats for what they mean).

Beats move `last_beat_at` (never backwards) and `beat_count`, in the transaction that accepted
them: ingest's group commit for alerts, a transaction of its own for POST. In an ingest
transaction they are its first statements, as in every transaction that takes a heartbeat's row
lock, so a batch of alerts and a pass raising the heartbeat's alert (which writes alerts and
groups too) never wait for each other in opposite orders.

A pass first keeps the watch (`watch`: rows for heartbeats configured since, `watched_at`
refreshed, a new watch where nobody watched), then raises or resolves alerts one heartbeat per
transaction under the row's lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write
transaction excludes every other writer), checking again under it, so one replica does it once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from alertrouter.ingest.heartbeats import DOWN_AFTER_MS, WATCH_REFRESH_MS, State
from alertrouter.storage.database import Database
from alertrouter.storage.tables import heartbeats


def record_beats(
    db: Database, conn: sa.Connection, names: Sequence[str], now: int, source: str
) -> None:
    """A beat of each of `names` at `now` (a heartbeat's first beat may come before the pass
    that watches it: it makes the row)."""
    table = heartbeats.c
    newer = sa.or_(table.last_beat_at.is_(None), table.last_beat_at < now)
    for name in sorted(set(names)):  # one order in every transaction: no deadlocks
        insert = db.insert(heartbeats).values(
            name=name,
            last_beat_at=now,
            last_beat_source=source,
            beat_count=1,
            watch_from=now,
            watched_at=now,
            since=now,
            updated_at=now,
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[table.name],
                set_={
                    "last_beat_at": sa.case((newer, now), else_=table.last_beat_at),
                    "last_beat_source": sa.case((newer, source), else_=table.last_beat_source),
                    "beat_count": table.beat_count + 1,
                    "updated_at": now,
                },
            )
        )


def read_states(conn: sa.Connection) -> dict[str, State]:
    return {
        row.name: _state(row)
        for row in conn.execute(sa.select(heartbeats).order_by(heartbeats.c.name))
    }


def needs_watch(names: Sequence[str], states: Mapping[str, State], now: int) -> bool:
    return any(
        name not in states or states[name].watched_at < now - WATCH_REFRESH_MS for name in names
    )


def watch(db: Database, conn: sa.Connection, names: Sequence[str], now: int) -> list[str]:
    """Rows for the configured heartbeats that have none; `watched_at` refreshed; a new watch
    (from `now`) for those nobody watched for DOWN_AFTER_MS. Returns the latter."""
    table = heartbeats.c
    for name in sorted(names):
        conn.execute(
            db.insert(heartbeats)
            .values(name=name, watch_from=now, watched_at=now, since=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=[table.name])
        )
    restarted = conn.execute(
        sa.update(heartbeats)
        .where(table.watched_at < now - DOWN_AFTER_MS)
        .values(watch_from=now, watched_at=now)
        .returning(table.name)
    ).all()
    conn.execute(
        sa.update(heartbeats)
        .where(table.watched_at < now - WATCH_REFRESH_MS)
        .values(watched_at=now)
    )
    return sorted(row.name for row in restarted)


def lock(db: Database, conn: sa.Connection, name: str) -> State | None:
    """The row, locked by this transaction; None when another replica holds it (or it is
    gone)."""
    query = sa.select(heartbeats).where(heartbeats.c.name == name)
    row = conn.execute(db.for_update(query, skip_locked=True)).first()
    return None if row is None else _state(row)


def open_outage(
    conn: sa.Connection, state: State, starts_at: int, labels: Mapping[str, str], now: int
) -> None:
    conn.execute(
        sa.update(heartbeats)
        .where(heartbeats.c.name == state.name)
        .values(
            missing_since=starts_at,
            outage_beat_count=state.beat_count,
            alert_labels=dict(labels),
            since=now,
            updated_at=now,
        )
    )


def close_outage(conn: sa.Connection, name: str, now: int) -> None:
    conn.execute(
        sa.update(heartbeats)
        .where(heartbeats.c.name == name)
        .values(missing_since=None, outage_beat_count=None, since=now, updated_at=now)
    )


def forget(conn: sa.Connection, name: str) -> None:
    conn.execute(sa.delete(heartbeats).where(heartbeats.c.name == name))


def _state(row: Any) -> State:
    labels = row.alert_labels
    if isinstance(labels, str):  # JSON text where the driver does not decode it
        labels = json.loads(labels)
    return State(
        name=row.name,
        last_beat_at=row.last_beat_at,
        last_beat_source=row.last_beat_source,
        beat_count=row.beat_count,
        watch_from=row.watch_from,
        watched_at=row.watched_at,
        since=row.since,
        missing_since=row.missing_since,
        outage_beat_count=row.outage_beat_count,
        alert_labels=labels,
    )
