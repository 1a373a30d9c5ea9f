"""Every schedule's hours on call over a window, as the people statistics add them up: one
`held.Ledger` per schedule and database, kept while the schedule's versions and its overrides
revision (`schedule_revisions`) stay as they were, so that a window costs a few subtractions per
person instead of reading a month of overrides and summing a month of days.

A read costs two small queries (the revisions, the versions); overrides are read only for the
schedules whose ledger is missing, stale, or does not yet cover the window (it then grows to
cover both). The revision is read first: an override committed after it makes the next read
see a newer revision and rebuild, so a ledger never keeps an answer older than its revision.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from alertrouter.people.held import DAY_MS, Ledger
from alertrouter.people.oncall import Version
from alertrouter.people.roster import Roster, all_overrides, all_versions, can_hold
from alertrouter.storage.people_tables import schedule_revisions

__all__ = ["all_held"]


@dataclass(frozen=True, slots=True)
class _Kept:
    revision: int
    ledger: Ledger


# Per engine (one database, as the process reaches it): per schedule name, its ledger.
_kept: weakref.WeakKeyDictionary[sa.Engine, dict[str, _Kept]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_AHEAD_DAYS = 7


def all_held(
    conn: sa.Connection, roster: Roster, start_ms: int, end_ms: int, *, user: str | None = None
) -> dict[str, dict[str, int]]:
    """Per schedule, per person: the milliseconds of [start_ms, end_ms) they were on call. With
    `user`, only the schedules that can put them on call in the window."""
    if start_ms >= end_ms:
        return {}
    revisions = _revisions(conn)
    versions = all_versions(conn, roster)
    with _lock:
        kept = dict(_kept.setdefault(conn.engine, {}))
    current: dict[str, Ledger] = {}
    stale: dict[str, tuple[int, int]] = {}  # name -> the days its new ledger must cover
    for name, schedule_versions in versions.items():
        found = kept.get(name)
        if (
            found is not None
            and found.revision == revisions.get(name, 0)
            and found.ledger.built_from(schedule_versions)
            and found.ledger.covers(start_ms, end_ms)
        ):
            current[name] = found.ledger
            continue
        first_day, end_day = start_ms // DAY_MS, (end_ms - 1) // DAY_MS + 1
        if found is not None:  # keep what it covered: a change rebuilds from memoized days
            if end_day > found.ledger.end_day:  # time moved on: a week ahead, not a day a day
                end_day += _AHEAD_DAYS
            first_day = min(first_day, found.ledger.first_day)
            end_day = max(end_day, found.ledger.end_day)
        stale[name] = (first_day, end_day)
    if stale:
        built = _build(conn, {name: versions[name] for name in stale}, stale)
        current.update(built)
        with _lock:
            into = _kept.setdefault(conn.engine, {})
            for name, ledger in built.items():
                into[name] = _Kept(revisions.get(name, 0), ledger)
    return {
        name: ledger.held(start_ms, end_ms)
        for name, ledger in current.items()
        if user is None or can_hold(user, ledger.versions, list(ledger.overrides(start_ms, end_ms)))
    }


def _revisions(conn: sa.Connection) -> dict[str, int]:
    t = schedule_revisions.c
    rows = conn.execute(sa.select(t.schedule, t.revision))
    return {row.schedule: int(row.revision) for row in rows}


def _build(
    conn: sa.Connection,
    versions: Mapping[str, tuple[Version, ...]],
    days: Mapping[str, tuple[int, int]],
) -> dict[str, Ledger]:
    """New ledgers, their overrides read with one query over the span of all their days."""
    since = min(first for first, _ in days.values()) * DAY_MS
    until = max(end for _, end in days.values()) * DAY_MS
    overrides = all_overrides(conn, since, until, list(days))
    return {
        name: Ledger(versions[name], overrides.get(name, []), first_day, end_day)
        for name, (first_day, end_day) in days.items()
    }
