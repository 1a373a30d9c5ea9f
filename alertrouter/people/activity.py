"""When a layer restricted to time intervals is active, and where that changes. Pure.

`TimeInterval.contains` reads an instant on the wall clock of the interval's own `location`
(never the schedule's zone) at minute resolution: its answer depends on the minute of the day,
the day, weekday, month and year there. `active_spans` computes the active spans of a window
directly: it cuts the window where the location's UTC offset changes (within a piece the clock
reads the instant plus a fixed offset), and in each piece takes, for every local day whose date
matches, the day's time-of-day ranges read back to instants. Exact, in integer microseconds,
with a few operations per local day rather than a test per instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from alertrouter.core.timeintervals import TimeInterval, any_contains
from alertrouter.people.wallclock import (
    DAY_MICROS,
    MINUTE_MICROS,
    from_micros,
    offset_spans,
    to_micros,
)

__all__ = ["Span", "active_spans", "edges", "is_active"]

Span = tuple[int, int]
"""[start, end) in microseconds since the Unix epoch."""

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
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
    low, high = to_micros(start), to_micros(end)
    flips = []
    for since, until in active_spans(intervals, low, high):
        if since > low:
            flips.append(from_micros(since))
        if until < high:
            flips.append(from_micros(until))
    return flips


def active_spans(intervals: Sequence[TimeInterval], start: int, end: int) -> list[Span]:
    """Where `is_active` holds within [start, end) (microseconds): disjoint, apart, in order."""
    if start >= end:
        return []
    if not intervals:
        return [(start, end)]
    if len(intervals) == 1:
        return _interval_spans(intervals[0], start, end)
    return _union(span for interval in intervals for span in _interval_spans(interval, start, end))


def _interval_spans(interval: TimeInterval, start: int, end: int) -> list[Span]:
    ranges = _day_ranges(interval)
    found: list[Span] = []
    for since, until, offset in offset_spans(interval.location or dt.UTC, start, end):
        low, high = since + offset, until + offset  # the wall-clock readings of the piece
        day = low // DAY_MICROS
        midnight = day * DAY_MICROS
        while midnight < high:
            if interval.contains_date(dt.date.fromordinal(_EPOCH_ORDINAL + day)):
                for first, last in ranges:
                    span_start = max(low, midnight + first)
                    span_end = min(high, midnight + last)
                    if span_start < span_end:
                        _add(found, span_start - offset, span_end - offset)
            day += 1
            midnight += DAY_MICROS
    return found


def _day_ranges(interval: TimeInterval) -> list[Span]:
    """The interval's times of day as microseconds after midnight, merged (all day: none)."""
    if not interval.times:
        return [(0, DAY_MICROS)]
    minutes = sorted((r.start_minute, r.end_minute) for r in interval.times)
    merged: list[Span] = []
    for first, last in minutes:
        _add(merged, first * MINUTE_MICROS, min(last, _MINUTES_PER_DAY) * MINUTE_MICROS)
    return merged


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for since, until in sorted(spans):
        _add(merged, since, until)
    return merged


def _add(spans: list[Span], since: int, until: int) -> None:
    """Append [since, until) to spans in order, joining it to the last one it touches."""
    if spans and since <= spans[-1][1]:
        if until > spans[-1][1]:
            spans[-1] = (spans[-1][0], until)
    else:
        spans.append((since, until))
