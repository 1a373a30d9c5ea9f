"""Wall-clock times in a zone and the instants they name, across DST changes. Pure.

A naive datetime here is a wall-clock reading in some zone. `localize` turns one into the
instant a rotation means by it: a reading skipped by a spring-forward change means the first
instant after the gap; a reading that occurs twice (fall back) means its first occurrence.

The fast paths (`oncall.shifts`) count instants as integer microseconds since the Unix epoch
(`to_micros`, `from_micros`): exact at a datetime's resolution, and cheap to compare and add.
`offset_spans` cuts such a window where a zone's UTC offset changes, so that within each piece
the wall clock reads the instant plus one fixed offset; `localize_micros` localizes with them.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import zoneinfo
from collections.abc import Callable, Sequence

__all__ = [
    "DAY_MICROS",
    "MINUTE_MICROS",
    "clear_offset_memo",
    "from_micros",
    "has_fixed_rules",
    "localize",
    "localize_micros",
    "offset_changes",
    "offset_spans",
    "reading_micros",
    "require_aware",
    "to_micros",
    "wall",
]

_RESOLUTION = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND_MICROS = 1_000_000
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
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


def to_micros(instant: dt.datetime) -> int:
    """An aware instant as microseconds since the Unix epoch."""
    return (instant - _EPOCH) // _RESOLUTION


def from_micros(micros: int) -> dt.datetime:
    """Microseconds since the Unix epoch as an instant in UTC."""
    return _EPOCH + dt.timedelta(0, 0, micros)


def offset_spans(zone: dt.tzinfo, start: int, end: int) -> tuple[tuple[int, int, int], ...]:
    """[start, end) (microseconds) cut where the UTC offset of `zone` changes: (since, until,
    offset in microseconds) in order. Like `offset_changes`, it samples once a day (at UTC
    midnights) and finds each change between two samples to the microsecond. Memoized for the
    zones whose rules cannot change (`has_fixed_rules`)."""
    if has_fixed_rules(zone):
        return _offset_spans_memo(zone, start, end)
    return _offset_spans(zone, start, end)


def reading_micros(reading: dt.datetime) -> int:
    """A naive wall-clock reading as microseconds since the reading 1970-01-01 00:00."""
    return (reading - _NAIVE_EPOCH) // _RESOLUTION


def localize_micros(reading: int, spans: Sequence[tuple[int, int, int]]) -> int | None:
    """`localize` for a reading in microseconds (`reading_micros`), with the zone's `offset_spans`
    around the instant; None when that instant is not inside them."""
    for index, (since, until, offset) in enumerate(spans):
        instant = reading - offset
        if instant < since:  # the clock skipped the reading: the first instant after the gap
            return since if index else None
        if instant < until:  # the first piece showing it: the first occurrence
            return instant
    return None


def has_fixed_rules(zone: dt.tzinfo) -> bool:
    """Whether the zone's rules are fixed for the life of the process: a ZoneInfo or a fixed
    offset, not the host's zone (`Local`), which follows TZ and /etc/localtime."""
    return isinstance(zone, zoneinfo.ZoneInfo | dt.timezone)


def _offset_spans(zone: dt.tzinfo, start: int, end: int) -> tuple[tuple[int, int, int], ...]:
    samples = [start, *range((start // DAY_MICROS + 1) * DAY_MICROS, end, DAY_MICROS), end - 1]
    offsets = [_offset_micros(sample, zone) for sample in samples]
    spans = []
    since = start
    for index in range(1, len(samples)):
        if offsets[index] != offsets[index - 1]:
            change = _first_at(offsets[index], samples[index - 1], samples[index], zone)
            spans.append((since, change, offsets[index - 1]))
            since = change
    spans.append((since, end, offsets[-1]))
    return tuple(spans)


_offset_spans_memo = functools.lru_cache(maxsize=512)(_offset_spans)


def clear_offset_memo() -> None:
    """Forget the memoized `offset_spans` (for measurements and tests)."""
    _offset_spans_memo.cache_clear()


def _first_at(offset: int, low: int, high: int, zone: dt.tzinfo) -> int:
    """The first microsecond in (low, high] with `offset`, which `high` has and `low` not."""
    while high - low > _SECOND_MICROS:  # the tz database changes offsets at whole seconds
        middle = (low + high) // 2
        middle -= middle % _SECOND_MICROS
        if middle <= low:
            break
        if _offset_micros(middle, zone) == offset:
            high = middle
        else:
            low = middle
    if high % _SECOND_MICROS == 0 and _offset_micros(high - 1, zone) != offset:
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_micros(middle, zone) == offset:
            high = middle
        else:
            low = middle
    return high


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
