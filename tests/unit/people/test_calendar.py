"""people.calendar: shifts become an RFC 5545 feed that parses back into the same shifts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from alertrouter.people.calendar import FeedShift, feed, feed_window
from alertrouter.people.oncall import Shift

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 3, 25, 13, 45, 12, tzinfo=UTC)


def at(*args: int, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


SHIFTS = [
    FeedShift("payments", Shift(at(2026, 3, 23, 8), at(2026, 3, 30, 7), ("alice",), "weekly")),
    # Across the spring-forward change in Berlin: 09:00 CET to 09:00 CEST.
    FeedShift(
        "payments", Shift(at(2026, 3, 30, 7), at(2026, 3, 31, 7), ("bob", "dave"), "override")
    ),
]


def events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_each_shift_is_one_event_in_utc_that_parses_back():
    body = feed("schedule:payments", "On call: payments", SHIFTS, now=NOW)
    parsed = icalendar.Calendar.from_ical(body)
    assert parsed["X-WR-CALNAME"] == "On call: payments"
    assert parsed["VERSION"] == "2.0" and parsed["PRODID"]
    found = [(e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in events(body)]
    assert found == [
        (at(2026, 3, 23, 8), at(2026, 3, 30, 7), "On call: payments (alice)"),
        (at(2026, 3, 30, 7), at(2026, 3, 31, 7), "On call: payments (bob, dave)"),
    ]
    assert b"DTSTART:20260323T080000Z" in body  # UTC, not a floating or zoned time
    assert all(e.decoded("DTSTAMP") == NOW.replace(microsecond=0) for e in events(body))
    assert "override" in str(events(body)[1]["DESCRIPTION"])


def test_zoned_shift_times_are_written_in_utc():
    shift = Shift(at(2026, 3, 30, 9, tz=BERLIN), at(2026, 3, 31, 9, tz=BERLIN), ("bob",), "daily")
    (event,) = events(feed("schedule:p", "p", [FeedShift("p", shift)], now=NOW))
    assert event.decoded("DTSTART") == at(2026, 3, 30, 7)
    assert event.decoded("DTSTART").tzinfo is not None


def test_uids_are_stable_across_fetches_and_differ_between_shifts_and_feeds():
    first = [str(e["UID"]) for e in events(feed("schedule:payments", "x", SHIFTS, now=NOW))]
    later = NOW + dt.timedelta(hours=5)
    again = [str(e["UID"]) for e in events(feed("schedule:payments", "x", SHIFTS, now=later))]
    other_feed = [str(e["UID"]) for e in events(feed("user:bob", "x", SHIFTS, now=NOW))]
    assert first == again
    assert len(set(first)) == 2
    assert set(first).isdisjoint(other_feed)


def test_an_empty_feed_is_a_valid_calendar():
    body = feed("user:carol", "On call: Carol", [], now=NOW)
    assert events(body) == []
    assert icalendar.Calendar.from_ical(body)["X-WR-CALNAME"] == "On call: Carol"


def test_the_window_covers_a_week_back_and_ninety_days_ahead_in_whole_days():
    start, end = feed_window(NOW)
    assert start == at(2026, 3, 18)
    assert end == at(2026, 6, 24)
    assert start <= NOW - dt.timedelta(days=7) and end >= NOW + dt.timedelta(days=90)
    assert feed_window(NOW.replace(hour=23)) == (start, end)  # the same all day


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        feed_window(NOW.replace(tzinfo=None))
