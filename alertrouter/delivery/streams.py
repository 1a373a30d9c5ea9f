"""Whose turn it is in each outbox stream: the `stream_head` flag, and the rows a claim may take.

Rows of one stream go out in order: a row is claimed only while no earlier row of its stream is
pending. The claim checks that itself, row by row; so that it checks only rows that can pass,
however long the queue behind them, it reads the rows flagged `stream_head` (through
ix_outbox_heads). The flag is kept on the earliest pending row of each stream:

- a new row is flagged when its stream has no pending row and it is the first of its stream in
  its batch (`in_turn`, at enqueue);
- when rows stop being pending (sent, dead), the earliest pending row left in each of their
  streams is flagged (`promote`, in the same transaction);
- a row put back in the queue is flagged (delivery.deliveries.requeue);
- the claim's full scan (every row checked, once per poll interval) flags the heads it finds
  without the flag (`flag`).

The flag never decides the order (the claim's check does): a flag on a row that is not its
stream's head costs that row's check on each claim until its turn comes. A head left without
the flag (two transactions queueing and recording in one stream at the same moment, on
PostgreSQL) waits for the next full scan.

`candidates` are the rows a claim may take now, oldest first; `next_due` is when the next head
falls due. Both read ix_outbox_heads, so they cost the same however long the queue is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.database import Database
from alertrouter.storage.statements import DriverStatement
from alertrouter.storage.tables import outbox

_PENDING = "pending"  # delivery.outbox.PENDING (that module imports this one)


def in_turn(conn: sa.Connection, streams: Sequence[str]) -> list[bool]:
    """For rows about to be queued in this order, whether each is its stream's head."""
    wanted = set(streams)
    seen: set[str] = set()  # streams with a pending row, then also those queued here
    if wanted:
        pending = sa.select(outbox.c.stream).where(
            outbox.c.status == _PENDING, outbox.c.stream.in_(wanted)
        )
        seen.update(conn.execute(pending.distinct()).scalars())
    heads = []
    for stream in streams:
        heads.append(stream not in seen)
        seen.add(stream)
    return heads


def promote(db: Database, conn: sa.Connection, streams: Iterable[str]) -> None:
    """After rows of these streams stopped being pending: flags each stream's earliest pending
    row left."""
    statement = db.cached("outbox.promote", lambda: _promote(db))
    statement.run_many(conn, [{"stream": stream} for stream in sorted(set(streams))])


def _promote(db: Database) -> DriverStatement:
    later = outbox.alias("later")
    earliest = (
        sa.select(sa.func.min(later.c.id))
        .where(
            later.c.stream == sa.bindparam("stream", type_=outbox.c.stream.type),
            later.c.status == sa.literal_column(f"'{_PENDING}'"),
        )
        .scalar_subquery()
    )
    return DriverStatement(
        sa.update(outbox)
        .where(outbox.c.id == earliest, outbox.c.stream_head == sa.false())
        .values(stream_head=sa.true()),
        db.dialect,
    )


def flag(conn: sa.Connection, ids: Collection[int]) -> None:
    if ids:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids)).values(stream_head=True))


def candidates(
    db: Database,
    conn: sa.Connection,
    now: int,
    limit: int,
    kinds: tuple[str, ...],
    heads_only: bool,
    after: tuple[int, int] | None,
) -> list[Any]:
    """candidates_query's rows, locked (PostgreSQL, SKIP LOCKED); statements built once."""
    paged = after is not None
    query = db.cached(
        f"outbox.candidates:{','.join(kinds)}:{heads_only}:{paged}",
        lambda: _candidates_query(kinds, heads_only, paged, db),
    )
    params = {"now": now, "limit": limit}
    if after is not None:
        params |= {"after_at": after[0], "after_id": after[1]}
    return conn.execute(query, params).all()


def candidates_query(
    now: int,
    limit: int,
    *,
    kinds: Sequence[str] = (),
    heads_only: bool = False,
    after: tuple[int, int] | None = None,
) -> sa.Select[Any]:
    """Due, unleased pending rows with no earlier pending row in their stream, oldest first
    (after the row `after`, (next_attempt_at, id), if given); of the integration `kinds` only,
    if any are given. The stream check runs per row, on ix_outbox_pending_stream, before the
    limit. `heads_only` takes the first `limit` rows flagged as their stream's head (through
    ix_outbox_heads) and checks those only: however the planner reads them (in order, or all
    of them and a top-N sort, as PostgreSQL does while its statistics still see an empty
    queue), no row is checked that the limit would drop."""
    params = {"now": now, "limit": limit}
    if after is not None:
        params |= {"after_at": after[0], "after_id": after[1]}
    return _candidates_query(tuple(kinds), heads_only, after is not None).params(params)


_EARLIER = outbox.alias("earlier")
_HEADS = outbox.alias("heads")


def _candidates_query(
    kinds: tuple[str, ...], heads_only: bool, paged: bool, db: Database | None = None
) -> sa.Select[Any]:
    """`db`: lock the rows read (PostgreSQL, SKIP LOCKED)."""
    limit = sa.bindparam("limit", type_=sa.Integer)
    earlier = _EARLIER
    earlier_pending = (
        sa.select(earlier.c.id)
        .where(
            earlier.c.stream == outbox.c.stream,
            earlier.c.status == _PENDING,
            earlier.c.id < outbox.c.id,
        )
        .exists()
    )
    columns = sa.select(
        outbox.c.id,
        outbox.c.integration,
        outbox.c.rate_key,
        outbox.c.stream_head,
        outbox.c.next_attempt_at,
    )
    order = (outbox.c.next_attempt_at, outbox.c.id)
    if not heads_only:
        query = columns.where(*_due(outbox, kinds, paged), ~earlier_pending)
        query = query.order_by(*order).limit(limit)
        return query if db is None else db.for_update(query, skip_locked=True)
    heads = _HEADS
    first = sa.select(heads.c.id).where(
        *_due(heads, kinds, paged), heads.c.stream_head == sa.true()
    )
    first = first.order_by(heads.c.next_attempt_at, heads.c.id).limit(limit)
    if db is not None:
        first = db.for_update(first, skip_locked=True)
    return columns.where(outbox.c.id.in_(first), ~earlier_pending).order_by(*order)


def _due(table: sa.FromClause, kinds: tuple[str, ...], paged: bool) -> list[Any]:
    """Pending, due, unleased, of the `kinds`, after the row (after_at, after_id) if `paged`."""
    now = sa.bindparam("now", type_=outbox.c.next_attempt_at.type)
    due = [
        table.c.status == _PENDING,
        table.c.next_attempt_at <= now,
        sa.or_(table.c.lease_until.is_(None), table.c.lease_until <= now),
    ]
    if kinds:
        due.append(sa.or_(*(table.c.integration.startswith(f"{k}:") for k in kinds)))
    if paged:
        last = (sa.bindparam("after_at", type_=outbox.c.next_attempt_at.type),
                sa.bindparam("after_id", type_=outbox.c.id.type))  # fmt: skip
        due.append(sa.tuple_(table.c.next_attempt_at, table.c.id) > sa.tuple_(*last))
    return due


def next_due(conn: sa.Connection, now: int) -> int | None:
    """When the next row that may be claimed (its stream's head) falls due after `now`. Rows
    leased by another replica are not included: the worker's poll interval bounds how late
    their expiry is noticed."""
    return conn.execute(next_due_query(now)).scalar()


def next_due_query(now: int) -> sa.Select[Any]:
    """On ix_outbox_heads (SQLite planned the earlier form, over all pending rows, on
    ix_outbox_status_id: every pending row read, on every pass)."""
    return sa.select(sa.func.min(outbox.c.next_attempt_at)).where(
        outbox.c.status == _PENDING,
        outbox.c.stream_head == sa.true(),
        outbox.c.next_attempt_at > now,
    )
