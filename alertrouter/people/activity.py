"""When a layer restricted to time intervals is active, and where that changes. Pure.

`TimeInterval.contains` reads an instant on the wall clock of the interval's own `location`
(never the schedule's zone) at minute resolution: its answer depends on the minute of the day,
the day, weekday, month and year there. So between two instants it can change only where that
clock reads a local midnight or the start or end of one of the interval's time-of-day ranges,
or where the location's UTC offset changes (a fall-back change sets the clock back). `edges`
takes all of those candidates in a window and keeps the ones where the answer flips: exact,
and a few candidates per local day rather than one per minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from alertrouter.core.timeintervals import TimeInterval, any_contains
from alertrouter.people.wallclock import instants_reading, localize, offset_changes

__all__ = ["edges", "is_active"]

_MINUTES_PER_DAY = 24 * 60


def is_active(intervals: Sequence[TimeInterval], at: dt.datetime) -> bool:
    """No intervals: always active; otherwise whether any of them contains the instant."""
    return not intervals or any_contains(intervals, at)


def edges(
    intervals: Sequence[TimeInterval], start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """The instants in (start, end) where `is_active` changes, in order (UTC)."""
    if not intervals or start >= end:
        return []
    candidates: set[dt.datetime] = set()
    for interval in intervals:
        candidates.update(_candidates(interval, start, end))
    flips = []
    active = is_active(intervals, start)
    for instant in sorted(c for c in candidates if start < c < end):
        now_active = is_active(intervals, instant)
        if now_active != active:
            flips.append(instant)
            active = now_active
    return flips


def _candidates(interval: TimeInterval, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    zone = interval.location or dt.UTC
    minutes = sorted(
        {0}
        | {r.start_minute for r in interval.times}
        | {r.end_minute for r in interval.times if r.end_minute < _MINUTES_PER_DAY}
    )
    first_day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
    found: list[dt.datetime] = []
    midnights: list[dt.datetime] = []
    day = first_day
    while day <= last_day:
        midnight = dt.datetime.combine(day, dt.time())
        midnights.append(localize(midnight, zone))
        for minute in minutes:
            found.extend(instants_reading(midnight + dt.timedelta(minutes=minute), zone))
        day += dt.timedelta(days=1)
    found.extend(offset_changes(midnights, zone))
    return found
