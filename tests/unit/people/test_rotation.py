"""A layer's rotation: shift boundaries across DST, who holds a shift, active intervals.

Every expected instant is worked out by hand in UTC. Berlin: CET (+1) until 2026-03-29 01:00
UTC, then CEST (+2) until 2026-10-25 01:00 UTC. New York: EST (-5) until 2026-03-08 07:00 UTC,
then EDT (-4) until 2026-11-01 06:00 UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from alertrouter.core.timeintervals import InclusiveRange, TimeInterval, TimeRange
from alertrouter.people.activity import edges
from alertrouter.people.rotation import Layer

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
USERS = ("ann", "bob", "cid")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def layer(rotation: str, handoff: str, length: int = 1, users: tuple[str, ...] = USERS) -> Layer:
    return Layer("primary", rotation, length, local(handoff), users)  # type: ignore[arg-type]


NY_BUSINESS_HOURS = TimeInterval(
    times=(TimeRange(9 * 60, 17 * 60),),
    weekdays=(InclusiveRange(1, 5),),  # monday..friday
    location=NEW_YORK,
)


@pytest.mark.parametrize(
    ("rotation", "handoff", "length", "zone", "n", "expected"),
    [
        # Daily 09:00 stays 09:00 local: a 23-hour day (Berlin spring forward) ...
        ("daily", "2026-03-28 09:00", 1, BERLIN, 0, "2026-03-28 08:00"),
        ("daily", "2026-03-28 09:00", 1, BERLIN, 1, "2026-03-29 07:00"),
        ("daily", "2026-03-28 09:00", 1, BERLIN, 2, "2026-03-30 07:00"),
        # ... and a 25-hour day (Berlin fall back).
        ("daily", "2026-10-24 09:00", 1, BERLIN, 0, "2026-10-24 07:00"),
        ("daily", "2026-10-24 09:00", 1, BERLIN, 1, "2026-10-25 08:00"),
        ("daily", "2026-03-07 09:00", 1, NEW_YORK, 0, "2026-03-07 14:00"),
        ("daily", "2026-03-07 09:00", 1, NEW_YORK, 1, "2026-03-08 13:00"),
        ("daily", "2026-10-31 09:00", 1, NEW_YORK, 0, "2026-10-31 13:00"),
        ("daily", "2026-10-31 09:00", 1, NEW_YORK, 1, "2026-11-01 14:00"),
        # 02:30 does not exist on spring-forward day: the first instant after the gap, 03:00.
        ("daily", "2026-03-28 02:30", 1, BERLIN, 0, "2026-03-28 01:30"),
        ("daily", "2026-03-28 02:30", 1, BERLIN, 1, "2026-03-29 01:00"),
        ("daily", "2026-03-28 02:30", 1, BERLIN, 2, "2026-03-30 00:30"),
        ("daily", "2026-03-07 02:30", 1, NEW_YORK, 1, "2026-03-08 07:00"),
        # 01:30 happens twice on New York's fall-back day: the first (EDT) occurrence.
        ("daily", "2026-10-31 01:30", 1, NEW_YORK, 0, "2026-10-31 05:30"),
        ("daily", "2026-10-31 01:30", 1, NEW_YORK, 1, "2026-11-01 05:30"),
        ("daily", "2026-10-31 01:30", 1, NEW_YORK, 2, "2026-11-02 06:30"),
        ("daily", "2026-10-25 02:30", 1, BERLIN, 0, "2026-10-25 00:30"),
        # Hourly counts absolute hours: 3 hours after 00:00 CET the clock reads 04:00 CEST.
        ("hourly", "2026-03-29 00:00", 1, BERLIN, 3, "2026-03-29 02:00"),
        ("hourly", "2026-03-29 00:00", 1, BERLIN, -1, "2026-03-28 22:00"),
        ("hourly", "2026-03-29 02:30", 4, BERLIN, 0, "2026-03-29 01:00"),
        ("hourly", "2026-03-29 02:30", 4, BERLIN, 1, "2026-03-29 05:00"),
        ("hourly", "2026-03-29 02:30", 4, BERLIN, -1, "2026-03-28 21:00"),
        ("hourly", "2026-11-01 00:00", 1, NEW_YORK, 1, "2026-11-01 05:00"),  # 01:00 EDT
        ("hourly", "2026-11-01 00:00", 1, NEW_YORK, 2, "2026-11-01 06:00"),  # 01:00 EST
        # Lengths above one unit, forwards and backwards.
        ("weekly", "2026-03-16 09:00", 2, BERLIN, 0, "2026-03-16 08:00"),
        ("weekly", "2026-03-16 09:00", 2, BERLIN, 1, "2026-03-30 07:00"),
        ("weekly", "2026-03-16 09:00", 2, BERLIN, -1, "2026-03-02 08:00"),
        ("weekly", "2026-03-16 09:00", 2, BERLIN, 16, "2026-10-26 08:00"),
        ("daily", "2026-03-05 09:00", 3, NEW_YORK, 1, "2026-03-08 13:00"),
        ("daily", "2026-03-05 09:00", 3, NEW_YORK, -1, "2026-03-02 14:00"),
        ("daily", "2026-03-05 09:00", 3, NEW_YORK, -100, "2025-05-09 13:00"),
    ],
)
def test_boundary(rotation, handoff, length, zone, n, expected):
    assert layer(rotation, handoff, length).boundary(n, zone) == utc(expected)


# (rotation, handoff, shift_length, zone, at, k, shift start, shift end, user on call); the
# CLI's `schedules who` is checked against this same table (tests/unit/cli).
SHIFT_TABLE = [
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-03-29 06:59", 27,
         "2026-03-28 08:00", "2026-03-29 07:00", "ann"),
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-03-29 07:00", 28,
         "2026-03-29 07:00", "2026-03-30 07:00", "bob"),
        # Before the handoff the rotation runs backwards: users[k mod 3].
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-02-27 12:00", -2,
         "2026-02-27 08:00", "2026-02-28 08:00", "bob"),
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-02-28 07:59:59", -2,
         "2026-02-27 08:00", "2026-02-28 08:00", "bob"),
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-02-28 08:00", -1,
         "2026-02-28 08:00", "2026-03-01 08:00", "cid"),
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-03-01 07:59", -1,
         "2026-02-28 08:00", "2026-03-01 08:00", "cid"),
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2026-03-01 08:00", 0,
         "2026-03-01 08:00", "2026-03-02 08:00", "ann"),
        # Years away: 1401 days from 2026-03-01 to 2029-12-31 (2028 is a leap year).
        ("daily", "2026-03-01 09:00", 1, BERLIN, "2030-01-01 00:00", 1401,
         "2029-12-31 08:00", "2030-01-01 08:00", "ann"),
        # The 25-hour shift of New York's fall-back day, and the ambiguous hour in it.
        ("daily", "2026-10-31 09:00", 1, NEW_YORK, "2026-11-01 13:30", 0,
         "2026-10-31 13:00", "2026-11-01 14:00", "ann"),
        ("hourly", "2026-11-01 00:00", 1, NEW_YORK, "2026-11-01 05:30", 1,
         "2026-11-01 05:00", "2026-11-01 06:00", "bob"),
        ("hourly", "2026-11-01 00:00", 1, NEW_YORK, "2026-11-01 06:30", 2,
         "2026-11-01 06:00", "2026-11-01 07:00", "cid"),
        ("hourly", "2026-11-01 00:00", 1, NEW_YORK, "2026-10-31 23:59", -5,
         "2026-10-31 23:00", "2026-11-01 00:00", "bob"),
        ("weekly", "2026-03-16 09:00", 2, BERLIN, "2026-04-01 12:00", 1,
         "2026-03-30 07:00", "2026-04-13 07:00", "bob"),
        ("weekly", "2026-03-16 09:00", 2, BERLIN, "2026-03-10 12:00", -1,
         "2026-03-02 08:00", "2026-03-16 08:00", "cid"),
        # The spring-forward shift starting in the gap begins at 03:00 CEST.
        ("daily", "2026-03-28 02:30", 1, BERLIN, "2026-03-29 00:59", 0,
         "2026-03-28 01:30", "2026-03-29 01:00", "ann"),
        ("daily", "2026-03-28 02:30", 1, BERLIN, "2026-03-29 01:00", 1,
         "2026-03-29 01:00", "2026-03-30 00:30", "bob"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rotation", "handoff", "length", "zone", "at", "k", "start", "end", "user"), SHIFT_TABLE
)
def test_shift_at_and_on_call(rotation, handoff, length, zone, at, k, start, end, user):
    rotation_layer = layer(rotation, handoff, length)
    assert rotation_layer.shift_at(utc(at), zone) == (k, utc(start), utc(end))
    assert rotation_layer.on_call(utc(at), zone) == user


def test_instants_in_other_zones_mean_the_same_instant():
    rotation_layer = layer("daily", "2026-03-01 09:00")
    tokyo = dt.datetime(2026, 3, 29, 16, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 07:00 UTC
    assert rotation_layer.shift_at(tokyo, BERLIN)[0] == 28


@pytest.mark.parametrize(
    ("at", "user"),
    [
        # Tuesday 2026-03-10: New York is on EDT already, Berlin still on CET. 12:59 UTC is
        # 13:59 in Berlin (business hours there) but 08:59 in New York: nobody.
        ("2026-03-10 12:59", None),
        ("2026-03-10 13:00", "ann"),  # 09:00 EDT; daily k=9 from 2026-03-01 09:00 CET
        ("2026-03-10 20:59", "ann"),
        ("2026-03-10 21:00", None),  # 17:00 EDT
        ("2026-03-14 15:00", None),  # Saturday
        ("2026-03-06 14:00", "cid"),  # Friday 09:00 EST; k=5
        ("2026-03-06 13:59", None),
    ],
)
def test_restricted_layer_is_read_in_the_intervals_location(at, user):
    restricted = Layer(
        "business", "daily", 1, local("2026-03-01 09:00"), USERS, (NY_BUSINESS_HOURS,)
    )
    assert restricted.on_call(utc(at), BERLIN) == user


@pytest.mark.parametrize(
    ("interval", "start", "end", "expected"),
    [
        # Friday in EST, Monday in EDT; the weekend has no edges.
        (NY_BUSINESS_HOURS, "2026-03-06 00:00", "2026-03-10 00:00",
         ["2026-03-06 14:00", "2026-03-06 22:00", "2026-03-09 13:00", "2026-03-09 21:00"]),
        # Window edges are not edges: active at both ends.
        (NY_BUSINESS_HOURS, "2026-03-09 14:00", "2026-03-09 15:00", []),
        # Berlin falls back at 01:00 UTC (03:00 CEST -> 02:00 CET): 00:00-02:30 ends at 02:30
        # CEST, starts again when the clock is set back to 02:00, ends again at 02:30 CET.
        (TimeInterval(times=(TimeRange(0, 150),), location=BERLIN),
         "2026-10-24 22:00", "2026-10-25 03:00",
         ["2026-10-25 00:30", "2026-10-25 01:00", "2026-10-25 01:30"]),
        # Berlin springs forward at 01:00 UTC (02:00 CET -> 03:00 CEST): 01:00-02:30 ends there.
        (TimeInterval(times=(TimeRange(60, 150),), location=BERLIN),
         "2026-03-28 23:00", "2026-03-29 04:00", ["2026-03-29 00:00", "2026-03-29 01:00"]),
        # The last day of the month, in UTC (no location).
        (TimeInterval(days_of_month=(InclusiveRange(-1, -1),)),
         "2026-02-27 00:00", "2026-03-02 00:00", ["2026-02-28 00:00", "2026-03-01 00:00"]),
        # Local midnights, in Tokyo (+9).
        (TimeInterval(weekdays=(InclusiveRange(6, 6),), location=ZoneInfo("Asia/Tokyo")),
         "2026-03-13 00:00", "2026-03-16 00:00", ["2026-03-13 15:00", "2026-03-14 15:00"]),
        # Two ranges in one day, and a range up to 24:00.
        (TimeInterval(times=(TimeRange(60, 120), TimeRange(1380, 1440))),
         "2026-03-01 00:00", "2026-03-02 03:00",
         ["2026-03-01 01:00", "2026-03-01 02:00", "2026-03-01 23:00", "2026-03-02 00:00",
          "2026-03-02 01:00", "2026-03-02 02:00"]),
    ],
)  # fmt: skip
def test_active_edges(interval, start, end, expected):
    assert edges((interval,), utc(start), utc(end)) == [utc(t) for t in expected]


def test_edges_of_several_intervals_are_those_of_their_union():
    mornings = TimeInterval(times=(TimeRange(8 * 60, 10 * 60),))
    late_mornings = TimeInterval(times=(TimeRange(9 * 60, 12 * 60),))
    found = edges((mornings, late_mornings), utc("2026-03-01 00:00"), utc("2026-03-02 00:00"))
    assert found == [utc("2026-03-01 08:00"), utc("2026-03-01 12:00")]


def test_change_points_are_boundaries_and_activity_edges():
    restricted = Layer(
        "business", "daily", 1, local("2026-03-01 09:00"), USERS, (NY_BUSINESS_HOURS,)
    )
    points = restricted.change_points(utc("2026-03-06 00:00"), utc("2026-03-08 00:00"), BERLIN)
    assert points == [
        utc("2026-03-06 08:00"),  # 09:00 CET boundaries
        utc("2026-03-06 14:00"),
        utc("2026-03-06 22:00"),
        utc("2026-03-07 08:00"),
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-03-28 00:00", "2026-03-31 00:00",
         ["2026-03-28 08:00", "2026-03-29 07:00", "2026-03-30 07:00"]),
        ("2026-03-28 08:00", "2026-03-29 07:00", []),  # (start, end): neither end
        ("2026-03-29 07:00", "2026-03-29 07:00", []),
    ],
)  # fmt: skip
def test_boundaries_in_a_window(start, end, expected):
    found = layer("daily", "2026-03-27 09:00").boundaries(utc(start), utc(end), BERLIN)
    assert found == [utc(t) for t in expected]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rotation": "monthly"}, "rotation must be hourly, daily or weekly"),
        ({"shift_length": 0}, "shift_length must be an integer >= 1"),
        ({"shift_length": True}, "shift_length must be an integer >= 1"),
        ({"users": ()}, "users must be a non-empty list"),
        ({"handoff": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)}, "handoff must be a naive"),
    ],
)
def test_invalid_layers_are_rejected_naming_the_field(fields, message):
    values = {
        "name": "primary",
        "rotation": "daily",
        "shift_length": 1,
        "handoff": local("2026-03-01 09:00"),
        "users": USERS,
    } | fields
    with pytest.raises(ValueError, match=f"layer 'primary': {message}"):
        Layer(**values)


def test_naive_instants_are_rejected():
    with pytest.raises(ValueError, match="at: a timezone-aware datetime is required"):
        layer("daily", "2026-03-01 09:00").on_call(local("2026-03-01 12:00"), BERLIN)
