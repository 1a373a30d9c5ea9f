"""A window function's answers, memoized by UTC day. Pure.

The on-call timelines are functions of a window that return pieces `(start, end, value)`: in
integer microseconds since the Unix epoch, in order, disjoint, touching neighbours with equal
values joined. What such a function returns for a window is what it returns for each day of it,
joined. `DayMemo` keeps each day's pieces once computed (a run of missing days is computed at
once, then filed by day), and the joined pieces of the last few day ranges read, so the same or
an overlapping window again costs a lookup per day, or one. It keeps a bounded number of days,
dropping those computed first.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from alertrouter.people.wallclock import DAY_MICROS

__all__ = ["DayMemo", "Piece", "join"]

V = TypeVar("V")
Piece = tuple[int, int, V]
"""[start, end) in microseconds since the Unix epoch, and what holds there."""

_MAX_RANGES = 16
"""Joined day ranges kept: windows of a few lengths, each over a day or two of `now`."""


class DayMemo(Generic[V]):
    """The memoized answers of `compute(start, end) -> list[Piece]` (in order, disjoint, maybe
    not joined), by UTC day; a window of `max_days` or more is computed afresh."""

    __slots__ = ("_by_day", "_compute", "_lock", "_max_days", "_ranges")

    def __init__(self, compute: Callable[[int, int], list[Piece[V]]], max_days: int) -> None:
        self._compute = compute
        self._max_days = max_days
        self._by_day: dict[int, list[Piece[V]]] = {}
        self._ranges: dict[tuple[int, int], list[Piece[V]]] = {}
        self._lock = threading.Lock()  # a writer thread may ask too (the database's)

    def read(self, start: int, end: int) -> list[Piece[V]]:
        """What `compute(start, end)` returns (start < end), from the days memoized."""
        first, last = start // DAY_MICROS, (end - 1) // DAY_MICROS
        if last - first >= self._max_days:
            joined: list[Piece[V]] = []
            for piece in self._compute(start, end):
                join(joined, piece)
            return joined
        pieces = self._ranges.get((first, last))
        if pieces is None:
            with self._lock:
                pieces = self._days(first, last)
        low, high = 0, len(pieces)
        while low < high and pieces[low][1] <= start:
            low += 1
        while high > low and pieces[high - 1][0] >= end:
            high -= 1
        clipped = pieces[low:high]
        if clipped and clipped[0][0] < start:
            clipped[0] = (start, clipped[0][1], clipped[0][2])
        if clipped and clipped[-1][1] > end:
            clipped[-1] = (clipped[-1][0], end, clipped[-1][2])
        return clipped

    def _days(self, first: int, last: int) -> list[Piece[V]]:
        by_day = self._by_day
        missing = [day for day in range(first, last + 1) if day not in by_day]
        for _, run in itertools.groupby(enumerate(missing), lambda pair: pair[1] - pair[0]):
            days = [day for _, day in run]
            self._file(days[0], days[-1])
        pieces: list[Piece[V]] = []
        for day in range(first, last + 1):
            for piece in by_day[day]:
                join(pieces, piece)
        while len(by_day) > self._max_days:  # the days computed first go first
            del by_day[next(iter(by_day))]
        if len(self._ranges) >= _MAX_RANGES:
            del self._ranges[next(iter(self._ranges))]
        self._ranges[first, last] = pieces
        return pieces

    def _file(self, first: int, last: int) -> None:
        """Compute days first..last at once and file the pieces by day, split at midnights."""
        by_day = self._by_day
        for day in range(first, last + 1):
            by_day[day] = []
        day, day_end = first, (first + 1) * DAY_MICROS
        filed = by_day[day]
        for since, until, value in self._compute(first * DAY_MICROS, (last + 1) * DAY_MICROS):
            while since < until:
                while since >= day_end:
                    day, day_end = day + 1, day_end + DAY_MICROS
                    filed = by_day[day]
                if until <= day_end:
                    filed.append((since, until, value))
                    break
                filed.append((since, day_end, value))
                since = day_end


def join(pieces: list[Piece[V]], piece: Piece[V]) -> None:
    """Append a piece, joined to the last one when it touches it with an equal value."""
    if pieces:
        last = pieces[-1]
        if last[1] == piece[0] and last[2] == piece[2]:
            pieces[-1] = (last[0], piece[1], last[2])
            return
    pieces.append(piece)
