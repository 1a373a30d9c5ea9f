"""Appending to incident timelines (the write every flush and every delivery outcome makes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.database import Database, DriverStatement, timeline_events

KEYS = ("incident_id", "at", "kind", "actor", "source", "detail")


def append(db: Database, conn: sa.Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """Each event a dict of KEYS."""
    db.cached("timeline.append", lambda: compiled_insert(db, timeline_events, KEYS)).run_many(
        conn, events
    )


def compiled_insert(db: Database, table: sa.Table, keys: Sequence[str]) -> DriverStatement:
    return DriverStatement(sa.insert(table).values(bound(table, keys)), db.dialect)


def bound(table: sa.Table, keys: Sequence[str]) -> dict[str, Any]:
    """Typed bind parameters named after the columns (so JSON columns serialize)."""
    return {key: sa.bindparam(key, type_=table.c[key].type) for key in keys}
