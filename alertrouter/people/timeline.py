"""Where a schedule's layers put someone on call, as integer-microsecond segments. Pure.

A layer's segments in a window are its shifts (one `Layer.boundary` per shift) cut to its
active spans (`activity.active_spans`), each with the user holding the shift. The layers are
merged by painting: the last layer listed keeps all its segments and each earlier one fills only
what the layers after it leave empty, which is "the last layer that has someone decides".

None of this depends on overrides or on the window asked for, so the merged segments of each
set of layers are memoized by UTC day (`daymemo`). Below them, the shifts of each rotation (its
kind, length, handoff and zone: layers differing only in their users share them) and the active
spans of each tuple of time intervals are memoized by window: the memos of layers alike ask for
the same windows, the runs of days they miss. Layers reading a zone whose rules are the host's
(`Local`) are computed afresh every time, since the host's zone may change under a running
process.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from alertrouter.core.timeintervals import TimeInterval
from alertrouter.people.activity import Span, active_spans
from alertrouter.people.daymemo import DayMemo, Piece, join
from alertrouter.people.rotation import Layer, Rotation
from alertrouter.people.wallclock import DAY_MICROS, clear_offset_memo, has_fixed_rules

__all__ = ["Answer", "Segment", "clear_caches", "layers_timeline"]

Answer = tuple[tuple[str, ...], str]
"""The users on call and the name of the layer that decides."""
Segment = Piece[Answer]

_MAX_DAYS = 400
"""Days memoized per set of layers: a year's window, or several shorter ones."""
_MAX_LAYER_SETS = 256
_MAX_SHARED_DAYS = 62
"""The longest window whose rotation shifts or active spans are memoized (for the layers)."""
_MAX_SHARED = 128


def layers_timeline(
    zone: dt.tzinfo, layers: tuple[Layer, ...], start: int, end: int
) -> list[Segment]:
    """Where the layers put someone on call within [start, end), and which layer decides: in
    order, disjoint, nobody left out, touching neighbours with the same answer joined."""
    if start >= end or not layers:
        return []
    memo = _layers_memo(zone, layers)
    if memo is None:
        joined: list[Segment] = []
        for segment in _painted(zone, layers, start, end):
            join(joined, segment)
        return joined
    return memo.read(start, end)


def clear_caches() -> None:
    """Forget every memoized timeline (for measurements and tests)."""
    _layers_memo.cache_clear()
    _rotation_shifts_memo.cache_clear()
    _active_spans_memo.cache_clear()
    clear_offset_memo()


@functools.lru_cache(maxsize=_MAX_LAYER_SETS)
def _layers_memo(zone: dt.tzinfo, layers: tuple[Layer, ...]) -> DayMemo[Answer] | None:
    zones = [zone, *(i.location for layer in layers for i in layer.active if i.location)]
    if not all(has_fixed_rules(z) for z in zones):
        return None
    return DayMemo(functools.partial(_painted, zone, layers), _MAX_DAYS)


def _painted(zone: dt.tzinfo, layers: tuple[Layer, ...], start: int, end: int) -> list[Segment]:
    """The merged segments, in order and disjoint (neighbours not joined)."""
    painted: list[Segment] = []
    for layer in reversed(layers):
        segments = _layer_segments(layer, zone, start, end)
        painted = _fill_gaps(painted, segments) if painted else segments
    return painted


def _layer_segments(layer: Layer, zone: dt.tzinfo, start: int, end: int) -> list[Segment]:
    """Where one layer has someone within [start, end): its shifts cut to its active spans."""
    holders = [((user,), layer.name) for user in layer.users]
    count = len(holders)
    shifts = _shifts(layer, zone, start, end)
    if not layer.active:
        return [(since, until, holders[k % count]) for since, until, k in shifts]
    found: list[Segment] = []
    index = 0  # shifts before this one end before the active span starts
    for since, until in _active(layer.active, start, end):
        while shifts[index][1] <= since:
            index += 1
        while since < until:
            shift_end, k = shifts[index][1], shifts[index][2]
            piece_end = min(until, shift_end)
            found.append((since, piece_end, holders[k % count]))
            if piece_end == shift_end:
                index += 1
            since = piece_end
    return found


def _shifts(layer: Layer, zone: dt.tzinfo, start: int, end: int) -> Sequence[Piece[int]]:
    """The layer's shifts within [start, end) as (start, end, k), with no empty ones."""
    rotation = (layer.rotation, layer.shift_length, layer.handoff, zone)
    if has_fixed_rules(zone) and end - start <= _MAX_SHARED_DAYS * DAY_MICROS:
        return _rotation_shifts_memo(*rotation, start, end)
    return _rotation_shifts(*rotation, start, end)


def _rotation_shifts(
    rotation: Rotation,
    shift_length: int,
    handoff: dt.datetime,
    zone: dt.tzinfo,
    start: int,
    end: int,
) -> tuple[Piece[int], ...]:
    # Which user holds a shift is not part of a rotation's shifts: any users will do.
    rotation_only = Layer("rotation", rotation, shift_length, handoff, ("anyone",))
    k, starts = rotation_only.shift_starts(start, end, zone)
    bounds = [start, *starts, end]
    return tuple(
        (bounds[index], bounds[index + 1], k + index)
        for index in range(len(bounds) - 1)
        if bounds[index] < bounds[index + 1]
    )


_rotation_shifts_memo = functools.lru_cache(maxsize=_MAX_SHARED)(_rotation_shifts)


def _active(intervals: tuple[TimeInterval, ...], start: int, end: int) -> Sequence[Span]:
    """The active spans within [start, end)."""
    if end - start <= _MAX_SHARED_DAYS * DAY_MICROS and all(
        has_fixed_rules(i.location) for i in intervals if i.location
    ):
        return _active_spans_memo(intervals, start, end)
    return _active_spans(intervals, start, end)


def _active_spans(intervals: tuple[TimeInterval, ...], start: int, end: int) -> tuple[Span, ...]:
    return tuple(active_spans(intervals, start, end))


_active_spans_memo = functools.lru_cache(maxsize=_MAX_SHARED)(_active_spans)


def _fill_gaps(upper: list[Segment], lower: list[Segment]) -> list[Segment]:
    """`upper`, and the parts of `lower` where `upper` has no segment, in order."""
    found = list(upper)
    first = 0  # upper segments before this one end before the current lower segment starts
    for since, until, answer in lower:
        while first < len(upper) and upper[first][1] <= since:
            first += 1
        cursor, index = since, first
        while cursor < until:
            if index < len(upper) and upper[index][0] < until:
                taken_start, taken_end = upper[index][0], upper[index][1]
                if taken_start > cursor:
                    found.append((cursor, taken_start, answer))
                cursor = max(cursor, taken_end)
                index += 1
            else:
                found.append((cursor, until, answer))
                cursor = until
    found.sort(key=_start)
    return found


def _start(segment: Segment) -> int:
    return segment[0]
