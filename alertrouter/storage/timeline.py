"""Appending to incident timelines (the write every flush and every delivery outcome makes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.database import Database
from alertrouter.storage.statements import compiled_insert
from alertrouter.storage.tables import timeline_events

KEYS = ("incident_id", "at", "kind", "actor", "source", "detail")


def append(db: Database, conn: sa.Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """Each event a dict of KEYS."""
    db.cached(
        "timeline.append", lambda: compiled_insert(timeline_events, KEYS, db.dialect)
    ).run_many(conn, events)
