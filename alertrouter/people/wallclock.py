"""Wall-clock times in a zone and the instants they name, across DST changes. Pure.

A naive datetime here is a wall-clock reading in some zone. `localize` turns one into the
instant a rotation means by it: a reading skipped by a spring-forward change means the first
instant after the gap; a reading that occurs twice (fall back) means its first occurrence.
`instants_reading` gives every instant at which the clock shows a reading (none, one or two),
which is what an edge of a time-of-day range needs.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

__all__ = ["instants_reading", "localize", "offset_changes", "require_aware", "wall"]

_RESOLUTION = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)


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


def _offset(instant: dt.datetime, zone: dt.tzinfo) -> dt.timedelta | None:
    return instant.astimezone(zone).utcoffset()
