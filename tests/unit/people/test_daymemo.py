"""DayMemo: what a window function returns, memoized by UTC day, read back joined and clipped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alertrouter.people.daymemo import DayMemo, Piece, join
from alertrouter.people.wallclock import DAY_MICROS

HOUR = DAY_MICROS // 24


def every_five_hours(start: int, end: int) -> list[Piece[str]]:
    """Pieces [5h·n, 5h·(n+1)) labelled by n // 2 (so pairs of them are equal), unjoined, with a
    gap every seventh piece."""
    found = []
    n = start // (5 * HOUR)
    while n * 5 * HOUR < end:
        if n % 7:
            found.append((max(start, n * 5 * HOUR), min(end, (n + 1) * 5 * HOUR), str(n // 2)))
        n += 1
    return found


def joined(pieces: list[Piece[str]]) -> list[Piece[str]]:
    found: list[Piece[str]] = []
    for piece in pieces:
        join(found, piece)
    return found


windows = st.tuples(st.integers(0, 40 * DAY_MICROS), st.integers(1, 12 * DAY_MICROS)).map(
    lambda w: (w[0], w[0] + w[1])
)


@settings(max_examples=200, deadline=None)
@given(st.lists(windows, min_size=1, max_size=6), st.integers(3, 20))
def test_reads_equal_the_function_joined(reads, max_days):
    memo = DayMemo(every_five_hours, max_days)
    for start, end in [*reads, *reads]:  # each window read twice: computed, then memoized
        assert memo.read(start, end) == joined(every_five_hours(start, end))


def test_only_missing_days_are_computed():
    asked = []

    def compute(start: int, end: int) -> list[Piece[str]]:
        asked.append((start // DAY_MICROS, end // DAY_MICROS))
        return every_five_hours(start, end)

    memo = DayMemo(compute, 100)
    memo.read(2 * DAY_MICROS + HOUR, 5 * DAY_MICROS)
    memo.read(4 * DAY_MICROS, 8 * DAY_MICROS - HOUR)
    memo.read(3 * DAY_MICROS, 7 * DAY_MICROS)
    assert asked == [(2, 5), (5, 8)]  # days 2-4, then 5-7; the third read none


def test_days_beyond_the_bound_are_forgotten_first_computed_first():
    asked = []

    def compute(start: int, end: int) -> list[Piece[str]]:
        asked.append(start // DAY_MICROS)
        return every_five_hours(start, end)

    memo = DayMemo(compute, 3)
    for day in (0, 1, 2, 3):
        memo.read(day * DAY_MICROS, (day + 1) * DAY_MICROS - 1)
    memo.read(0, 2 * DAY_MICROS)
    assert asked == [0, 1, 2, 3, 0]  # day 0 was dropped for day 3; day 1 was kept


def test_a_window_of_max_days_or_more_is_computed_joined():
    memo = DayMemo(every_five_hours, 2)
    assert memo.read(0, 3 * DAY_MICROS) == joined(every_five_hours(0, 3 * DAY_MICROS))
