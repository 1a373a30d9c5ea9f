"""A schedule seen from an instant: who is on call then, and the next change of who is on call
(when, and who from then on). What the schedules API and pages show. Pure: the caller passes
the answers (from `people.roster`, overrides included, or from the configuration alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alertrouter.people.oncall import Answer, Shift

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


def outlook(
    at: dt.datetime,
    now: Answer,
    shifts_between: Callable[[dt.datetime, dt.datetime], Sequence[Shift]],
) -> Outlook:
    """Who is on call at `at` (`now`, the caller's answer) and the next change, looked for in
    the merged shifts `shifts_between(start, end)` over ever longer horizons."""
    for horizon in NEXT_CHANGE_HORIZONS:
        change = next_change(shifts_between(at, at + horizon), at, at + horizon)
        if change is not None:
            return Outlook(at, now, change)
    return Outlook(at, now, None)
