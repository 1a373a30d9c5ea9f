"""Database migrations with Alembic, run against the configured database."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.resources import resource_dir
from alertrouter.storage.database import Database, async_url, enable_wal

log = logging.getLogger(__name__)


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Runs in a thread of its own event loop (Alembic's env.py drives the async engine)."""
    enable_wal(url)
    command.upgrade(alembic_config(url), revision)
    log.info(
        "database schema at revision %s", head_revision(url) if revision == "head" else revision
    )


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def current_revision(conn: AsyncConnection) -> str | None:
    return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def is_current(db: Database) -> bool:
    async with db.read() as conn:
        return await current_revision(conn) == head_revision(db.url)
