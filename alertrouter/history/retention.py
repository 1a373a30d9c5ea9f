"""History retention (`history.retention`): deletes what is older than the cutoff, at most
`prune_batch` rows per write transaction, so that ingest and flushes get the writer (on SQLite
the only one) between two batches.

Three phases, each oldest first:
1. resolved incidents with what hangs off them: delivery threads, timeline events, label index,
   member alerts, escalation steps and outbox rows, then the incident itself;
2. alert occurrences that ended before the cutoff, and an alert with its last one when no group
   and no remaining incident holds the alert;
3. messages sent, dead-lettered or superseded before the cutoff, whatever their incident's state
   (those of the incidents of phase 1 are gone by then: what is left are the long-lived
   incidents').

Kept whatever their age: open incidents; a resolved incident with a message still pending (its
outcome is yet to be recorded on it) or within its group's repeat_interval (a person's resolution
holds the alerts back that long: incidents.store.manual_resolutions); the notification log, which
is not history but the dedup state of each group's next notification (one row per group and
integration).

Children go before their parent, found by the parent's id on their own index: nothing depends on
ON DELETE CASCADE, and a batch cut short by its row budget leaves the parent behind as the marker
of what is left. On PostgreSQL a batch takes its parents with FOR UPDATE SKIP LOCKED, so replicas
pruning at once take different rows and nobody waits for a pruner.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from alertrouter.config.models import HistoryConfig
from alertrouter.delivery.outcomes import DEAD, PENDING, SENT, SUPERSEDED
from alertrouter.storage.database import Database
from alertrouter.storage.tables import (
    alert_occurrences,
    alerts,
    delivery_threads,
    escalations,
    group_alerts,
    groups,
    incident_alerts,
    incident_labels,
    incidents,
    outbox,
    timeline_events,
)


@dataclass(frozen=True, slots=True)
class Retention:
    keep_ms: int
    batch: int  # rows per transaction

    @classmethod
    def from_config(cls, config: HistoryConfig) -> Retention | None:
        if config.retention is None:
            return None
        return cls(int(config.retention.total_seconds() * 1000), config.prune_batch)


@dataclass
class Pruned:
    deleted: Counter[str] = field(default_factory=Counter)  # table name -> rows
    transactions: int = 0
    finished: bool = False  # False: the time budget ran out with rows left to delete


@dataclass(frozen=True, slots=True)
class _Batch:
    deleted: dict[str, int]
    more: bool  # the phase may have rows left


async def prune(
    db: Database,
    retention: Retention,
    now: int,
    *,
    budget_s: float,
    monotonic: Callable[[], float] = time.monotonic,
    on_batch: Callable[[Mapping[str, int]], None] | None = None,
) -> Pruned:
    """One pass: batches until nothing is left or, after a batch that left more, `budget_s` has
    passed (so every pass makes progress). `on_batch` sees each committed batch's counts."""
    cutoff = now - retention.keep_ms
    started = monotonic()
    pruned = Pruned()
    for step in (_incidents_batch, _occurrences_batch, _messages_batch):
        while True:
            batch = await db.run_write(
                functools.partial(step, db, cutoff=cutoff, now=now, limit=retention.batch)
            )
            pruned.transactions += 1
            if batch.deleted:
                pruned.deleted.update(batch.deleted)
                if on_batch is not None:
                    on_batch(batch.deleted)
            if not batch.more:
                break
            if monotonic() - started >= budget_s:
                return pruned
    pruned.finished = True
    return pruned


# --------------------------------------------------------------------------------- incidents


def _incidents_batch(
    db: Database, conn: sa.Connection, *, cutoff: int, now: int, limit: int
) -> _Batch:
    repeat_ms = (
        sa.select(groups.c.repeat_interval_ms)
        .where(groups.c.key == incidents.c.group_key)
        .scalar_subquery()
    )
    pending = sa.exists().where(outbox.c.incident_id == incidents.c.id, outbox.c.status == PENDING)
    query = (
        sa.select(incidents.c.id)
        .where(
            incidents.c.resolved_at < cutoff,  # ix_incidents_resolved_at; NULL (open) never is
            incidents.c.resolved_at + sa.func.coalesce(repeat_ms, 0) <= now,
            ~pending,
        )
        .order_by(incidents.c.resolved_at)
        .limit(limit)
    )
    ids = [row.id for row in conn.execute(_locked(db, query, incidents))]
    if not ids:
        return _Batch({}, more=False)
    deleted: dict[str, int] = {}
    left = limit
    for table, where in _children(ids):
        count = _delete_some(conn, table, where, left)
        if count:
            deleted[table.name] = count
        left -= count
        if not left:
            return _Batch(deleted, more=True)
    # Only now are all their children gone; the ones over the budget go in the next batch.
    count = _delete_some(conn, incidents, incidents.c.id.in_(ids), left)
    deleted[incidents.name] = count
    return _Batch(deleted, more=count < len(ids) or len(ids) == limit)


def _children(ids: list[int]) -> list[tuple[sa.Table, sa.ColumnElement[bool]]]:
    """Each table that refers to the incidents `ids`, with its rows of them (on its index). The
    delivery threads, keyed by stream, are found through the outbox rows: before those go."""
    streams = sa.select(outbox.c.stream).where(outbox.c.incident_id.in_(ids))
    return [
        (delivery_threads, delivery_threads.c.stream.in_(streams)),
        (timeline_events, timeline_events.c.incident_id.in_(ids)),
        (incident_labels, incident_labels.c.incident_id.in_(ids)),
        (incident_alerts, incident_alerts.c.incident_id.in_(ids)),
        (escalations, escalations.c.incident_id.in_(ids)),
        (outbox, outbox.c.incident_id.in_(ids)),
    ]


# ------------------------------------------------------------------------------ alert history


def _occurrences_batch(
    db: Database, conn: sa.Connection, *, cutoff: int, now: int, limit: int
) -> _Batch:
    o, a = alert_occurrences, alerts
    held = sa.or_(
        sa.exists().where(group_alerts.c.alert_id == a.c.id),
        sa.exists().where(incident_alerts.c.fingerprint == a.c.fingerprint),
    )
    query = (
        sa.select(o.c.alert_id, o.c.starts_at, (o.c.starts_at >= a.c.starts_at).label("current"))
        .join(a, a.c.id == o.c.alert_id)
        .where(
            o.c.ends_at.is_not(None),  # ix_alert_occurrences_ended (partial)
            o.c.ends_at < cutoff,
            # An earlier occurrence, or the alert's own, which goes with the alert.
            sa.or_(o.c.starts_at < a.c.starts_at, sa.and_(a.c.ends_at < cutoff, ~held)),
        )
        .order_by(o.c.ends_at)
        .limit(limit)
    )
    found = conn.execute(_locked(db, query, o, a)).all()
    rows: list[sa.Row[Any]] = []
    cost = 0
    for row in found:
        cost += 2 if row.current else 1  # the alert goes with its own occurrence
        if rows and cost > limit:
            break
        rows.append(row)
    if not rows:
        return _Batch({}, more=False)
    conn.execute(
        sa.delete(o).where(
            sa.tuple_(o.c.alert_id, o.c.starts_at).in_([(r.alert_id, r.starts_at) for r in rows])
        )
    )
    deleted = {o.name: len(rows)}
    gone = sorted({row.alert_id for row in rows if row.current})
    if gone:
        # Earlier occurrences end no later than the alert's own, so they were in this batch; a
        # tie at the batch's edge may leave one.
        rest = conn.execute(sa.delete(o).where(o.c.alert_id.in_(gone))).rowcount
        deleted[o.name] += max(rest, 0)
        conn.execute(sa.delete(a).where(a.c.id.in_(gone)))
        deleted[a.name] = len(gone)
    return _Batch(deleted, more=len(found) == limit or len(rows) < len(found))


# ---------------------------------------------------------------------------------- messages


def _messages_batch(
    db: Database, conn: sa.Connection, *, cutoff: int, now: int, limit: int
) -> _Batch:
    query = sa.select(outbox.c.id).where(
        outbox.c.status.in_((SENT, DEAD, SUPERSEDED)),
        outbox.c.updated_at < cutoff,
        outbox.c.id < _first_id_since(conn, cutoff),  # ix_outbox_status_id (status, id)
    )
    ids = [row.id for row in conn.execute(_locked(db, query.limit(limit), outbox))]
    if ids:
        conn.execute(sa.delete(outbox).where(outbox.c.id.in_(ids)))
    return _Batch({outbox.name: len(ids)} if ids else {}, more=len(ids) == limit)


def _first_id_since(conn: sa.Connection, cutoff: int) -> int:
    """About the first message queued since `cutoff`, by bisection on the primary key: ids grow
    with created_at (our clock), so the rows kept lie above it and the search for old ones stops
    there instead of reading every row kept. Replicas' clocks may misorder a few rows near it:
    they are only left for a later pass, `updated_at < cutoff` decides."""
    # Two queries: SQLite reads one end of the key only for a lone min() or max().
    high = conn.execute(sa.select(sa.func.max(outbox.c.id))).scalar()
    if high is None:
        return 0
    low = conn.execute(sa.select(sa.func.min(outbox.c.id))).scalar_one()
    high += 1  # when every row is older
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(
            sa.select(outbox.c.id, outbox.c.created_at)
            .where(outbox.c.id >= middle)
            .order_by(outbox.c.id)
            .limit(1)
        ).one()
        if row.created_at >= cutoff:
            high = middle
        else:
            low = row.id + 1
    return low


# ------------------------------------------------------------------------------------ helpers


def _locked(db: Database, query: sa.Select[Any], *tables: sa.Table) -> sa.Select[Any]:
    """The rows of `tables` locked for this transaction, skipping those another holds
    (PostgreSQL; on SQLite the write transaction already excludes every other writer)."""
    return query if db.is_sqlite else query.with_for_update(of=tables, skip_locked=True)


def _delete_some(
    conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool], limit: int
) -> int:
    """Deletes up to `limit` rows of `table` matching `where`, by primary key."""
    key = list(table.primary_key.columns)
    rows = conn.execute(sa.select(*key).where(where).limit(limit)).all()
    if not rows:
        return 0
    if len(key) == 1:
        conn.execute(sa.delete(table).where(key[0].in_([row[0] for row in rows])))
    else:
        conn.execute(
            sa.delete(table).where(*(c == sa.bindparam(f"key_{c.name}") for c in key)),
            [{f"key_{c.name}": value for c, value in zip(key, row, strict=True)} for row in rows],
        )
    return len(rows)
