"""The migrations produce exactly the models' schema, on both backends."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from alertrouter import migrate
from alertrouter.delivery import outbox as outbox_store
from alertrouter.storage import metadata, open_database


async def test_migrations_produce_the_models_schema(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = open_database(database_url)
    try:
        async with db.read() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert diffs == []
        assert await migrate.is_current(db)
    finally:
        await db.dispose()


async def test_upgrade_is_idempotent(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = open_database(database_url)
    try:
        async with db.read() as conn:
            assert await migrate.current_revision(conn) == migrate.head_revision(database_url)
    finally:
        await db.dispose()


async def test_the_claim_checks_stream_order_on_the_pending_stream_index(tmp_path):
    """Through any other index the check is quadratic in the backlog (about 500 ms a claim at
    1,850 pending rows, and delivery fell ever further behind): SQLite must plan it on
    ix_outbox_pending_stream."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)
    try:
        query = outbox_store.candidates_query(now=1_795_000_000_000, limit=200)
        sql = str(query.compile(db.reader, compile_kwargs={"literal_binds": True}))
        async with db.read() as conn:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()
        details = [row[-1] for row in plan]
        assert any("ix_outbox_pending_stream" in d and "stream=?" in d for d in details), details
    finally:
        await db.dispose()
