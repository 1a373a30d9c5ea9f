"""Coalescing: of several queued messages that set the same thing in full (an incident's Slack
message, its PagerDuty alert), only the newest is sent.

The integrations say which messages those are (`notifiers.registry.state_key`). When the claim
finds the head of a stream (its oldest pending row) and later pending rows of that stream set
the same thing, every such row but the newest is marked `superseded` instead of being sent: in
the delivery log with "superseded by notification N", and on the incident's timeline. The newest
stays pending and goes out in stream order, after every row before it; rows that are messages of
their own (a Slack thread reply, an email) are never superseded. Neither is a creation: the
first such row of a stream while the far side has nothing yet (no thread stored), or the first
after a `RESTART` (a PagerDuty resolve).

Safe across replicas: the claim holds the head's row lock (FOR UPDATE SKIP LOCKED), and no
replica claims a row while an earlier row of its stream is pending, so none of the rows behind
the head is in flight or can be claimed until this transaction commits. A stream with a row
under a live lease (a dead row re-queued behind one already claimed) is left as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.delivery import streams as stream_heads
from alertrouter.delivery.outcomes import PENDING, SUPERSEDED, timeline_event
from alertrouter.notifiers import registry
from alertrouter.notifiers.base import RESTART
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.tables import delivery_threads, outbox


@dataclass(frozen=True, slots=True)
class Queued:
    """One pending row of a stream, as coalescing sees it."""

    id: int
    key: str | None  # the integration's state key (None: a message of its own)
    leased: bool


def plan(rows: Sequence[Queued], *, has_thread: bool) -> dict[int, int]:
    """Which of one stream's pending rows (oldest first) need not be sent, each mapped to the
    newest row with its key that replaces it. Pure."""
    if any(row.leased for row in rows):
        return {}
    runs: defaultdict[tuple[int, str], list[int]] = defaultdict(list)
    epoch = 0  # counts RESTARTs: each starts the far side's object anew
    for row in rows:
        if row.key == RESTART:
            epoch += 1
        elif row.key is not None:
            runs[epoch, row.key].append(row.id)
    replaced: dict[int, int] = {}
    for (run_epoch, _), ids in runs.items():
        creates = run_epoch > 0 or not has_thread  # its first row makes the object: kept
        for row_id in ids[1 if creates else 0 : -1]:
            replaced[row_id] = ids[-1]
    return replaced


def supersede(db: Database, conn: sa.Connection, head_ids: Sequence[int], now: int) -> list[str]:
    """Marks the rows that later rows replace in the streams of these heads (claimed rows,
    locked by the caller). Returns the integration kind of each row superseded."""
    if not head_ids:
        return []
    streams = _streams_to_coalesce(db, conn, head_ids)
    if not streams:
        return []
    threads = set(
        conn.execute(
            sa.select(delivery_threads.c.stream).where(delivery_threads.c.stream.in_(streams))
        ).scalars()
    )
    queued = conn.execute(
        sa.select(
            outbox.c.id,
            outbox.c.incident_id,
            outbox.c.receiver,
            outbox.c.integration,
            outbox.c.stream,
            outbox.c.op,
            outbox.c.reason,
            outbox.c.attempts,
            outbox.c.body,
            outbox.c.lease_until,
        )
        .where(outbox.c.status == PENDING, outbox.c.stream.in_(streams), _may_set_state())
        .order_by(outbox.c.id)
    ).all()
    by_stream: defaultdict[str, list[Any]] = defaultdict(list)
    for row in queued:
        by_stream[row.stream].append(row)
    replaced: dict[int, int] = {}
    for stream, rows in by_stream.items():
        views = [
            Queued(
                r.id,
                registry.state_key(r.integration, r.op, r.body),
                r.lease_until is not None and r.lease_until > now,
            )
            for r in rows
        ]
        replaced.update(plan(views, has_thread=stream in threads))
    if not replaced:
        return []
    superseded = [r for r in queued if r.id in replaced]
    _mark(db, conn, superseded, replaced, now)
    stream_heads.promote(db, conn, {r.stream for r in superseded})  # a head may have gone
    return [r.integration.partition(":")[0] for r in superseded]


def _streams_to_coalesce(db: Database, conn: sa.Connection, head_ids: Sequence[int]) -> list[str]:
    """The streams of those heads that may set state and have a later pending row with the same
    op: only there can anything be replaced (no bodies are read for the others). Run on every
    claim, so built once."""
    query = db.cached("coalesce.streams", _streams_query)
    return list(conn.execute(query, {"heads": list(head_ids)}).scalars())


def _streams_query() -> sa.Select[Any]:
    later = outbox.alias("later")
    same_op_later = (
        sa.select(later.c.id)
        .where(
            later.c.stream == outbox.c.stream,
            later.c.status == PENDING,
            later.c.id > outbox.c.id,
            later.c.op == outbox.c.op,
        )
        .exists()
    )
    heads = sa.bindparam("heads", expanding=True, type_=outbox.c.id.type)
    return sa.select(outbox.c.stream).where(outbox.c.id.in_(heads), _may_set_state(), same_op_later)


def _may_set_state() -> sa.ColumnElement[bool]:
    """Rows of an integration and op that may have a state key."""
    return sa.or_(
        *(
            sa.and_(outbox.c.integration.startswith(f"{kind}:"), outbox.c.op.in_(ops))
            for kind, ops in registry.STATE_OPS.items()
        )
    )


def _mark(
    db: Database, conn: sa.Connection, rows: Sequence[Any], replaced: dict[int, int], now: int
) -> None:
    conn.execute(
        sa.update(outbox)
        .where(
            outbox.c.id == sa.bindparam("row_id"),
            outbox.c.status == PENDING,
        )
        .values(
            status=SUPERSEDED,
            lease_until=None,
            updated_at=now,
            detail=sa.bindparam("note"),
        ),
        [{"row_id": r.id, "note": f"superseded by notification {replaced[r.id]}"} for r in rows],
    )
    events = [
        timeline_event(r, now, "notification_superseded", superseded_by=replaced[r.id])
        for r in rows
        if r.incident_id is not None
    ]
    if events:
        timeline.append(db, conn, events)
