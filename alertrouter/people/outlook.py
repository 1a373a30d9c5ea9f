"""A schedule seen from an instant: who is on call then, and the next change of who is on call
(when, and who from then on), overrides included. What the schedules API and pages show.

`next_change` is pure; `outlook` reads the database through the roster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from alertrouter.people import roster as on_call
from alertrouter.people.oncall import Answer, Shift
from alertrouter.people.roster import Roster
from alertrouter.storage.tables import from_millis

# How far ahead the next change is looked for: most schedules change within the first horizon,
# so the longer ones (many shifts to compute) are rarely needed.
NEXT_CHANGE_HORIZONS = (dt.timedelta(days=2), dt.timedelta(days=14), dt.timedelta(days=90))


@dataclass(frozen=True, slots=True)
class Change:
    at: dt.datetime
    answer: Answer  # who is on call from `at` on; users () when nobody


@dataclass(frozen=True, slots=True)
class Outlook:
    at: dt.datetime
    now: Answer
    next: Change | None  # None: nothing changes within the longest horizon


def next_change(timeline: Sequence[Shift], start: dt.datetime, end: dt.datetime) -> Change | None:
    """The first instant in (start, end) where the users on call differ from those at `start`,
    given the merged shifts of [start, end) (gaps are nobody). A change of layer alone, with
    the same users, is not a change."""
    segments: list[tuple[dt.datetime, Answer]] = []
    cursor = start
    for shift in timeline:
        if shift.start > cursor:
            segments.append((cursor, Answer((), None)))
        segments.append((shift.start, Answer(shift.users, shift.layer)))
        cursor = shift.end
    if cursor < end:
        segments.append((cursor, Answer((), None)))
    if not segments:
        return None
    current = segments[0][1].users
    for at, answer in segments[1:]:
        if answer.users != current:
            return Change(at, answer)
    return None


def outlook(conn: sa.Connection, roster: Roster, schedule: str, at_ms: int) -> Outlook:
    """Who is on call for `schedule` at `at_ms`, and the next change. Raises KeyError for an
    unknown schedule."""
    now = on_call.who(conn, roster, schedule, at_ms)
    for horizon in NEXT_CHANGE_HORIZONS:
        end_ms = at_ms + int(horizon.total_seconds() * 1000)
        timeline = on_call.shifts(conn, roster, schedule, at_ms, end_ms)
        change = next_change(timeline, from_millis(at_ms), from_millis(end_ms))
        if change is not None:
            return Outlook(from_millis(at_ms), now, change)
    return Outlook(from_millis(at_ms), now, None)
