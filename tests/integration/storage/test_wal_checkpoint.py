"""SQLite WAL checkpoints run on their own thread, not inside commits."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import sqlalchemy as sa

from alertrouter.storage import migrate
from alertrouter.storage.database import open_database
from alertrouter.storage.tables import silences


def silence_row(i: int) -> dict[str, object]:
    return {
        "id": f"s{i}",
        "matchers": [],
        "starts_at": 0,
        "ends_at": 1,
        "created_by": "t",
        "comment": "x" * 2000,
        "created_at": 0,
        "updated_at": 0,
    }


async def test_commits_do_not_checkpoint_and_the_checkpointer_copies_the_wal(tmp_path):
    path = tmp_path / "a.db"
    await asyncio.to_thread(migrate.upgrade, f"sqlite:///{path}")
    db = open_database(f"sqlite:///{path}")
    try:
        autocheckpoint = await db.run_write(
            lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        )
        assert autocheckpoint == 0
        for i in range(200):
            await db.run_write(
                lambda conn, i=i: conn.execute(sa.insert(silences), [silence_row(i)])
            )
    finally:
        await db.dispose()  # stops the checkpointer after a last checkpoint

    # The database file alone, without its WAL, holds every commit: they were checkpointed.
    alone = tmp_path / "copy.db"
    shutil.copyfile(path, alone)
    check = sqlite3.connect(alone)
    try:
        assert check.execute("SELECT count(*) FROM silences").fetchone() == (200,)
    finally:
        check.close()
