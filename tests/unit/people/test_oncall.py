"""A schedule's answer: layer precedence, overrides, versions, and the merged timeline.

Expected values are worked out by hand in UTC (Berlin is CET, +1, until 2026-03-29 01:00 UTC;
New York is EDT, -4, from 2026-03-08 07:00 UTC). 2026-03-02 and 2026-03-09 are Mondays.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertrouter.core.timeintervals import InclusiveRange, TimeInterval, TimeRange
from alertrouter.people.oncall import (
    Answer,
    Override,
    Schedule,
    Shift,
    Version,
    shifts,
    version_at,
    versions_of,
    who,
)
from alertrouter.people.rotation import Layer

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NY_BUSINESS_HOURS = TimeInterval(
    times=(TimeRange(9 * 60, 17 * 60),), weekdays=(InclusiveRange(1, 5),), location=NEW_YORK
)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def monday_9am(users: tuple[str, ...], rotation: str = "weekly", name: str = "primary") -> Layer:
    return Layer(name, rotation, 1, dt.datetime(2026, 3, 2, 9), users)  # type: ignore[arg-type]


PRIMARY = monday_9am(("ann", "bob"))  # weekly: ann from 03-02 08:00 UTC, bob from 03-09 08:00
BUSINESS = Layer(
    "business", "daily", 1, dt.datetime(2026, 3, 2, 9), ("cid", "dan"), (NY_BUSINESS_HOURS,)
)
STACKED = versions_of(Schedule("platform", BERLIN, (PRIMARY, BUSINESS)))
PRIMARY_ONLY = versions_of(Schedule("platform", BERLIN, (PRIMARY,)))
BUSINESS_ONLY = versions_of(Schedule("platform", BERLIN, (BUSINESS,)))


def override(
    id: int, kind: str, users: tuple[str, ...], start: str, end: str, created: str = "2026-03-01"
) -> Override:
    return Override(id, kind, users, utc(start), utc(end), utc(f"{created} 00:00"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("versions", "at", "expected"),
    [
        # The later layer decides where it has someone (10:00 EDT, daily k=8: cid) ...
        (STACKED, "2026-03-10 14:00", Answer(("cid",), "business")),
        # ... the earlier one where it has nobody (08:00 EDT; weekly k=1: bob).
        (STACKED, "2026-03-10 12:00", Answer(("bob",), "primary")),
        (STACKED, "2026-03-14 15:00", Answer(("bob",), "primary")),  # Saturday
        (STACKED, "2026-03-16 08:30", Answer(("ann",), "primary")),  # weekly k=2
        (STACKED, "2026-03-11 14:00", Answer(("dan",), "business")),  # daily k=9
        (BUSINESS_ONLY, "2026-03-14 15:00", Answer((), None)),
        (versions_of(Schedule("empty", BERLIN, ())), "2026-03-14 15:00", Answer((), None)),
    ],
)
def test_who_without_overrides(versions, at, expected):
    assert who(versions, utc(at)) == expected


# At 2026-03-10 12:00 UTC the layers alone answer bob (primary).
@pytest.mark.parametrize(
    ("overrides", "at", "expected"),
    [
        ([override(1, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 12:00", Answer(("carl",), "override")),
        ([override(1, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 10:00", Answer(("carl",), "override")),  # start included
        ([override(1, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 14:00", Answer(("bob",), "primary")),  # end excluded
        ([override(1, "replace", ("carl", "erin"), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 12:00", Answer(("carl", "erin"), "override")),
        ([override(1, "add", ("dave",), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 12:00", Answer(("bob", "dave"), "override")),
        # Adding the person already on call: no duplicate, still the override's answer.
        ([override(1, "add", ("bob",), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 12:00", Answer(("bob",), "override")),
        # Overlapping replaces: the most recently created wins, whatever the list order ...
        ([override(2, "replace", ("erin",), "2026-03-10 11:00", "2026-03-10 13:00", "2026-03-05"),
          override(1, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00", "2026-03-01")],
         "2026-03-10 12:00", Answer(("erin",), "override")),
        ([override(1, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00", "2026-03-06"),
          override(2, "replace", ("erin",), "2026-03-10 11:00", "2026-03-10 13:00", "2026-03-05")],
         "2026-03-10 12:00", Answer(("carl",), "override")),
        # ... and among equally recent ones the higher id.
        ([override(3, "replace", ("erin",), "2026-03-10 11:00", "2026-03-10 13:00"),
          override(2, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00")],
         "2026-03-10 12:00", Answer(("erin",), "override")),
        # Adds go on top of the winning replace, in the order they were created.
        ([override(1, "replace", ("carl",), "2026-03-10 10:00", "2026-03-10 14:00"),
          override(4, "add", ("gus",), "2026-03-10 10:00", "2026-03-10 14:00", "2026-03-03"),
          override(5, "add", ("fay", "carl"), "2026-03-10 10:00", "2026-03-10 14:00",
                   "2026-03-02")],
         "2026-03-10 12:00", Answer(("carl", "fay", "gus"), "override")),
        # Overrides not in force change nothing.
        ([override(1, "replace", ("carl",), "2026-03-11 10:00", "2026-03-11 14:00")],
         "2026-03-10 12:00", Answer(("bob",), "primary")),
    ],
)  # fmt: skip
def test_who_with_overrides(overrides, at, expected):
    assert who(PRIMARY_ONLY, utc(at), overrides) == expected


def test_an_add_override_when_nobody_is_on_call():
    added = [override(1, "add", ("hal",), "2026-03-14 00:00", "2026-03-15 00:00")]
    assert who(BUSINESS_ONLY, utc("2026-03-14 15:00"), added) == Answer(("hal",), "override")


ZOE = versions_of(Schedule("platform", BERLIN, (monday_9am(("zoe",), "daily", "new"),)))[0].schedule
PRIMARY_SCHEDULE = PRIMARY_ONLY[0].schedule
CHANGED = (Version(None, PRIMARY_SCHEDULE), Version(utc("2026-03-12 00:00"), ZOE))
LATER = (Version(utc("2026-03-12 00:00"), PRIMARY_SCHEDULE), Version(utc("2026-03-20 00:00"), ZOE))


@pytest.mark.parametrize(
    ("versions", "at", "expected"),
    [
        (CHANGED, "2026-03-11 23:59:59", Answer(("bob",), "primary")),
        (CHANGED, "2026-03-12 00:00", Answer(("zoe",), "new")),
        (tuple(reversed(CHANGED)), "2026-03-12 00:00", Answer(("zoe",), "new")),
        # Before the first version's effective_from: the first version.
        (LATER, "2026-03-01 12:00", Answer(("bob",), "primary")),  # weekly k=-1
        (LATER, "2026-03-19 23:59", Answer(("ann",), "primary")),  # weekly k=2 from 03-16
        (LATER, "2026-03-20 00:00", Answer(("zoe",), "new")),
    ],
)  # fmt: skip
def test_who_uses_the_version_in_force(versions, at, expected):
    assert who(versions, utc(at)) == expected


def test_the_last_of_equally_effective_versions_is_in_force():
    tied = (
        Version(utc("2026-03-12 00:00"), PRIMARY_SCHEDULE),
        Version(utc("2026-03-12 00:00"), ZOE),
    )
    assert version_at(tied, utc("2026-03-13 00:00")).schedule is ZOE


def shift(start: str, end: str, users: tuple[str, ...], layer: str) -> Shift:
    return Shift(utc(start), utc(end), users, layer)


ANN_BOB_DAILY = versions_of(
    Schedule(
        "s", BERLIN, (Layer("daily", "daily", 1, dt.datetime(2026, 3, 27, 9), ("ann", "bob")),)
    )
)
NY_HOURLY = versions_of(
    Schedule("s", NEW_YORK, (Layer("hourly", "hourly", 1, dt.datetime(2026, 11, 1), ("a", "b")),))
)
WINDOW_OVERRIDES = [
    override(4, "replace", ("ivy",), "2026-03-08 00:00", "2026-03-09 02:00"),  # starts before
    override(1, "replace", ("carl",), "2026-03-09 12:00", "2026-03-09 18:00", "2026-03-01"),
    override(2, "add", ("dave",), "2026-03-09 16:00", "2026-03-10 02:00"),
    override(3, "replace", ("erin",), "2026-03-09 17:00", "2026-03-09 17:30", "2026-03-08"),
    override(5, "replace", ("kim",), "2026-03-12 00:00", "2026-03-13 00:00"),  # after the window
]


@pytest.mark.parametrize(
    ("versions", "start", "end", "overrides", "expected"),
    [
        # Daily 09:00 Berlin across spring forward: the middle shift lasts 23 hours.
        (ANN_BOB_DAILY, "2026-03-28 00:00", "2026-03-31 00:00", [], [
            shift("2026-03-28 00:00", "2026-03-28 08:00", ("ann",), "daily"),
            shift("2026-03-28 08:00", "2026-03-29 07:00", ("bob",), "daily"),
            shift("2026-03-29 07:00", "2026-03-30 07:00", ("ann",), "daily"),
            shift("2026-03-30 07:00", "2026-03-31 00:00", ("bob",), "daily"),
        ]),
        # Hourly in New York across fall back: four shifts in three wall-clock hours.
        (NY_HOURLY, "2026-11-01 04:00", "2026-11-01 08:00", [], [
            shift("2026-11-01 04:00", "2026-11-01 05:00", ("a",), "hourly"),
            shift("2026-11-01 05:00", "2026-11-01 06:00", ("b",), "hourly"),
            shift("2026-11-01 06:00", "2026-11-01 07:00", ("a",), "hourly"),
            shift("2026-11-01 07:00", "2026-11-01 08:00", ("b",), "hourly"),
        ]),
        # One person all along: one merged shift, clipped to the window.
        (versions_of(Schedule("s", BERLIN, (monday_9am(("ann",)),))),
         "2026-03-05 00:00", "2026-03-20 00:00", [],
         [shift("2026-03-05 00:00", "2026-03-20 00:00", ("ann",), "primary")]),
        # New York business hours (EST on Friday, EDT on Monday) over a weekly Berlin layer;
        # the weekly handoff at 03-09 08:00 UTC passes from ann to bob.
        (STACKED, "2026-03-06 00:00", "2026-03-10 00:00", [], [
            shift("2026-03-06 00:00", "2026-03-06 14:00", ("ann",), "primary"),
            shift("2026-03-06 14:00", "2026-03-06 22:00", ("cid",), "business"),
            shift("2026-03-06 22:00", "2026-03-09 08:00", ("ann",), "primary"),
            shift("2026-03-09 08:00", "2026-03-09 13:00", ("bob",), "primary"),
            shift("2026-03-09 13:00", "2026-03-09 21:00", ("dan",), "business"),
            shift("2026-03-09 21:00", "2026-03-10 00:00", ("bob",), "primary"),
        ]),
        # Nobody is left out.
        (BUSINESS_ONLY, "2026-03-06 00:00", "2026-03-10 00:00", [], [
            shift("2026-03-06 14:00", "2026-03-06 22:00", ("cid",), "business"),
            shift("2026-03-09 13:00", "2026-03-09 21:00", ("dan",), "business"),
        ]),
        # Override edges, clipped to the window; overlapping replaces and an add.
        (PRIMARY_ONLY, "2026-03-09 00:00", "2026-03-11 00:00", WINDOW_OVERRIDES, [
            shift("2026-03-09 00:00", "2026-03-09 02:00", ("ivy",), "override"),
            shift("2026-03-09 02:00", "2026-03-09 08:00", ("ann",), "primary"),
            shift("2026-03-09 08:00", "2026-03-09 12:00", ("bob",), "primary"),
            shift("2026-03-09 12:00", "2026-03-09 16:00", ("carl",), "override"),
            shift("2026-03-09 16:00", "2026-03-09 17:00", ("carl", "dave"), "override"),
            shift("2026-03-09 17:00", "2026-03-09 17:30", ("erin", "dave"), "override"),
            shift("2026-03-09 17:30", "2026-03-09 18:00", ("carl", "dave"), "override"),
            shift("2026-03-09 18:00", "2026-03-10 02:00", ("bob", "dave"), "override"),
            shift("2026-03-10 02:00", "2026-03-11 00:00", ("bob",), "primary"),
        ]),
        # An override giving the same person is still an override's shift.
        (PRIMARY_ONLY, "2026-03-10 00:00", "2026-03-11 00:00",
         [override(1, "replace", ("bob",), "2026-03-10 06:00", "2026-03-10 07:00")], [
            shift("2026-03-10 00:00", "2026-03-10 06:00", ("bob",), "primary"),
            shift("2026-03-10 06:00", "2026-03-10 07:00", ("bob",), "override"),
            shift("2026-03-10 07:00", "2026-03-11 00:00", ("bob",), "primary"),
        ]),
        # A version taking effect inside the window.
        ((Version(None, PRIMARY_SCHEDULE), Version(utc("2026-03-09 12:00"), ZOE)),
         "2026-03-09 00:00", "2026-03-10 00:00", [], [
            shift("2026-03-09 00:00", "2026-03-09 08:00", ("ann",), "primary"),
            shift("2026-03-09 08:00", "2026-03-09 12:00", ("bob",), "primary"),
            shift("2026-03-09 12:00", "2026-03-10 00:00", ("zoe",), "new"),
        ]),
        (PRIMARY_ONLY, "2026-03-10 00:00", "2026-03-10 00:00", [], []),
    ],
)  # fmt: skip
def test_shifts(versions, start, end, overrides, expected):
    assert shifts(versions, utc(start), utc(end), overrides) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(2026, 3, 1), max_value=dt.datetime(2026, 3, 31, 23)),
)
def test_shifts_agree_with_who_at_every_instant(naive):
    """Cross-check of the two views over a window crossing Berlin's and New York's DST."""
    at = naive.replace(tzinfo=dt.UTC)
    timeline = shifts(STACKED, utc("2026-03-01 00:00"), utc("2026-04-01 00:00"), WINDOW_OVERRIDES)
    answer = who(STACKED, at, WINDOW_OVERRIDES)
    containing = [s for s in timeline if s.start <= at < s.end]
    assert [(s.users, s.layer) for s in containing] == (
        [(answer.users, answer.layer)] if answer.users else []
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "swap"}, "override 7: kind must be replace or add"),
        ({"users": ()}, "override 7: users must be a non-empty list"),
        ({"end": utc("2026-03-10 10:00")}, "override 7: start must be before end"),
        ({"start": dt.datetime(2026, 3, 10)}, "override 7: start: a timezone-aware datetime"),
    ],
)
def test_invalid_overrides_are_rejected(fields, message):
    values = {
        "id": 7,
        "kind": "replace",
        "users": ("carl",),
        "start": utc("2026-03-10 10:00"),
        "end": utc("2026-03-10 14:00"),
        "created_at": utc("2026-03-01 00:00"),
    } | fields
    with pytest.raises(ValueError, match=message):
        Override(**values)


def test_a_schedule_needs_a_version():
    with pytest.raises(ValueError, match="at least one version"):
        who((), utc("2026-03-10 10:00"))
