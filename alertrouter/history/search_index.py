"""What the history queries search: each incident's label pairs and its free text.

Written at flush time for the alerts that are new to an incident. A fingerprint is a hash of
the labels, so an alert's labels never change once it is indexed; annotations may, and each new
text is appended (up to TEXT_LIMIT), so an incident stays findable by what it once said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.storage.database import Database
from alertrouter.storage.statements import per_row, rows_insert
from alertrouter.storage.tables import incident_labels, incidents

TEXT_LIMIT = 8000


@dataclass(frozen=True, slots=True)
class Indexed:
    """One incident after a flush, with the alerts that joined it in that flush."""

    incident: Mapping[str, Any]  # the incidents row
    labels: Sequence[Mapping[str, str]]
    annotations: Sequence[Mapping[str, str]]


def search_text(current: str, title: str, annotations: Iterable[Mapping[str, str]]) -> str:
    """`current` with the lower-cased title and annotation values it lacks appended."""
    parts = current.split("\n") if current else []
    for text in (title, *(v for a in annotations for v in a.values())):
        lowered = text.lower()
        if lowered and lowered not in parts:
            parts.append(lowered)
    return "\n".join(parts)[:TEXT_LIMIT]


def record(db: Database, conn: sa.Connection, indexed: Sequence[Indexed]) -> None:
    """Indexes the new alerts of each incident: two statements for a whole flush."""
    pairs: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for item in indexed:
        if not item.labels:
            continue
        row = item.incident
        seen: set[tuple[str, str]] = set()
        for labels in item.labels:
            seen.update(labels.items())
        pairs += [
            {"incident_id": row["id"], "name": n, "value": v, "opened_at": row["opened_at"]}
            for n, v in sorted(seen)
        ]
        current = row.get("search_text") or ""
        text = search_text(current, row["title"], item.annotations)
        if text != current:
            texts.append({"id": row["id"], "search_text": text})
    statements = db.cached("search_index", lambda: _Statements(db))
    statements.labels.run_many(conn, pairs)
    statements.text.run_many(conn, texts)


class _Statements:
    def __init__(self, db: Database) -> None:
        keys = ("incident_id", "name", "value", "opened_at")
        self.labels = rows_insert(
            incident_labels,
            keys,
            lambda insert: insert.on_conflict_do_nothing(),
            db.dialect,
            db.insert,
        )
        self.text = per_row(
            lambda value: sa.update(incidents).values(search_text=value["search_text"]),
            {"id": incidents.c.id.type, "search_text": incidents.c.search_text.type},
            db.dialect,
            match={"id": incidents.c.id},
        )
