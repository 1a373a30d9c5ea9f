"""The notification log in the database: what each integration of a group was last told, read
before a notify step and written with its outbox rows."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from alertrouter.notify.notification_log import LogEntry
from alertrouter.storage.database import Database
from alertrouter.storage.statements import RowsStatement, rows_insert
from alertrouter.storage.tables import notification_log

LogEntries = dict[str, tuple[LogEntry, int | None]]  # integration -> (entry, its incident id)


def load_entries(
    conn: sa.Connection, groups: Collection[tuple[str, str]]
) -> dict[tuple[str, str], LogEntries]:
    """The log entries of each (group key, receiver) in `groups`."""
    wanted = set(groups)
    if not wanted:
        return {}
    result = conn.execute(
        sa.select(notification_log).where(
            notification_log.c.group_key.in_({key for key, _ in wanted})
        )
    )
    entries: dict[tuple[str, str], LogEntries] = {}
    for r in result:
        if (r.group_key, r.receiver) in wanted:
            entries.setdefault((r.group_key, r.receiver), {})[r.integration] = (
                LogEntry(frozenset(r.firing), frozenset(r.resolved), r.notified_at),
                r.incident_id,
            )
    return entries


def upsert_entry(db: Database) -> RowsStatement:
    keys = (
        "group_key", "receiver", "integration", "firing", "resolved", "notified_at", "incident_id"
    )  # fmt: skip

    def build(insert: Any) -> sa.Executable:
        return insert.on_conflict_do_update(
            index_elements=[
                notification_log.c.group_key,
                notification_log.c.receiver,
                notification_log.c.integration,
            ],
            set_={key: insert.excluded[key] for key in keys[3:]},
        )

    return rows_insert(notification_log, keys, build, db.dialect, db.insert)
