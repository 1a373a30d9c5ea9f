"""The outbox table: messages queued by a flush, claimed by delivery workers, their outcomes
(the delivery log the API shows is delivery.deliveries).

A row is `pending` until sent (`sent`), given up on (`dead`) or replaced by a later row of its
stream before it was sent (`superseded`, delivery.coalesce). A worker claims a row by setting
`lease_until` (and counting the attempt) in a short transaction, sends without holding any lock,
and records the outcome in another. If the process dies in between, the lease runs out and the
row is claimed again: delivery is at least once, and a message is repeated only when a process
died (or lost the database) after sending it and before recording that.

Rows of one stream (incident x receiver x integration) go out in order: a row is not claimed while
an earlier row of its stream is pending. The claim reads only the rows flagged as their stream's
head (delivery.streams), so its cost does not grow with the queue. A message about no incident
(an on-call hand-off, a Slack user group update) has no `incident_id` and names its stream by a
`topic` instead ("schedule:payments"); its outcome is in the delivery log but on no incident's
timeline.
Rows with a rate key take turns through `rate_slots`, one row per key per interval, held in the
database so that replicas share the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.delivery import coalesce, streams
from alertrouter.delivery.outcomes import DEAD, PENDING, SENT, timeline_event
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Sent
from alertrouter.storage import timeline
from alertrouter.storage.database import Database
from alertrouter.storage.statements import DriverStatement, column_binds, compiled_insert
from alertrouter.storage.tables import delivery_threads, outbox, rate_slots


@dataclass(frozen=True, slots=True)
class NewMessage:
    incident_id: int | None  # None: a message about no incident, streamed by `topic`
    receiver: str
    integration: str  # "slack:0"
    op: str
    reason: str
    body: dict[str, Any]
    rate_key: str | None
    topic: str | None = None  # what a message about no incident is about: "schedule:payments"

    def __post_init__(self) -> None:
        if (self.incident_id is None) == (self.topic is None):
            raise ValueError("an outbox message has an incident_id or a topic, not both")

    @property
    def stream(self) -> str:
        if self.incident_id is None:
            return topic_stream(str(self.topic), self.receiver, self.integration)
        return stream_of(self.incident_id, self.receiver, self.integration)


def stream_of(incident_id: int, receiver: str, integration: str) -> str:
    return f"{incident_id}/{integration}/{receiver}"


def topic_stream(topic: str, receiver: str, integration: str) -> str:
    return f"{topic}/{integration}/{receiver}"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    incident_id: int | None
    receiver: str
    integration: str
    stream: str
    op: str
    reason: str
    body: dict[str, Any]
    rate_key: str | None
    attempts: int  # including this one
    created_at: int
    deadline_at: int
    thread: dict[str, Any] | None  # the stream's stored reference, e.g. Slack channel + ts

    @property
    def kind(self) -> str:
        return self.integration.partition(":")[0]


_ENQUEUE_KEYS = (
    "incident_id", "receiver", "integration", "stream", "op", "reason", "body", "rate_key",
    "status", "attempts", "created_at", "next_attempt_at", "deadline_at", "updated_at",
    "stream_head",
)  # fmt: skip


def enqueue(
    db: Database, conn: sa.Connection, messages: Sequence[tuple[NewMessage, int]], now: int
) -> None:
    """Queues each message until its deadline (epoch ms)."""
    insert = db.cached("outbox.enqueue", lambda: compiled_insert(outbox, _ENQUEUE_KEYS, db.dialect))
    heads = streams.in_turn(conn, [m.stream for m, _ in messages])
    insert.run_many(
        conn,
        [
            {
                "incident_id": m.incident_id,
                "receiver": m.receiver,
                "integration": m.integration,
                "stream": m.stream,
                "op": m.op,
                "reason": m.reason,
                "body": m.body,
                "rate_key": m.rate_key,
                "status": PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "deadline_at": deadline,
                "updated_at": now,
                "stream_head": head,
            }
            for (m, deadline), head in zip(messages, heads, strict=True)
        ],
    )


def enqueue_dead(
    conn: sa.Connection, message: NewMessage, now: int, error: str, kind: ErrorKind
) -> None:
    """A message that could not even be composed: in the delivery log, never sent."""
    conn.execute(
        sa.insert(outbox).values(
            incident_id=message.incident_id,
            receiver=message.receiver,
            integration=message.integration,
            stream=message.stream,
            op=message.op,
            reason=message.reason,
            body=message.body,
            rate_key=None,
            status=DEAD,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
            deadline_at=now,
            updated_at=now,
            last_error=error,
            last_error_kind=str(kind),
        )
    )


@dataclass(frozen=True, slots=True)
class ClaimResult:
    rows: list[Claimed]
    # Due rows were held back by a rate slot; the earliest such slot opens at this time.
    rate_wait_until: int | None
    # When the next row that may be claimed falls due (streams.next_due), read when the claim
    # left a slot free.
    next_due: int | None = None
    # The integration kind of each row superseded by a later one (delivery.coalesce).
    superseded: tuple[str, ...] = ()


def claim(
    db: Database,
    conn: sa.Connection,
    now: int,
    *,
    capacity: Mapping[str, int],
    lease_ms: int,
    rate_interval_ms: Callable[[str], int],
    scan: int = 200,
    full_scan: bool = False,
) -> ClaimResult:
    """Leases due rows: at most `capacity[kind]` per integration kind, one per open rate slot,
    reading at most `scan` rows. It reads the rows flagged as their stream's head, a page as
    long as the free slots first, then pages twice as long while rows read could not be taken
    (a rate key used or closed, a kind filled up): the rows read stay locked until COMMIT, and
    another replica's claim meanwhile skips them. `full_scan` checks every pending row instead,
    in one page, and flags the heads it finds without the flag (see delivery.streams). Rows of
    the heads' streams that a later row replaces are superseded first, unsent
    (delivery.coalesce), and the page is read again: their streams' next rows are heads now."""
    left = {kind: free for kind, free in capacity.items() if free > 0}
    if not left:
        return ClaimResult([], None)
    superseded: list[str] = []
    chosen: list[int] = []
    seen_keys: set[str] = set()  # one row per rate key per claim, at most
    blocked: list[str] = []
    after: tuple[int, int] | None = None  # the last row read
    limit, read = (scan if full_scan else min(scan, sum(left.values()))), 0
    while True:
        kinds = tuple(sorted(kind for kind, free in left.items() if free > 0))
        candidates = streams.candidates(db, conn, now, limit, kinds, not full_scan, after)
        if full_scan:
            streams.flag(conn, [row.id for row in candidates if not row.stream_head])
        replaced = coalesce.supersede(db, conn, [row.id for row in candidates], now)
        if replaced:
            superseded += replaced
            candidates = streams.candidates(db, conn, now, limit, kinds, not full_scan, after)
            if full_scan:
                streams.flag(conn, [row.id for row in candidates if not row.stream_head])
        for row in candidates:
            kind = row.integration.partition(":")[0]
            if left.get(kind, 0) <= 0:
                continue
            key = row.rate_key
            if key is not None and (interval := rate_interval_ms(key)) > 0:
                if key in seen_keys:
                    continue
                seen_keys.add(key)
                if not _take_slot(db, conn, key, now, interval):
                    blocked.append(key)
                    continue
            left[kind] -= 1
            chosen.append(row.id)
        read += len(candidates)
        if len(candidates) < limit or read >= scan or not any(left.values()):
            break
        after = (candidates[-1].next_attempt_at, candidates[-1].id)
        limit = min(2 * limit, scan - read)
    rate_wait = _earliest_slot(conn, blocked) if blocked else None
    due = streams.next_due(conn, now) if len(chosen) < sum(capacity.values()) else None
    if not chosen:
        return ClaimResult([], rate_wait, due, tuple(superseded))
    lease = db.cached("outbox.lease", _lease_statement)
    leased = conn.execute(lease, {"ids": chosen, "lease_until": now + lease_ms, "now": now}).all()
    rows = [
        Claimed(
            id=r.id,
            incident_id=r.incident_id,
            receiver=r.receiver,
            integration=r.integration,
            stream=r.stream,
            op=r.op,
            reason=r.reason,
            body=r.body,
            rate_key=r.rate_key,
            attempts=r.attempts,
            created_at=r.created_at,
            deadline_at=r.deadline_at,
            thread=r.thread,
        )
        for r in sorted(leased, key=lambda r: r.id)
    ]
    return ClaimResult(rows, rate_wait, due, tuple(superseded))


def _lease_statement() -> sa.Update:
    """Leases the rows, returning each with its stream's stored reference (`thread`)."""
    # Spelled out: SQLite renders RETURNING's columns unqualified, and `stream = stream` in the
    # subquery would compare delivery_threads.stream with itself.
    row_stream = sa.literal_column("outbox.stream", type_=outbox.c.stream.type)
    thread = (
        sa.select(delivery_threads.c.ref)
        .where(delivery_threads.c.stream == row_stream)
        .scalar_subquery()
    )
    return (
        sa.update(outbox)
        .where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)))
        .values(
            lease_until=sa.bindparam("lease_until", type_=outbox.c.lease_until.type),
            attempts=outbox.c.attempts + 1,
            updated_at=sa.bindparam("now", type_=outbox.c.updated_at.type),
        )
        .returning(*outbox.c, thread.label("thread"))
    )


def _take_slot(db: Database, conn: sa.Connection, key: str, now: int, interval: int) -> bool:
    """Atomically: if the key's slot is open, close it until now + interval."""
    insert = db.insert(rate_slots).values(key=key, next_at=now + interval)
    taken = conn.execute(
        insert.on_conflict_do_update(
            index_elements=[rate_slots.c.key],
            set_={"next_at": now + interval},
            where=rate_slots.c.next_at <= now,
        ).returning(rate_slots.c.key)
    ).first()
    return taken is not None


def hold_rate_slot(db: Database, conn: sa.Connection, key: str, until: int) -> None:
    """Keeps the key's slot closed until at least `until`."""
    insert = db.insert(rate_slots).values(key=key, next_at=until)
    later = (sa.func.max if db.is_sqlite else sa.func.greatest)(rate_slots.c.next_at, until)
    conn.execute(
        insert.on_conflict_do_update(index_elements=[rate_slots.c.key], set_={"next_at": later})
    )


def _earliest_slot(conn: sa.Connection, keys: list[str]) -> int | None:
    return conn.execute(
        sa.select(sa.func.min(rate_slots.c.next_at)).where(rate_slots.c.key.in_(keys))
    ).scalar()


def _timeline(
    db: Database, conn: sa.Connection, row: Claimed, now: int, kind: str, **detail: Any
) -> None:
    if row.incident_id is None:  # about no incident: the delivery log is its record
        return
    timeline.append(db, conn, [timeline_event(row, now, kind, **detail)])


def record_sent_many(
    db: Database, conn: sa.Connection, items: Sequence[tuple[Claimed, Sent, int]]
) -> None:
    """Sent rows, a statement per table for all of them; the next row of each stream is up."""
    if not items:
        return
    db.cached("outbox.sent", lambda: _mark_sent(db)).run_many(
        conn,
        [
            {
                "row_id": row.id,
                "now": now,
                "detail": sent.detail or None,
                "answer_status": sent.status,
            }
            for row, sent, now in items
        ],
    )
    threads = [
        {"stream": row.stream, "ref": sent.ref, "updated_at": now}
        for row, sent, now in items
        if sent.ref is not None
    ]
    if threads:
        db.cached("outbox.thread", lambda: _upsert_thread(db)).run_many(conn, threads)
    events = [
        timeline_event(row, now, "notification_sent", detail=sent.detail)
        for row, sent, now in items
        if row.incident_id is not None  # about no incident: the delivery log is its record
    ]
    if events:
        timeline.append(db, conn, events)
    streams.promote(db, conn, [row.stream for row, _, _ in items])


def _mark_sent(db: Database) -> DriverStatement:
    return DriverStatement(
        sa.update(outbox)
        .where(outbox.c.id == sa.bindparam("row_id", type_=outbox.c.id.type))
        .values(
            status=sa.literal_column(f"'{SENT}'"),
            sent_at=sa.bindparam("now", type_=outbox.c.sent_at.type),
            lease_until=sa.null(),
            updated_at=sa.bindparam("now", type_=outbox.c.updated_at.type),
            detail=sa.bindparam("detail", type_=outbox.c.detail.type),
            last_status=sa.bindparam("answer_status", type_=outbox.c.last_status.type),
        ),
        db.dialect,
    )


def _upsert_thread(db: Database) -> DriverStatement:
    insert = db.insert(delivery_threads).values(
        column_binds(delivery_threads, ("stream", "ref", "updated_at"))
    )
    return DriverStatement(
        insert.on_conflict_do_update(
            index_elements=[delivery_threads.c.stream],
            set_={"ref": insert.excluded.ref, "updated_at": insert.excluded.updated_at},
        ),
        db.dialect,
    )


def record_failure(
    db: Database,
    conn: sa.Connection,
    row: Claimed,
    error: DeliveryError,
    now: int,
    retry_at: int | None,
    status: int | None = None,
) -> None:
    """A failed attempt: retried at `retry_at`, or dead-lettered when that is None."""
    values: dict[str, Any] = {
        "lease_until": None,
        "updated_at": now,
        "last_error": error.message[:2000],
        "last_error_kind": str(error.kind),
        "last_status": status,
    }
    if retry_at is None:
        values["status"] = DEAD
    else:
        values["next_attempt_at"] = retry_at
    conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(values))
    if error.kind is ErrorKind.RATE_LIMITED and row.rate_key is not None and retry_at is not None:
        # The service throttles the whole key (e.g. the channel): hold its other messages too.
        hold_rate_slot(db, conn, row.rate_key, retry_at)
    if retry_at is None:
        streams.promote(db, conn, [row.stream])
        _timeline(
            db,
            conn,
            row,
            now,
            "notification_failed",
            error=error.message,
            error_kind=str(error.kind),
        )
