"""Where a schedule's layers put someone on call, as integer-microsecond segments. Pure.

A layer's segments in a window are its shifts (one `Layer.boundary` per shift) cut to its
active spans (`activity.active_spans`), each with the user holding the shift. The layers are
merged by painting: the last layer listed keeps all its segments and each earlier one fills only
what the layers after it leave empty, which is "the last layer that has someone decides".

None of this depends on overrides or on the window asked for, so the segments of each set of
layers are memoized per UTC day (`lru_cache` over the layers, a bounded dict of days inside):
the same or an overlapping window again (the statistics, the calendars, the web timeline) costs
a lookup per day. Layers reading a zone whose rules are the host's (`Local`) are not memoized,
since the host's zone may change under a running process.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import zoneinfo
from collections.abc import Sequence

from alertrouter.people.activity import active_spans
from alertrouter.people.rotation import Layer
from alertrouter.people.wallclock import DAY_MICROS

__all__ = ["Segment", "clear_caches", "layers_timeline"]

Segment = tuple[int, int, tuple[str, ...], str]
"""[start, end) in microseconds since the Unix epoch, the users on call, the deciding layer."""

_MAX_DAYS = 800
"""Days memoized per set of layers: a window of two years, or several smaller ones."""
_MAX_LAYER_SETS = 128


def layers_timeline(
    zone: dt.tzinfo, layers: tuple[Layer, ...], start: int, end: int
) -> list[Segment]:
    """Where the layers put someone on call within [start, end), and which layer decides: in
    order, disjoint, nobody left out, touching neighbours with the same answer joined."""
    if start >= end or not layers:
        return []
    days = _memo(zone, layers)
    if days is None or (end - start) // DAY_MICROS >= _MAX_DAYS:
        joined: list[Segment] = []
        for segment in _compute(zone, layers, start, end):
            join(joined, segment)
        return joined
    return days.segments(start, end)


def clear_caches() -> None:
    """Forget every memoized timeline (for measurements and tests)."""
    _memo.cache_clear()


def join(segments: list[Segment], segment: Segment) -> None:
    """Append a segment, joining it to the last one when it touches it with the same answer."""
    if segments:
        last = segments[-1]
        if last[1] == segment[0] and last[2] == segment[2] and last[3] == segment[3]:
            segments[-1] = (last[0], segment[1], last[2], last[3])
            return
    segments.append(segment)


class _DayMemo:
    """The segments of one set of layers, by UTC day (the day's part of each), as computed."""

    __slots__ = ("by_day", "layers", "zone")

    def __init__(self, zone: dt.tzinfo, layers: tuple[Layer, ...]) -> None:
        self.zone = zone
        self.layers = layers
        self.by_day: dict[int, list[Segment]] = {}

    def segments(self, start: int, end: int) -> list[Segment]:
        first, last = start // DAY_MICROS, (end - 1) // DAY_MICROS
        by_day = self.by_day
        missing = [day for day in range(first, last + 1) if day not in by_day]
        if missing:
            self._compute_days(missing)
        found: list[Segment] = []
        for day in range(first, last + 1):
            for segment in by_day[day]:
                if segment[1] <= start or segment[0] >= end:
                    continue
                if segment[0] < start or segment[1] > end:
                    segment = (max(segment[0], start), min(segment[1], end), *segment[2:])
                join(found, segment)
        while len(by_day) > _MAX_DAYS:  # the days memoized first go first
            del by_day[next(iter(by_day))]
        return found

    def _compute_days(self, days: Sequence[int]) -> None:
        """Compute each run of consecutive days at once, then file its segments by day."""
        for _, run in itertools.groupby(enumerate(days), lambda pair: pair[1] - pair[0]):
            run_days = [day for _, day in run]
            for day in run_days:
                self.by_day[day] = []
            start, end = run_days[0] * DAY_MICROS, (run_days[-1] + 1) * DAY_MICROS
            for since, until, users, layer in _compute(self.zone, self.layers, start, end):
                while since < until:
                    day = since // DAY_MICROS
                    day_end = min(until, (day + 1) * DAY_MICROS)
                    self.by_day[day].append((since, day_end, users, layer))
                    since = day_end


@functools.lru_cache(maxsize=_MAX_LAYER_SETS)
def _memo(zone: dt.tzinfo, layers: tuple[Layer, ...]) -> _DayMemo | None:
    zones = [zone, *(i.location for layer in layers for i in layer.active if i.location)]
    if not all(isinstance(z, zoneinfo.ZoneInfo | dt.timezone) for z in zones):
        return None
    return _DayMemo(zone, layers)


def _compute(zone: dt.tzinfo, layers: tuple[Layer, ...], start: int, end: int) -> list[Segment]:
    """The merged segments, in order and disjoint (neighbours not joined)."""
    painted: list[Segment] = []
    for layer in reversed(layers):
        segments = _layer_segments(layer, zone, start, end)
        painted = _fill_gaps(painted, segments) if painted else segments
    return painted


def _layer_segments(layer: Layer, zone: dt.tzinfo, start: int, end: int) -> list[Segment]:
    """Where one layer has someone within [start, end): its shifts cut to its active spans."""
    k, starts = layer.shift_starts(start, end, zone)
    bounds = [start, *starts, end]
    holders = [(user,) for user in layer.users]
    name = layer.name
    found: list[Segment] = []
    if not layer.active:
        for index in range(len(bounds) - 1):
            if bounds[index] < bounds[index + 1]:
                holder = holders[(k + index) % len(holders)]
                found.append((bounds[index], bounds[index + 1], holder, name))
        return found
    index = 0  # the shift [bounds[index], bounds[index + 1]) holds the span's start
    for since, until in active_spans(layer.active, start, end):
        while bounds[index + 1] <= since:
            index += 1
        while since < until:
            shift_end = bounds[index + 1]
            piece_end = min(until, shift_end)
            if since < piece_end:
                found.append((since, piece_end, holders[(k + index) % len(holders)], name))
            if piece_end == shift_end:
                index += 1
            since = piece_end
    return found


def _fill_gaps(upper: list[Segment], lower: list[Segment]) -> list[Segment]:
    """`upper`, and the parts of `lower` where `upper` has no segment, in order."""
    found = list(upper)
    first = 0  # upper segments before this one end before the current lower segment starts
    for since, until, users, layer in lower:
        while first < len(upper) and upper[first][1] <= since:
            first += 1
        cursor, index = since, first
        while cursor < until:
            if index < len(upper) and upper[index][0] < until:
                taken_start, taken_end = upper[index][0], upper[index][1]
                if taken_start > cursor:
                    found.append((cursor, taken_start, users, layer))
                cursor = max(cursor, taken_end)
                index += 1
            else:
                found.append((cursor, until, users, layer))
                cursor = until
    found.sort(key=_start)
    return found


def _start(segment: Segment) -> int:
    return segment[0]
