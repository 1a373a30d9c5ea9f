"""The pure parts of the per-person statistics: which pages fall outside a person's working
hours (nights 22:00-07:00 and weekends on their own wall clock, across DST changes and zones),
the offset spans the database reads local time with, hours on call, and the rows combined."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from alertrouter.history.measures import Measure
from alertrouter.history.people_load import (
    Activity,
    OffsetSpan,
    PeopleLoad,
    Person,
    by_person,
    combine,
    document,
    off_hours,
    off_hours_local,
    offset_spans,
)

HOUR = 3_600_000


def ms(text: str) -> int:
    """An RFC 3339 instant (with its offset) as epoch ms."""
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


# (zone, instant with the UTC offset the zone has then, expected). 2026-03-27 is a Friday.
OFF_HOURS = [
    # the edges of a night and of a weekend, on the person's own clock
    ("Europe/London", "2026-03-27T21:59:59.999+00:00", None),
    ("Europe/London", "2026-03-27T22:00:00+00:00", "night"),  # Friday night
    ("Europe/London", "2026-03-27T23:59:59.999+00:00", "night"),
    ("Europe/London", "2026-03-28T00:00:00+00:00", "weekend"),  # Saturday begins
    ("Europe/London", "2026-03-28T12:00:00+00:00", "weekend"),
    ("Europe/London", "2026-03-30T06:59:59.999+01:00", "night"),  # Monday, after the change
    ("Europe/London", "2026-03-30T07:00:00+01:00", None),
    ("Europe/London", "2026-03-29T23:59:59.999+01:00", "weekend"),  # Sunday 23:59 (BST)
    ("Europe/London", "2026-03-30T00:00:00+01:00", "night"),  # Monday 00:00
    # the same UTC time of day, before and after Berlin's spring-forward change (29 March)
    ("Europe/Berlin", "2026-03-23T05:30:00+00:00", "night"),  # 06:30 CET
    ("Europe/Berlin", "2026-03-30T05:30:00+00:00", None),  # 07:30 CEST
    ("Europe/Berlin", "2026-03-30T04:59:59.999+00:00", "night"),  # 06:59:59 CEST
    ("Europe/Berlin", "2026-03-29T01:30:00+00:00", "weekend"),  # in the change itself, Sunday
    # New York: a Friday evening that is Saturday in UTC; fall back (1 November) on a Sunday
    ("America/New_York", "2026-03-07T03:00:00+00:00", "night"),  # Friday 22:00 EST
    ("America/New_York", "2026-03-07T02:59:59+00:00", None),  # Friday 21:59:59 EST
    ("America/New_York", "2026-11-02T11:59:59+00:00", "night"),  # Monday 06:59:59 EST
    ("America/New_York", "2026-11-02T12:00:00+00:00", None),  # Monday 07:00 EST
    ("America/New_York", "2026-10-26T11:00:00+00:00", None),  # Monday 07:00 EDT
    ("America/New_York", "2026-10-26T10:59:59+00:00", "night"),  # Monday 06:59:59 EDT
    # half-hour and far-east offsets: the local date is not the UTC date
    ("Asia/Kolkata", "2026-06-01T16:29:59.999+00:00", None),  # Monday 21:59:59 IST
    ("Asia/Kolkata", "2026-06-01T16:30:00+00:00", "night"),  # Monday 22:00 IST
    ("Pacific/Auckland", "2026-01-04T11:30:00+00:00", "night"),  # Monday 00:30 NZDT
    ("Pacific/Auckland", "2026-01-02T11:00:00+00:00", "weekend"),  # Saturday 00:00 NZDT
    ("UTC", "2026-03-28T12:00:00+00:00", "weekend"),
    ("UTC", "2026-03-30T12:00:00+00:00", None),
]


@pytest.mark.parametrize(("zone", "instant", "expected"), OFF_HOURS)
def test_pages_outside_working_hours_on_the_persons_own_clock(zone, instant, expected):
    assert off_hours(ms(instant), ZoneInfo(zone)) == expected
    # What the statistics count with: the zone's offsets over a year around the instant.
    year = (ms("2025-12-01T00:00:00+00:00"), ms("2027-01-01T00:00:00+00:00"))
    assert off_hours_local(ms(instant), offset_spans(ZoneInfo(zone), *year)) == expected


def test_offset_spans_list_each_change_within_the_window():
    berlin = ZoneInfo("Europe/Berlin")
    year = (ms("2026-01-01T00:00:00+00:00"), ms("2027-01-01T00:00:00+00:00"))
    assert offset_spans(berlin, *year) == (
        OffsetSpan(year[0], 1 * HOUR),
        OffsetSpan(ms("2026-03-29T01:00:00+00:00"), 2 * HOUR),
        OffsetSpan(ms("2026-10-25T01:00:00+00:00"), 1 * HOUR),
    )
    assert offset_spans(ZoneInfo("UTC"), *year) == (OffsetSpan(year[0], 0),)
    summer = (ms("2026-06-01T10:17:00+00:00"), ms("2026-07-01T00:00:00+00:00"))
    assert offset_spans(berlin, *summer) == (OffsetSpan(summer[0], 2 * HOUR),)
    change = ms("2026-03-29T01:00:00+00:00")
    assert offset_spans(berlin, change, change + 1) == (OffsetSpan(change, 2 * HOUR),)
    assert offset_spans(berlin, change - 1, change + 1) == (
        OffsetSpan(change - 1, HOUR),
        OffsetSpan(change, 2 * HOUR),
    )
    kolkata = offset_spans(ZoneInfo("Asia/Kolkata"), *year)
    assert kolkata == (OffsetSpan(year[0], 5 * HOUR + 30 * 60_000),)


def test_hours_on_call_are_turned_per_person_and_nobody_with_none_is_listed():
    # per schedule, per person, as ledgers.all_held gives them (people.held clips to the window)
    held = {
        "payments": {"alice": (9 + 12) * HOUR, "bob": 36 * HOUR, "carol": 12 * HOUR, "dave": 0},
        "search": {"bob": 7 * 24 * HOUR},
    }
    found = by_person(held)
    assert found == {
        "alice": {"payments": (9 + 12) * HOUR},
        "bob": {"payments": 36 * HOUR, "search": 7 * 24 * HOUR},
        "carol": {"payments": 12 * HOUR},
    }


def test_combine_lists_configured_people_and_names_with_history():
    people = [Person("bob", "Bob B", "Europe/Berlin"), Person("alice", None, "UTC")]
    paged = Activity(
        paged=2, paged_at_night=1, acknowledged=1, to_acknowledge=Measure(60_000, 60_000)
    )
    rows = combine(people, {"zoe": paged}, {"bob": {"search": HOUR, "payments": 2 * HOUR}})
    assert [(r.user, r.full_name, r.time_zone) for r in rows] == [
        ("alice", None, "UTC"),
        ("bob", "Bob B", "Europe/Berlin"),
        ("zoe", None, "UTC"),  # no longer configured: read in UTC
    ]
    assert list(rows[1].on_call_ms) == ["payments", "search"]
    assert rows[1].total_on_call_ms == 3 * HOUR
    assert rows[2].activity == paged and rows[2].paged_outside_working_hours == 1
    assert [r.user for r in combine(people, {"zoe": paged}, {}, only="bob")] == ["bob"]
    assert combine(people, {}, {}, only="nobody") == []


def test_document():
    activity = Activity(3, 1, 1, 2, Measure(90_500, 120_000))
    row = combine(
        [Person("alice", "Alice L", "Europe/London")],
        {"alice": activity},
        {"alice": {"payments": 90 * 60_000}},
    )
    load = PeopleLoad(ms("2026-03-01T00:00:00+00:00"), ms("2026-03-08T00:00:00+00:00"), row)
    assert document(load) == {
        "from": "2026-03-01T00:00:00.000Z",
        "to": "2026-03-08T00:00:00.000Z",
        "people": [
            {
                "user": "alice",
                "fullName": "Alice L",
                "timeZone": "Europe/London",
                "paged": 3,
                "pagedOutsideWorkingHours": {"total": 2, "nights": 1, "weekends": 1},
                "acknowledged": 2,
                "timeToAcknowledge": {"meanSeconds": 90.5, "p90Seconds": 120.0},
                "hoursOnCall": 1.5,
                "onCallBySchedule": [{"schedule": "payments", "hours": 1.5}],
            }
        ],
    }
