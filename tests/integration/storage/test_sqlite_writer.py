"""SQLite's write path: inline transactions (statements on the event loop, COMMIT on the
writer thread) and what happens when another program holds the write lock."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlalchemy as sa

from alertrouter.storage import migrate
from alertrouter.storage.database import open_database
from alertrouter.storage.tables import silences
from tests.integration.storage.test_wal_checkpoint import silence_row as _silence


def _insert(i: int):
    return lambda conn: conn.execute(sa.insert(silences), [_silence(i)]).rowcount


@pytest.fixture
async def sqlite_db(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url, busy_timeout_ms=10_000)
    yield db, tmp_path / "w.db"
    await db.dispose()


async def _ids(db) -> list[str]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(silences.c.id).order_by("id"))).scalars())


async def test_inline_and_threaded_transactions_interleave(sqlite_db):
    db, _ = sqlite_db
    results = await asyncio.gather(
        *(db.run_write(_insert(i), inline=i % 2 == 0) for i in range(20))
    )
    assert results == [1] * 20
    assert len(await _ids(db)) == 20


async def test_a_failing_inline_transaction_writes_nothing(sqlite_db):
    db, _ = sqlite_db

    def half_then_fail(conn: sa.Connection) -> None:
        conn.execute(sa.insert(silences), [_silence(1)])
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.run_write(half_then_fail, inline=True)
    await db.run_write(_insert(2), inline=True)
    assert await _ids(db) == ["s2"]


async def test_a_lock_held_elsewhere_is_waited_for_off_the_event_loop(sqlite_db):
    db, path = sqlite_db
    await db.run_write(_insert(0), inline=True)  # as after start-up: connected, in WAL mode
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(db.run_write(_insert(1), inline=True))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the write waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not write.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await write == 1
    assert await _ids(db) == ["s0", "s1"]


async def test_a_migrated_database_is_in_wal_mode_so_a_first_write_beside_a_reader_works(
    sqlite_db,
):
    """Switching to WAL needs an exclusive lock and fails at once beside a reader: migrations
    do it, before anything serves (this once made the first ingest after start-up a 503)."""
    db, path = sqlite_db
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM silences").fetchone()  # holds a read lock
        assert await db.run_write(_insert(1), inline=True) == 1  # the first write: connects
    finally:
        reader.execute("ROLLBACK")
        reader.close()
