"""How long each person is on call for a schedule within a window: what the per-person statistics
add up (hours on call). Pure.

The window is cut at UTC midnights. A day's shifts depend only on the schedule's versions and on
the overrides that touch that day, so each day's shifts (and their totals per person) are
memoized under exactly that: a month of statistics asked again, or a window that moved on by a
few minutes, sums memoized days (clipping the two at its edges) instead of computing every
schedule's shifts again.

A `Ledger` goes one step further for a schedule whose overrides are known in full over a range
of days (the database tells when they change, see people.ledgers): running totals per person
from day to day, so that any window in that range costs two subtractions per person and the
two days at its edges, whatever its length.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from alertrouter.core.instants import from_millis, to_millis
from alertrouter.people.oncall import Override, Version, shifts

__all__ = ["Ledger", "clear_cache", "held_ms"]

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
    by_day = _by_day(overrides, first_day, last_day + 1)
    key_versions, kept = _keys(versions)
    for day in range(first_day, last_day + 1):
        segments, day_totals = _day(versions, key_versions, kept, day, by_day.get(day, ()))
        since, until = day * DAY_MS, (day + 1) * DAY_MS
        if since >= start_ms and until <= end_ms:
            for user, ms in day_totals.items():
                totals[user] = totals.get(user, 0) + ms
        else:
            _add_clipped(totals, segments, start_ms, end_ms)
    return totals


class Ledger:
    """One schedule's hours on call over the days [first_day, end_day), for one set of versions
    and all the overrides that touch those days: running totals per person, so that a window's
    whole days cost one subtraction per person. Immutable once built (readers share it)."""

    def __init__(
        self,
        versions: Sequence[Version],
        overrides: Sequence[Override],
        first_day: int,
        end_day: int,
    ) -> None:
        self.versions = tuple(versions)
        self.first_day, self.end_day = first_day, end_day
        self._by_day = _by_day(overrides, first_day, end_day)
        self._keys = _keys(self.versions)
        per_day = [self._day(day)[1] for day in range(first_day, end_day)]
        people = {user for totals in per_day for user in totals}
        self._running: dict[str, list[int]] = {}
        for user in people:
            running, total = [0], 0
            for totals in per_day:
                total += totals.get(user, 0)
                running.append(total)
            self._running[user] = running

    def built_from(self, versions: Sequence[Version]) -> bool:
        """Whether these versions are the ones the ledger was built from (the same schedules)."""
        return _keys(versions)[0] == self._keys[0]

    def covers(self, start_ms: int, end_ms: int) -> bool:
        return self.first_day * DAY_MS <= start_ms and end_ms <= self.end_day * DAY_MS

    def overrides(self, start_ms: int, end_ms: int) -> set[Override]:
        """The overrides that touch the days of [start_ms, end_ms) (within the ledger's)."""
        return {
            o
            for day in range(start_ms // DAY_MS, (end_ms - 1) // DAY_MS + 1)
            for o in self._by_day.get(day, ())
        }

    def held(self, start_ms: int, end_ms: int) -> dict[str, int]:
        """Per user, the milliseconds of [start_ms, end_ms) on call; the window must be covered."""
        totals: dict[str, int] = {}
        if start_ms >= end_ms:
            return totals
        first_whole = -(-start_ms // DAY_MS)
        end_whole = end_ms // DAY_MS
        if first_whole >= end_whole:  # no whole day: the one or two days it touches, clipped
            for day in range(start_ms // DAY_MS, (end_ms - 1) // DAY_MS + 1):
                _add_clipped(totals, self._day(day)[0], start_ms, end_ms)
            return totals
        low, high = first_whole - self.first_day, end_whole - self.first_day
        for user, running in self._running.items():
            held = running[high] - running[low]
            if held:
                totals[user] = held
        if start_ms < first_whole * DAY_MS:
            _add_clipped(totals, self._day(first_whole - 1)[0], start_ms, end_ms)
        if end_whole * DAY_MS < end_ms:
            _add_clipped(totals, self._day(end_whole)[0], start_ms, end_ms)
        return totals

    def _day(self, day: int) -> tuple[tuple[_Segment, ...], dict[str, int]]:
        key_versions, kept = self._keys
        return _day(self.versions, key_versions, kept, day, self._by_day.get(day, ()))


def _by_day(
    overrides: Sequence[Override], first_day: int, end_day: int
) -> dict[int, tuple[Override, ...]]:
    """The overrides touching each day of [first_day, end_day), in the order given."""
    by_day: dict[int, list[Override]] = {}
    for override in overrides:
        since, until = to_millis(override.start), to_millis(override.end)
        for day in range(max(since // DAY_MS, first_day), min((until - 1) // DAY_MS + 1, end_day)):
            by_day.setdefault(day, []).append(override)
    return {day: tuple(touching) for day, touching in by_day.items()}


def _keys(versions: Sequence[Version]) -> tuple[tuple[object, ...], tuple[object, ...]]:
    return tuple((v.effective_from, id(v.schedule)) for v in versions), tuple(
        v.schedule for v in versions
    )


def _add_clipped(
    totals: dict[str, int], segments: Sequence[_Segment], start_ms: int, end_ms: int
) -> None:
    for start, end, users in segments:
        held = min(end, end_ms) - max(start, start_ms)
        if held > 0:
            for user in users:
                totals[user] = totals.get(user, 0) + held


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
