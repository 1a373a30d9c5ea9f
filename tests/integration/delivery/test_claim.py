"""The outbox claim on a real database (SQLite file, PostgreSQL): stream order through the
stream heads (delivery.streams), leases, rate slots, integration kinds, and the plan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
import sqlalchemy as sa

from alertrouter.delivery import deliveries, outbox, streams
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Sent
from alertrouter.storage import migrate
from alertrouter.storage.database import Database, open_database
from alertrouter.storage.tables import outbox as outbox_table

NOW = 1_795_000_000_000
LEASE = 30_000
WEBHOOK = {"webhook": 8}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(migrate.upgrade, database_url)
    database = open_database(database_url)
    yield database
    await database.dispose()


def message(topic: str, n: int, *, kind: str = "webhook", rate_key: str | None = None):
    return outbox.NewMessage(
        incident_id=None,
        receiver="team",
        integration=f"{kind}:0",
        op="post",
        reason="first",
        body={"topic": topic, "n": n},
        rate_key=rate_key,
        topic=topic,
    )


async def queue(db: Database, messages: Sequence[outbox.NewMessage], now: int = NOW) -> None:
    await db.run_write(
        lambda conn: outbox.enqueue(db, conn, [(m, now + 3_600_000) for m in messages], now)
    )


async def claim(
    db: Database,
    now: int = NOW,
    capacity: dict[str, int] | None = None,
    *,
    interval: int = 0,
    **options: object,
) -> list[outbox.Claimed]:
    result = await db.run_write(
        lambda conn: outbox.claim(
            db,
            conn,
            now,
            capacity=capacity or WEBHOOK,
            lease_ms=LEASE,
            rate_interval_ms=lambda key: interval,
            **options,
        )
    )
    return result.rows


async def sent(db: Database, rows: Sequence[outbox.Claimed], now: int = NOW) -> None:
    await db.run_write(
        lambda conn: outbox.record_sent_many(db, conn, [(r, Sent(status=200), now) for r in rows])
    )


async def heads(db: Database) -> list[tuple[str, int]]:
    """(topic, n) of every pending row flagged as its stream's head."""
    async with db.read() as conn:
        bodies = await conn.execute(
            sa.select(outbox_table.c.body)
            .where(outbox_table.c.status == outbox.PENDING, outbox_table.c.stream_head)
            .order_by(outbox_table.c.id)
        )
        return [(b["topic"], b["n"]) for (b,) in bodies]


def taken(rows: Sequence[outbox.Claimed]) -> list[tuple[str, int]]:
    return [(r.body["topic"], r.body["n"]) for r in rows]


async def test_only_the_first_pending_row_of_a_stream_is_its_head(db):
    await queue(db, [message("a", 1), message("b", 1), message("a", 2), message("c", 1)])
    await queue(db, [message("a", 3), message("d", 1), message("d", 2)])
    assert await heads(db) == [("a", 1), ("b", 1), ("c", 1), ("d", 1)]


async def test_a_stream_goes_out_in_order_one_row_at_a_time(db):
    await queue(db, [message("a", n) for n in range(1, 4)] + [message("b", 1)])
    first = await claim(db)
    assert taken(first) == [("a", 1), ("b", 1)]
    assert await claim(db) == []  # a2 waits for a1's outcome
    await sent(db, first)
    assert await heads(db) == [("a", 2)]
    second = await claim(db)
    assert taken(second) == [("a", 2)]
    await db.run_write(
        lambda conn: outbox.record_failure(
            db, conn, second[0], DeliveryError(ErrorKind.CLIENT, "400"), NOW, None
        )
    )
    assert taken(await claim(db)) == [("a", 3)]  # a dead row lets the next one go


async def test_each_claimed_row_comes_with_its_own_streams_thread(db):
    await queue(db, [message("a", 1), message("a", 2), message("b", 1)])
    first = await claim(db, capacity={"webhook": 1})
    await db.run_write(
        lambda conn: outbox.record_sent_many(db, conn, [(first[0], Sent(ref={"ts": "a"}), NOW)])
    )
    rows = await claim(db)
    assert {(r.body["topic"], r.body["n"]): r.thread for r in rows} == {
        ("a", 2): {"ts": "a"},
        ("b", 1): None,
    }


async def test_a_row_to_be_retried_keeps_its_turn(db):
    await queue(db, [message("a", 1), message("a", 2)])
    (first,) = await claim(db)
    error = DeliveryError(ErrorKind.SERVER, "503")
    await db.run_write(lambda conn: outbox.record_failure(db, conn, first, error, NOW, NOW + 1_000))
    assert await claim(db, NOW + 500) == []
    again = await claim(db, NOW + 1_000)
    assert taken(again) == [("a", 1)] and again[0].attempts == 2


async def test_a_lease_holds_a_row_until_it_runs_out_then_it_is_claimed_again(db):
    """What a replica killed mid-send leaves behind: its rows wait for their lease, then go to
    whoever claims next, through the stream heads like any other row."""
    await queue(db, [message("a", 1), message("a", 2)])
    (first,) = await claim(db)
    assert await claim(db, NOW + LEASE - 1) == []
    (again,) = await claim(db, NOW + LEASE)
    assert (again.id, again.attempts) == (first.id, 2)


async def test_each_claim_takes_a_row_once(db):
    await queue(db, [message(f"t{i}", 1) for i in range(12)])
    both = await asyncio.gather(claim(db), claim(db), claim(db))
    ids = [r.id for rows in both for r in rows]
    assert len(ids) == len(set(ids))
    rest = await claim(db, capacity={"webhook": 12})
    assert sorted(ids + [r.id for r in rest]) == sorted({*ids, *(r.id for r in rest)})
    assert len(ids) + len(rest) == 12


async def test_a_claim_locks_only_the_rows_it_can_take(pg_database):
    """While one replica's claim is open, another's takes the next rows: a claim with one free
    slot used to lock every candidate it read (up to 200), and a concurrent claim found none."""
    await asyncio.to_thread(migrate.upgrade, pg_database)
    db = open_database(pg_database)
    try:
        await queue(db, [message(f"t{i}", 1) for i in range(3)])
        assert db.async_writer is not None
        async with db.async_writer.begin() as open_claim:
            first = await open_claim.run_sync(
                lambda conn: outbox.claim(
                    db, conn, NOW, capacity={"webhook": 1}, lease_ms=LEASE,
                    rate_interval_ms=lambda key: 0,
                )
            )  # fmt: skip
            assert taken(first.rows) == [("t0", 1)]
            assert taken(await claim(db, capacity={"webhook": 1})) == [("t1", 1)]
    finally:
        await db.dispose()


async def test_rows_a_claim_cannot_take_do_not_stop_it_from_reading_on(db):
    """Read a page as long as the free slots first, then on: rows of a rate key already used
    are skipped, and the claim still fills its slots with the rows behind them."""
    keyed = [message(f"k{i}", 1, kind="slack", rate_key="slack:#ops") for i in range(5)]
    await queue(db, [*keyed, message("other", 1, kind="slack", rate_key="slack:#dev")])
    rows = await claim(db, capacity={"slack": 2}, interval=1_000)
    assert taken(rows) == [("k0", 1), ("other", 1)]


async def test_one_row_per_rate_key_and_slot(db):
    await queue(db, [message(f"t{i}", 1, kind="slack", rate_key="slack:#ops") for i in range(3)])
    capacity = {"slack": 4}
    assert taken(await claim(db, capacity=capacity, interval=1_000)) == [("t0", 1)]
    assert await claim(db, NOW + 999, capacity=capacity, interval=1_000) == []
    assert taken(await claim(db, NOW + 1_000, capacity=capacity, interval=1_000)) == [("t1", 1)]


async def test_a_full_integration_kind_does_not_hold_back_another(db):
    """The claim reads rows of the kinds with free slots only: webhooks queued first and
    filling the scan used to keep a Slack message waiting while every webhook slot was busy."""
    await queue(db, [message(f"w{i}", 1) for i in range(3)] + [message("s", 1, kind="slack")])
    rows = await claim(db, capacity={"webhook": 0, "slack": 1}, scan=2)
    assert taken(rows) == [("s", 1)]


async def test_the_full_scan_finds_a_head_that_lost_its_flag(db):
    """A race (two transactions queueing and recording in one stream at once) can leave a head
    without its flag: the claim's full scan, once per poll interval, finds and flags it."""
    await queue(db, [message("a", 1)])
    await db.run_write(lambda conn: conn.execute(sa.update(outbox_table).values(stream_head=False)))
    assert await claim(db) == []
    assert taken(await claim(db, full_scan=True, capacity={"webhook": 0, "slack": 1})) == []
    assert await heads(db) == []  # no webhook slot free: not read, not flagged
    assert taken(await claim(db, full_scan=True)) == [("a", 1)]
    assert await heads(db) == [("a", 1)]


async def test_a_requeued_dead_row_is_its_streams_head_again(db):
    await queue(db, [message("a", 1)])
    (row,) = await claim(db)
    await db.run_write(
        lambda conn: outbox.record_failure(
            db, conn, row, DeliveryError(ErrorKind.CLIENT, "400"), NOW, None
        )
    )
    await db.run_write(lambda conn: deliveries.requeue(conn, row.id, NOW, NOW + 60_000))
    assert taken(await claim(db)) == [("a", 1)]


async def test_promoting_a_stream_without_pending_rows_changes_nothing(db):
    await queue(db, [message("a", 1)])
    (row,) = await claim(db)
    await sent(db, [row])
    await db.run_write(lambda conn: streams.promote(db, conn, [row.stream, "no/such/stream"]))
    assert await heads(db) == []


async def test_sqlite_plans_the_claim_and_the_next_wake_up_on_the_heads_index(tmp_path):
    """The claim reads the flagged rows in order through ix_outbox_heads and stops at the limit
    (only the rows taken are sorted again, and checked), so its cost does not grow with the
    queue; planned any other way it sorts every pending row first. The same for when the next
    row falls due, read on every pass that leaves a slot free."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)

    async def plan(query: sa.Select) -> list[tuple[int, int, str]]:
        sql = str(query.compile(db.reader, compile_kwargs={"literal_binds": True}))
        async with db.read() as conn:
            rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()
        return [(node, parent, detail) for node, parent, _, detail in rows]

    try:
        claim_plan = await plan(streams.candidates_query(NOW, 200, heads_only=True))
        (reading,) = [parent for _, parent, d in claim_plan if "INDEX ix_outbox_heads" in d]
        sorts = [d for _, parent, d in claim_plan if parent == reading and "TEMP B-TREE" in d]
        assert not sorts, claim_plan  # in the index's order, up to the limit
        due_plan = await plan(streams.next_due_query(NOW))
        assert any("ix_outbox_heads" in d for _, _, d in due_plan), due_plan
        assert not any("TEMP B-TREE" in d for _, _, d in due_plan), due_plan
    finally:
        await db.dispose()
