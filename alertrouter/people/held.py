"""How long each person is on call for a schedule within a window: what the per-person statistics
add up (hours on call). Pure.

The window is cut at UTC midnights. A day's shifts depend only on the schedule's versions and on
the overrides that touch that day, so each day's shifts (and their totals per person) are
memoized under exactly that: a month of statistics asked again, or a window that moved on by a
few minutes, sums memoized days (clipping the two at its edges) instead of computing every
schedule's shifts again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from alertrouter.core.instants import from_millis, to_millis
from alertrouter.people.oncall import Override, Version, shifts

__all__ = ["clear_cache", "held_ms"]

DAY_MS = 86_400_000
_MAX_DAYS = 100_000
"""Memoized (schedule, day) entries: 50 schedules over five years, a few shifts each."""

_MAX_DEFINITIONS = 10_000
"""Sets of schedule versions memoized for (each reload makes new ones)."""


_Segment = tuple[int, int, tuple[str, ...]]  # [start, end) in ms, who is on call
# key -> (the overrides the key names by id; the day's segments; the day's totals per person)
_Day = tuple[tuple[object, ...], tuple[_Segment, ...], dict[str, int]]
_memo: OrderedDict[tuple[object, ...], _Day] = OrderedDict()
_kept: dict[tuple[object, ...], tuple[object, ...]] = {}  # key_versions -> their schedules
_lock = threading.Lock()


def held_ms(
    versions: Sequence[Version], start_ms: int, end_ms: int, overrides: Sequence[Override] = ()
) -> dict[str, int]:
    """Per user, the milliseconds of [start_ms, end_ms) they are on call (overrides included)."""
    totals: dict[str, int] = {}
    if start_ms >= end_ms:
        return totals
    first_day, last_day = start_ms // DAY_MS, (end_ms - 1) // DAY_MS
    by_day: dict[int, list[Override]] = {}
    for override in overrides:
        since, until = to_millis(override.start), to_millis(override.end)
        for day in range(max(since // DAY_MS, first_day), min((until - 1) // DAY_MS, last_day) + 1):
            by_day.setdefault(day, []).append(override)
    key_versions = tuple((v.effective_from, id(v.schedule)) for v in versions)
    kept = tuple(v.schedule for v in versions)
    for day in range(first_day, last_day + 1):
        segments, day_totals = _day(versions, key_versions, kept, day, tuple(by_day.get(day, ())))
        since, until = day * DAY_MS, (day + 1) * DAY_MS
        if since >= start_ms and until <= end_ms:
            for user, ms in day_totals.items():
                totals[user] = totals.get(user, 0) + ms
            continue
        for start, end, users in segments:  # a day at an edge of the window: clipped
            held = min(end, end_ms) - max(start, start_ms)
            if held > 0:
                for user in users:
                    totals[user] = totals.get(user, 0) + held
    return totals


def clear_cache() -> None:
    with _lock:
        _memo.clear()
        _kept.clear()


def _day(
    versions: Sequence[Version],
    key_versions: tuple[object, ...],
    kept: tuple[object, ...],
    day: int,
    touching: tuple[Override, ...],
) -> tuple[tuple[_Segment, ...], dict[str, int]]:
    key = (key_versions, day, *map(id, touching))
    found = _memo.get(key)  # a read needs no lock; writers take it (oldest entries go first)
    if found is not None:
        return found[1], found[2]
    since = day * DAY_MS
    segments = tuple(
        (to_millis(s.start), to_millis(s.end), s.users)
        for s in shifts(versions, from_millis(since), from_millis(since + DAY_MS), touching)
    )
    day_totals: dict[str, int] = {}
    for start, end, users in segments:
        for user in users:
            day_totals[user] = day_totals.get(user, 0) + end - start
    with _lock:
        # What the key's ids name is kept alive, so that no id is reused while the key is here:
        # the schedules once per definition, the overrides with the day (most days have none,
        # and their entries then hold only strings and integers, which the collector skips).
        if len(_kept) > _MAX_DEFINITIONS:  # many reloads: start afresh
            _memo.clear()
            _kept.clear()
        _kept.setdefault(key_versions, kept)
        _memo[key] = (touching, segments, day_totals)
        if len(_memo) > _MAX_DAYS:
            _memo.popitem(last=False)
    return segments, day_totals
