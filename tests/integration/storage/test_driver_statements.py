"""The write path's statements that bypass SQLAlchemy's execution layer, on both backends."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from alertrouter.storage import migrate
from alertrouter.storage.database import open_database
from alertrouter.storage.statements import DriverStatement, MultiRowInsert
from alertrouter.storage.tables import groups

KEYS = (
    "key",
    "route_key",
    "receiver",
    "labels",
    "created_at",
    "group_wait_ms",
    "group_interval_ms",
    "repeat_interval_ms",
)


def _row(i: int) -> dict[str, object]:
    return {
        "key": f"g{i:04d}",
        "route_key": "{}",
        "receiver": "r",
        "labels": {"alertname": f"A{i}", "note": 'ünïcode "quoted"'},
        "created_at": i,
        "group_wait_ms": 1,
        "group_interval_ms": 2,
        "repeat_interval_ms": 3,
    }


@pytest.fixture
async def db(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)  # Alembic runs its own loop
    database = open_database(database_url)
    yield database
    await database.dispose()


async def test_multi_row_insert_returns_every_row_across_chunks_and_stores_json(db):
    insert = MultiRowInsert(
        groups,
        KEYS,
        lambda values: db.insert(groups).values(values).returning(groups.c.key),
        db.dialect,
        chunk=7,
    )
    rows = [_row(i) for i in range(23)]  # 3 full chunks and a partial one
    returned = await db.run_write(lambda conn: insert.fetch(conn, rows))
    assert [r[0] for r in returned] == [row["key"] for row in rows]
    async with db.read() as conn:
        stored = (
            await conn.execute(sa.select(groups.c.labels).where(groups.c.key == "g0022"))
        ).one()
    assert stored.labels == {"alertname": "A22", "note": 'ünïcode "quoted"'}


async def test_driver_errors_come_out_as_sqlalchemy_errors_and_roll_back(db):
    insert = DriverStatement(
        groups.insert().values({k: sa.bindparam(k, type_=groups.c[k].type) for k in KEYS}),
        db.dialect,
    )
    await db.run_write(lambda conn: insert.run_many(conn, [_row(1)]))

    def duplicate(conn: sa.Connection) -> None:
        insert.run_many(conn, [_row(2)])
        insert.run_many(conn, [_row(1)])  # primary key taken: the whole transaction fails

    with pytest.raises(sa.exc.IntegrityError):
        await db.run_write(duplicate)
    async with db.read() as conn:
        keys = (await conn.execute(sa.select(groups.c.key))).scalars().all()
    assert keys == ["g0001"]
    await db.run_write(lambda conn: insert.run_many(conn, [_row(3)]))  # the writer still works
