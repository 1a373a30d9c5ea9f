"""The migrations produce exactly the models' schema, on both backends."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from alertrouter import migrate
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
