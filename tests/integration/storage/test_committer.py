"""The group committer on a real database: on PostgreSQL several batches are written at once
(each on its own connection), each submitter answered only after its own batch committed and
only with its own batch's result; on SQLite one batch at a time; a failing submission fails
only itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest
import sqlalchemy as sa

from alertrouter.storage.committer import GroupCommitter
from alertrouter.storage.database import open_database
from alertrouter.storage.migrate import upgrade
from tests.integration.conftest import eventually

LOCK = 4242  # the advisory lock the test holds to keep batches in flight


def write(conn: sa.Connection, items: Sequence[int]) -> tuple[int, ...]:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({LOCK})")
    if any(item < 0 for item in items):
        raise ValueError("negative")
    return tuple(items)


async def test_postgresql_writes_several_batches_at_once(pg_database):
    await asyncio.to_thread(upgrade, pg_database)
    db = open_database(pg_database, commits_in_flight=3)
    seen: list[int] = []
    committer = GroupCommitter(db, write, on_in_flight=seen.append, max_in_flight=3)
    committer.start()
    holder = await asyncpg.connect(pg_database)
    try:
        await holder.execute(f"SELECT pg_advisory_lock({LOCK})")
        first = []
        for n in range(3):  # one at a time, so that each is a batch of its own
            first.append(asyncio.create_task(committer.submit([n])))

            async def in_flight(count: int = n + 1) -> bool:
                return committer.in_flight == count

            await eventually(in_flight)
        later = [asyncio.create_task(committer.submit([n])) for n in range(3, 8)]
        await asyncio.sleep(0.2)
        assert committer.in_flight == 3  # all slots busy: the later ones wait, queued together
        assert not any(task.done() for task in first + later)
        await holder.execute(f"SELECT pg_advisory_unlock({LOCK})")
        answers = await asyncio.gather(*first, *later)
    finally:
        await holder.close()
        await committer.stop()
        await db.dispose()
    for n, answer in enumerate(answers):
        assert n in answer  # the result of the batch its items were written in
    assert answers[:3] == [(0,), (1,), (2,)]  # one batch each, written at once
    assert answers[3] == tuple(range(3, 8))  # what waited formed one batch
    assert max(seen) == 3 and seen[-1] == 0


async def test_sqlite_writes_one_batch_at_a_time(tmp_path):
    url = f"sqlite:///{tmp_path}/one.db"
    await asyncio.to_thread(upgrade, url)
    db = open_database(url)
    seen: list[int] = []
    committer = GroupCommitter(
        db, write, on_in_flight=seen.append, max_in_flight=db.commits_in_flight
    )
    committer.start()
    try:
        answers = await asyncio.gather(*(committer.submit([n]) for n in range(20)))
    finally:
        await committer.stop()
        await db.dispose()
    assert db.commits_in_flight == 1
    assert max(seen) == 1
    assert all(n in answer for n, answer in enumerate(answers))


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_a_failing_submission_fails_only_itself(database_url, in_flight):
    await asyncio.to_thread(upgrade, database_url)
    db = open_database(database_url, commits_in_flight=in_flight)
    committer = GroupCommitter(db, write, max_in_flight=db.commits_in_flight)
    committer.start()
    try:
        results = await asyncio.gather(
            *(committer.submit([n]) for n in (1, 2, -3, 4, 5)), return_exceptions=True
        )
    finally:
        await committer.stop()
        await db.dispose()
    assert isinstance(results[2], ValueError)
    for n, result in zip((1, 2, 4, 5), results[:2] + results[3:], strict=True):
        assert not isinstance(result, Exception) and n in result
