"""Wall-clock times in a zone and the instants they name, across DST changes. Pure.

A naive datetime here is a wall-clock reading in some zone. `localize` turns one into the
instant a rotation means by it: a reading skipped by a spring-forward change means the first
instant after the gap; a reading that occurs twice (fall back) means its first occurrence.
`instants_reading` gives every instant at which the clock shows a reading (none, one or two),
which is what an edge of a time-of-day range needs.

The fast paths (`oncall.shifts`) count instants as integer microseconds since the Unix epoch
(`to_micros`, `from_micros`): exact at a datetime's resolution, and cheap to compare and add.
`offset_spans` cuts such a window where a zone's UTC offset changes, so that within each piece
the wall clock reads the instant plus one fixed offset.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

__all__ = [
    "DAY_MICROS",
    "MINUTE_MICROS",
    "from_micros",
    "instants_reading",
    "localize",
    "offset_changes",
    "offset_spans",
    "require_aware",
    "to_micros",
    "wall",
]

_RESOLUTION = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MINUTE_MICROS = 60_000_000
DAY_MICROS = 24 * 60 * MINUTE_MICROS


def require_aware(instant: dt.datetime, what: str = "instant") -> dt.datetime:
    """The instant in UTC; a naive datetime is a ValueError naming `what`."""
    if not isinstance(instant, dt.datetime):
        raise ValueError(f"{what}: expected a datetime, got {instant!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what}: a timezone-aware datetime is required, got {instant}")
    return instant.astimezone(dt.UTC)


def wall(instant: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """What the clock in `zone` reads at the instant, as a naive datetime."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def localize(reading: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The UTC instant a wall-clock reading in `zone` names (gap: after it; twice: the first)."""
    first = reading.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if wall(first, zone) == reading:
        return first
    second = reading.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    if wall(second, zone) == reading:  # a tzinfo whose fold=0 is the later occurrence
        return min(first, second)
    return _first_instant_after_gap(reading, zone, first, second)


def instants_reading(reading: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, ...]:
    """Every UTC instant at which the clock in `zone` shows `reading`, earliest first."""
    found = {
        instant
        for fold in (0, 1)
        if wall(instant := reading.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC), zone)
        == reading
    }
    return tuple(sorted(found))


def to_micros(instant: dt.datetime) -> int:
    """An aware instant as microseconds since the Unix epoch."""
    return (instant - _EPOCH) // _RESOLUTION


def from_micros(micros: int) -> dt.datetime:
    """Microseconds since the Unix epoch as an instant in UTC."""
    return _EPOCH + dt.timedelta(microseconds=micros)


def offset_spans(zone: dt.tzinfo, start: int, end: int) -> list[tuple[int, int, int]]:
    """[start, end) (microseconds) cut where the UTC offset of `zone` changes: (since, until,
    offset in microseconds) in order. Like `offset_changes`, it samples once a day (at UTC
    midnights) and finds each change between two samples to the microsecond."""
    samples = [start, *range((start // DAY_MICROS + 1) * DAY_MICROS, end, DAY_MICROS), end - 1]
    offsets = [_offset_micros(sample, zone) for sample in samples]
    spans = []
    since = start
    for index in range(1, len(samples)):
        offset = offsets[index]
        if offset != offsets[index - 1]:
            low, high = samples[index - 1], samples[index]  # old offset at low, new at high
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_micros(middle, zone) == offset:
                    high = middle
                else:
                    low = middle
            spans.append((since, high, offsets[index - 1]))
            since = high
    spans.append((since, end, offsets[-1]))
    return spans


def offset_changes(instants: list[dt.datetime], zone: dt.tzinfo) -> list[dt.datetime]:
    """The instants where the UTC offset of `zone` changes, between sorted sample instants.

    A change between two neighbouring samples is found to the microsecond; two changes between
    the same neighbours (none a day apart in the tz database) would be missed.
    """
    changes = []
    for before, after in itertools.pairwise(instants):
        later = _offset(after, zone)
        if _offset(before, zone) != later:
            changes.append(_bisect(before, after, lambda u, later=later: _offset(u, zone) == later))
    return changes


def _first_instant_after_gap(
    reading: dt.datetime, zone: dt.tzinfo, first: dt.datetime, second: dt.datetime
) -> dt.datetime:
    low, high = min(first, second), max(first, second)
    if not wall(low, zone) < reading:
        low -= _DAY
    if not wall(high, zone) > reading:
        high += _DAY
    return _bisect(low, high, lambda u: wall(u, zone) > reading)


def _bisect(
    low: dt.datetime, high: dt.datetime, after: Callable[[dt.datetime], bool]
) -> dt.datetime:
    """The earliest instant in (low, high] where `after` holds (false at low, true at high)."""
    while high - low > _RESOLUTION:
        middle = low + (high - low) // 2
        if after(middle):
            high = middle
        else:
            low = middle
    return high


def _offset_micros(micros: int, zone: dt.tzinfo) -> int:
    offset = from_micros(micros).astimezone(zone).utcoffset()
    return 0 if offset is None else offset // _RESOLUTION


def _offset(instant: dt.datetime, zone: dt.tzinfo) -> dt.timedelta | None:
    return instant.astimezone(zone).utcoffset()
