"""The next change of who is on call, from merged shifts: gaps are nobody, a change of layer with
the same users is no change, and the search widens its horizon only when it must."""

from __future__ import annotations

import datetime as dt

import pytest

from alertrouter.people.oncall import Answer, Shift
from alertrouter.people.outlook import NEXT_CHANGE_HORIZONS, Change, Outlook, next_change, outlook

T0 = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)
END = T0 + dt.timedelta(days=2)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def shift(start: float, end: float, users: tuple[str, ...], layer: str = "weekly") -> Shift:
    return Shift(at(start), at(end), users, layer)


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        ([], None),  # nobody all along
        ([shift(0, 48, ("alice",))], None),  # alice all along
        (
            [shift(0, 5, ("alice",)), shift(5, 48, ("bob",))],
            Change(at(5), Answer(("bob",), "weekly")),
        ),
        ([shift(0, 5, ("alice",))], Change(at(5), Answer((), None))),  # then nobody
        (
            [shift(3, 48, ("bob",), "cover")],
            Change(at(3), Answer(("bob",), "cover")),
        ),  # from nobody
        (
            [shift(0, 5, ("alice",)), shift(7, 48, ("bob",))],
            Change(at(5), Answer((), None)),  # the gap comes first
        ),
        (
            [shift(0, 5, ("alice",)), shift(5, 9, ("alice",), "override"), shift(9, 48, ("bob",))],
            Change(at(9), Answer(("bob",), "weekly")),  # same users, another layer: no change
        ),
        (
            [shift(0, 5, ("alice",)), shift(5, 9, ("alice", "bob"), "override")],
            Change(at(5), Answer(("alice", "bob"), "override")),
        ),
        (
            [shift(0, 5, ("alice",)), shift(5, 48, ("alice",), "override")],
            None,  # alice to the end of the window
        ),
    ],
)
def test_next_change(timeline, expected):
    assert next_change(timeline, T0, END) == expected


def test_outlook_widens_the_horizon_only_until_it_finds_a_change():
    asked: list[dt.timedelta] = []
    change_at = T0 + dt.timedelta(days=10)

    def shifts_between(start: dt.datetime, end: dt.datetime) -> list[Shift]:
        assert start == T0
        asked.append(end - start)
        first = Shift(start, min(end, change_at), ("alice",), "weekly")
        return [first] + ([Shift(change_at, end, ("bob",), "weekly")] if end > change_at else [])

    now = Answer(("alice",), "weekly")
    assert outlook(T0, now, shifts_between) == Outlook(
        T0, now, Change(change_at, Answer(("bob",), "weekly"))
    )
    assert asked == list(NEXT_CHANGE_HORIZONS[:2])


def test_outlook_without_a_change_in_the_longest_horizon():
    asked: list[dt.timedelta] = []

    def shifts_between(start: dt.datetime, end: dt.datetime) -> list[Shift]:
        asked.append(end - start)
        return [Shift(start, end, ("alice",), "weekly")]

    now = Answer(("alice",), "weekly")
    assert outlook(T0, now, shifts_between) == Outlook(T0, now, None)
    assert asked == list(NEXT_CHANGE_HORIZONS)
