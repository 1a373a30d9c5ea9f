"""Alertmanager's time intervals: parsing each field and ContainsTime semantics.

Many cases come from Alertmanager's own timeinterval_test.go tables.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from alertrouter.core.timeintervals import (
    LOCAL,
    InclusiveRange,
    TimeInterval,
    TimeRange,
    any_contains,
    parse_day_of_month_range,
    parse_location,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)

NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


def at(text: str) -> dt.datetime:
    """An aware instant from ISO text; a bare time is taken as UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def r(begin: int, end: int | None = None) -> InclusiveRange:
    return InclusiveRange(begin, begin if end is None else end)


def hours(start: str, end: str) -> TimeRange:
    return parse_time_range(start, end)


# ------------------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("00:00", "24:00", TimeRange(0, 1440)),
        ("01:35", "17:39", TimeRange(95, 1059)),
        ("09:35", "09:39", TimeRange(575, 579)),
        ("23:59", "24:00", TimeRange(1439, 1440)),
        ("00:00", "00:01", TimeRange(0, 1)),
    ],
)
def test_parse_time_range_valid(start, end, expected):
    assert parse_time_range(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("17:31", "17:31", "start time cannot be equal or greater than end time"),
        ("09:30", "07:41", "start time cannot be equal or greater than end time"),
        ("24:00", "17:41", "start time cannot be equal or greater than end time"),
        ("24:00", "24:00", "start time cannot be equal or greater than end time"),
        ("12:30", "24:01", "couldn't parse timestamp 24:01, invalid format"),
        ("01:99", "23:59", "couldn't parse timestamp 01:99, invalid format"),
        ("00:00", "99:99", "couldn't parse timestamp 99:99, invalid format"),
        ("9:00", "17:00", "couldn't parse timestamp 9:00, invalid format"),  # two-digit hours
        ("09:00:00", "17:00", "couldn't parse timestamp 09:00:00, invalid format"),
        ("09:00\n", "17:00", "invalid format"),  # Go's `$` does not match before a newline
        (" 09:00", "17:00", "invalid format"),
        ("０９:００", "17:00", "invalid format"),  # fullwidth digits
        ("14:03", "", "both start and end times must be provided"),
        (None, "10:00", "both start and end times must be provided"),
        (1020, "18:00", "an unquoted 17:00 is read by YAML 1.1 as the base-60 number 1020"),
    ],
)
def test_parse_time_range_invalid(start, end, error):
    with pytest.raises(ValueError) as info:
        parse_time_range(start, end)
    assert error in str(info.value)


# ---------------------------------------------------------------------------------- weekdays


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monday", r(1)),
        ("sunday", r(0)),
        ("saturday", r(6)),
        ("Monday:Friday", r(1, 5)),
        ("SUNDAY:saturday", r(0, 6)),
        ("wednesday:wednesday", r(3)),
    ],
)
def test_parse_weekday_range_valid(text, expected):
    assert parse_weekday_range(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("friday:monday", "start day cannot be before end day"),
        ("saturday:sunday", "start day cannot be before end day"),  # no wrap-around
        ("blurgsday:flurgsday", "blurgsday is not a valid weekday"),
        ("monday:Flurgsday", "flurgsday is not a valid weekday"),
        ("1:3", "1 is not a valid weekday"),  # numeric weekdays are not allowed
        ("-2:-1", "-2 is not a valid weekday"),
        (3, "3 is not a valid weekday"),
        ("mon", "mon is not a valid weekday"),
        ("monday: friday", " friday is not a valid weekday"),  # no trimming
        ("monday:tuesday:friday", "couldn't parse range monday:tuesday:friday, invalid format"),
        (True, "true is not a valid weekday"),
        (None, "expected a string or an integer, got None"),
        (1.5, "expected a string or an integer, got 1.5"),
    ],
)
def test_parse_weekday_range_invalid(text, error):
    with pytest.raises(ValueError) as info:
        parse_weekday_range(text)
    assert error in str(info.value)


# ----------------------------------------------------------------------------- days of month


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", r(1)),
        ("-1", r(-1)),
        ("1:15", r(1, 15)),
        ("-7:-1", r(-7, -1)),
        ("1:-1", r(1, -1)),  # positive start, negative end is allowed
        ("27:-1", r(27, -1)),
        ("-31:-29", r(-31, -29)),
        ("+5", r(5)),  # Go's Atoi takes a sign
        ("05:010", r(5, 10)),  # and leading zeros, in base 10
        (-1, r(-1)),
        (31, r(31)),
    ],
)
def test_parse_day_of_month_range_valid(text, expected):
    assert parse_day_of_month_range(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("0", "0 is not a valid day of the month: out of range"),
        (0, "0 is not a valid day of the month: out of range"),
        ("-50:-20", "-50 is not a valid day of the month: out of range"),
        ("1:50", "50 is not a valid day of the month: out of range"),
        ("32", "32 is not a valid day of the month: out of range"),
        ("-15:5", "end day must be negative if start day is negative"),
        ("-31:31", "end day must be negative if start day is negative"),
        ("10:-25", "end day -25 is always before start day 10"),
        ("28:-1", "end day -1 is always before start day 28"),  # Alertmanager maps -1 to 27
        ("-1:-3", "end day -3 is always before start day -1"),
        ("5:1", "end day 1 is always before start day 5"),
        ("first", 'invalid day of the month "first": not a decimal integer'),
        ("1_0", 'invalid day of the month "1_0"'),
        (" 1", 'invalid day of the month " 1"'),
        ("٣", 'invalid day of the month "٣"'),  # Arabic-Indic digit: Python int() takes it
        ("99999999999999999999", "value out of range"),
        ("1:2:3", "couldn't parse range 1:2:3, invalid format"),
    ],
)
def test_parse_day_of_month_range_invalid(text, error):
    with pytest.raises(ValueError) as info:
        parse_day_of_month_range(text)
    assert error in str(info.value)


# ------------------------------------------------------------------------------------ months


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("january", r(1)),
        ("January:december", r(1, 12)),
        ("1:3", r(1, 3)),
        ("march:6", r(3, 6)),
        (12, r(12)),
        ("13", r(13)),  # Alertmanager does not range-check months
        ("0:12", r(0, 12)),
    ],
)
def test_parse_month_range_valid(text, expected):
    assert parse_month_range(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("martius:june", "martius is not a valid month"),
        ("march:junius", "junius is not a valid month"),
        ("jan", "jan is not a valid month"),  # full names only
        ("december:january", "end month january is before start month december"),
        ("12:1", "end month january is before start month december"),
        ("14:13", "end month 13 is before start month 14"),
        ("1:2:3", "couldn't parse range 1:2:3, invalid format"),
    ],
)
def test_parse_month_range_invalid(text, error):
    with pytest.raises(ValueError) as info:
        parse_month_range(text)
    assert error in str(info.value)


# ------------------------------------------------------------------------------------- years


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020", r(2020)),
        ("2020:2025", r(2020, 2025)),
        (2026, r(2026)),
        ("-5", r(-5)),  # Alertmanager does not range-check years
    ],
)
def test_parse_year_range_valid(text, expected):
    assert parse_year_range(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("2022:2020", "end year 2020 is before start year 2022"),
        ("twenty", 'invalid year "twenty": not a decimal integer'),
        ("2020-2022", 'invalid year "2020-2022"'),
        ("2020:", 'invalid year ""'),
    ],
)
def test_parse_year_range_invalid(text, error):
    with pytest.raises(ValueError) as info:
        parse_year_range(text)
    assert error in str(info.value)


# ---------------------------------------------------------------------------------- location


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("America/New_York", NEW_YORK),
        ("Etc/GMT+5", ZoneInfo("Etc/GMT+5")),
        ("UTC", dt.UTC),
        ("", dt.UTC),  # Go's LoadLocation("") is UTC
        ("Local", LOCAL),
    ],
)
def test_parse_location_valid(name, expected):
    assert parse_location(name) is expected


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Mars/Olympus_Mons", "unknown time zone Mars/Olympus_Mons"),
        ("america/new_york", "unknown time zone america/new_york"),  # case-sensitive
        ("local", "unknown time zone local"),
        ("America", "unknown time zone America"),
        ("../etc/passwd", "invalid location name"),
        ("/etc/localtime", "invalid location name"),
    ],
)
def test_parse_location_invalid(name, error):
    with pytest.raises(ValueError) as info:
        parse_location(name)
    assert error in str(info.value)


# ---------------------------------------------------------------------------------- contains

BUSINESS_HOURS = TimeInterval(times=(TimeRange(540, 1020),), weekdays=(r(1, 5),))
EASTER_2020 = TimeInterval(days_of_month=(r(4, 6),), months=(r(4),), years=(r(2020),))
LAST_3_DAYS = TimeInterval(days_of_month=(r(-3, -1),))
LAST_DAY = TimeInterval(days_of_month=(r(-1),))
JUNE_CLAMPED = TimeInterval(months=(r(6),), days_of_month=(r(-31, 31),))
LATE_FEBRUARY = TimeInterval(days_of_month=(r(30, 31),), months=(r(2),))
WHOLE_MONTH = TimeInterval(days_of_month=(r(1, 31),))
FIRST_3_OF_31 = TimeInterval(days_of_month=(r(-31, -29),))
LAST_HOUR = TimeInterval(times=(TimeRange(1380, 1440),))
NIGHTS = TimeInterval(times=(TimeRange(0, 480), TimeRange(1080, 1440)))
SPRING_2020_2021 = TimeInterval(months=(r(3, 5),), years=(r(2020, 2021),))
UNCHECKED_MONTH = TimeInterval(months=(r(13),))
SUNDAY = TimeInterval(weekdays=(r(0),))
SYDNEY_BUSINESS = TimeInterval(times=(TimeRange(540, 1020),), weekdays=(r(1, 5),), location=SYDNEY)
SYDNEY_NOVEMBER = TimeInterval(
    times=(TimeRange(540, 1020),), weekdays=(r(1, 5),), months=(r(11),), location=SYDNEY
)
NY_MONDAY_8 = TimeInterval(times=(TimeRange(480, 540),), weekdays=(r(1),), location=NEW_YORK)
NY_1AM = TimeInterval(times=(TimeRange(60, 120),), location=NEW_YORK)
NY_2AM = TimeInterval(times=(TimeRange(120, 180),), location=NEW_YORK)
NY_LAST_DAY = TimeInterval(days_of_month=(r(-1),), location=NEW_YORK)
NY_NEW_YEARS_EVE = TimeInterval(
    days_of_month=(r(-1),), months=(r(12),), years=(r(2023),), location=NEW_YORK
)
UTC_NEW_YEARS_EVE = TimeInterval(days_of_month=(r(-1),), months=(r(12),), years=(r(2023),))


@pytest.mark.parametrize(
    ("interval", "instant", "expected"),
    [
        # An empty interval contains every instant.
        (TimeInterval(), "2006-01-02T15:04", True),
        (TimeInterval(), "2007-01-03T10:04", True),
        # 9am to 5pm, Monday to Friday, UTC.
        (BUSINESS_HOURS, "2020-05-04T15:04", True),
        (BUSINESS_HOURS, "2020-05-05T10:04", True),
        (BUSINESS_HOURS, "2020-06-09T09:04", True),
        (BUSINESS_HOURS, "2020-05-03T15:04", False),  # Sunday
        (BUSINESS_HOURS, "2020-05-04T08:59", False),
        (BUSINESS_HOURS, "2020-05-05T05:00", False),
        (BUSINESS_HOURS, "2020-05-04T09:00:00", True),  # start inclusive
        (BUSINESS_HOURS, "2020-05-04T16:59:59.999999", True),  # seconds are ignored
        (BUSINESS_HOURS, "2020-05-04T17:00:00", False),  # end exclusive
        # 24:00 as the end: up to the last minute of the day, not midnight after it.
        (LAST_HOUR, "2020-05-04T23:59:59", True),
        (LAST_HOUR, "2020-05-05T00:00", False),
        (LAST_HOUR, "2020-05-04T22:59", False),
        # Any of several ranges in a field.
        (NIGHTS, "2020-05-04T07:59", True),
        (NIGHTS, "2020-05-04T08:00", False),
        (NIGHTS, "2020-05-04T12:00", False),
        (NIGHTS, "2020-05-04T18:00", True),
        # Easter 2020.
        (EASTER_2020, "2020-04-04T15:04", True),
        (EASTER_2020, "2020-04-05T00:00", True),
        (EASTER_2020, "2020-04-06T23:05", True),
        (EASTER_2020, "2018-05-03T15:04", False),
        (EASTER_2020, "2020-04-03T23:59", False),
        (EASTER_2020, "2020-06-04T23:59", False),
        (EASTER_2020, "2019-04-06T23:59", False),
        (EASTER_2020, "2020-04-07T00:00", False),
        # Last three days of each month, leap and non-leap February.
        (LAST_3_DAYS, "2020-01-31T15:04", True),
        (LAST_3_DAYS, "2020-01-29T15:04", True),
        (LAST_3_DAYS, "2020-01-28T15:04", False),
        (LAST_3_DAYS, "2020-06-30T00:00", True),
        (LAST_3_DAYS, "2020-02-29T23:05", True),
        (LAST_3_DAYS, "2020-02-27T12:00", True),
        (LAST_3_DAYS, "2020-02-26T12:00", False),
        (LAST_3_DAYS, "2021-02-26T12:00", True),
        (LAST_3_DAYS, "2021-02-25T12:00", False),
        (LAST_3_DAYS, "2020-03-01T00:00", False),
        (LAST_DAY, "2024-02-29T12:00", True),
        (LAST_DAY, "2024-02-28T12:00", False),
        (LAST_DAY, "2023-02-28T12:00", True),
        (LAST_DAY, "2023-04-30T12:00", True),
        # Out-of-month days are clamped to the month...
        (JUNE_CLAMPED, "2020-06-30T00:00", True),
        (JUNE_CLAMPED, "2020-06-01T00:00", True),
        (JUNE_CLAMPED, "2020-05-31T00:00", False),
        (JUNE_CLAMPED, "2020-07-01T00:00", False),
        (WHOLE_MONTH, "2021-02-28T13:00", True),
        # ...but a range starting after the month's end is skipped, not clamped.
        (LATE_FEBRUARY, "2021-02-28T13:00", False),
        (LATE_FEBRUARY, "2020-02-29T13:00", False),
        # -31:-29 is days 1-3 of a 31-day month and nothing in February.
        (FIRST_3_OF_31, "2021-01-03T12:00", True),
        (FIRST_3_OF_31, "2021-01-04T12:00", False),
        (FIRST_3_OF_31, "2021-02-01T12:00", False),
        (FIRST_3_OF_31, "2021-04-01T12:00", True),  # 30 days: -31 -> 0, -29 -> 2
        (FIRST_3_OF_31, "2021-04-03T12:00", False),
        # Months and years ranges across boundaries.
        (SPRING_2020_2021, "2021-05-31T23:59", True),
        (SPRING_2020_2021, "2021-06-01T00:00", False),
        (SPRING_2020_2021, "2020-03-01T00:00", True),
        (SPRING_2020_2021, "2020-02-29T23:59", False),
        (SPRING_2020_2021, "2022-03-01T00:00", False),
        (UNCHECKED_MONTH, "2021-12-31T12:00", False),
        # Sunday is weekday 0.
        (SUNDAY, "2024-06-02T12:00", True),
        (SUNDAY, "2024-06-01T12:00", False),
        # Instants with an offset are compared in UTC when there is no location.
        (UTC_NEW_YEARS_EVE, "2024-01-01T00:30+01:00", True),
        (UTC_NEW_YEARS_EVE, "2023-12-31T23:30-01:00", False),
        (UTC_NEW_YEARS_EVE, "2024-01-01T03:00", False),
        (NY_NEW_YEARS_EVE, "2024-01-01T03:00", True),  # 22:00 on Dec 31 in New York
        # Sydney, 9am to 5pm Monday to Friday.
        (SYDNEY_BUSINESS, "2021-04-06T13:00+10:00", True),
        (SYDNEY_BUSINESS, "2021-04-06T13:00+00:00", False),
        # Sydney during daylight saving time (AEDT, +11).
        (SYDNEY_NOVEMBER, "2021-11-01T09:00+11:00", True),
        (SYDNEY_NOVEMBER, "2021-10-31T22:00", True),
        (SYDNEY_NOVEMBER, "2021-10-31T21:00", False),
        # New York: Monday 08:30 is 12:30 UTC in EDT (from 2024-03-10), 13:30 UTC in EST.
        (NY_MONDAY_8, "2024-03-11T12:30", True),
        (NY_MONDAY_8, "2024-03-04T12:30", False),
        (NY_MONDAY_8, "2024-03-04T13:30", True),
        (NY_MONDAY_8, "2024-03-11T13:30", False),
        (NY_MONDAY_8, "2024-03-11T08:30-04:00", True),
        # Fall back, 2024-11-03: 01:00-02:00 happens twice and both are contained.
        (NY_1AM, "2024-11-03T05:30", True),
        (NY_1AM, "2024-11-03T06:30", True),
        (NY_1AM, "2024-11-03T07:00", False),
        # Spring forward, 2024-03-10: 02:00-03:00 never happens.
        (NY_2AM, "2024-03-10T06:59", False),
        (NY_2AM, "2024-03-10T07:00", False),
        (NY_2AM, "2024-03-11T06:30", True),
        # Month length is calendar days even in a spring-forward month (alertmanager#5447).
        (NY_LAST_DAY, "2021-03-31T12:00-04:00", True),
        (NY_LAST_DAY, "2021-03-30T12:00-04:00", False),
        (NY_LAST_DAY, "2021-11-30T12:00-05:00", True),
        (NY_LAST_DAY, "2021-04-01T03:59", True),  # still March 31 in New York
    ],
)
def test_contains(interval, instant, expected):
    assert interval.contains(at(instant)) is expected


def test_contains_rejects_naive_instant():
    with pytest.raises(ValueError, match="timezone-aware"):
        BUSINESS_HOURS.contains(dt.datetime(2024, 3, 11, 9, 0))


# ------------------------------------------------------------------ parsed intervals, combined


def quarter_end() -> TimeInterval:
    """Alertmanager's test: last week of Q1, excluding Saturday, business hours, some years."""
    return TimeInterval(
        weekdays=(parse_weekday_range("monday:friday"), parse_weekday_range("sunday")),
        months=(parse_month_range("january:march"),),
        days_of_month=(parse_day_of_month_range("-7:-1"),),
        years=(parse_year_range("2020:2025"), parse_year_range("2030:2035")),
        times=(hours("09:00", "17:00"),),
    )


def afternoons() -> TimeInterval:
    """Alertmanager's complete test: several ranges in every field."""
    return TimeInterval(
        weekdays=tuple(map(parse_weekday_range, ["monday:wednesday", "saturday", "sunday"])),
        times=(hours("13:00", "15:00"),),
        days_of_month=tuple(map(parse_day_of_month_range, ["1", "10", "20:-1"])),
        years=(parse_year_range("2020:2023"),),
        months=(parse_month_range("january:march"),),
    )


@pytest.mark.parametrize(
    ("build", "instant", "expected"),
    [
        (quarter_end, "2021-01-27T09:00", True),
        (quarter_end, "2021-01-28T16:59", True),
        (quarter_end, "2021-01-29T13:00", True),
        (quarter_end, "2025-03-31T13:00", True),
        (quarter_end, "2035-01-31T13:00", True),
        (quarter_end, "2021-01-30T13:00", False),  # Saturday
        (quarter_end, "2021-04-01T13:00", False),  # April
        (quarter_end, "2026-01-30T13:00", False),  # 2026
        (quarter_end, "2035-01-31T17:01", False),  # after 5pm
        (quarter_end, "2021-01-24T13:00", False),  # Sunday, but not in the last 7 days
        (afternoons, "2021-01-10T13:00", True),
        (afternoons, "2021-01-30T14:24", True),
        (afternoons, "2021-01-09T13:00", False),
        (afternoons, "2021-01-20T12:59", False),
        (afternoons, "2021-02-02T13:00", False),
    ],
)
def test_parsed_combinations(build: Callable[[], TimeInterval], instant, expected):
    assert build().contains(at(instant)) is expected


def test_any_contains():
    weekends = TimeInterval(weekdays=(parse_weekday_range("saturday"), r(0)))
    nights = TimeInterval(times=(hours("00:00", "08:00"), hours("18:00", "24:00")))
    off_hours = [weekends, nights]
    assert any_contains(off_hours, at("2024-06-01T12:00"))  # Saturday noon
    assert any_contains(off_hours, at("2024-06-03T07:59"))  # Monday early
    assert not any_contains(off_hours, at("2024-06-03T08:00"))
    assert not any_contains([], at("2024-06-01T12:00"))
    assert any_contains(iter(off_hours), at("2024-06-03T23:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        any_contains([], dt.datetime(2024, 6, 1, 12, 0))


@pytest.fixture
def host_zone_new_york():
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.usefixtures("host_zone_new_york")
@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2024-03-11T12:30", True),  # Monday 08:30 EDT
        ("2024-03-04T13:30", True),  # Monday 08:30 EST
        ("2024-03-04T12:30", False),  # Monday 07:30 EST
    ],
)
def test_local_location_uses_host_zone(instant, expected):
    interval = TimeInterval(
        times=(hours("08:00", "09:00"),),
        weekdays=(parse_weekday_range("monday"),),
        location=parse_location("Local"),
    )
    assert interval.contains(at(instant)) is expected


@pytest.mark.usefixtures("host_zone_new_york")
def test_local_zone_matches_zoneinfo_across_fall_back():
    start = at("2024-11-03T04:00")
    for step in range(8):
        instant = start + dt.timedelta(minutes=30 * step)
        local, reference = instant.astimezone(LOCAL), instant.astimezone(NEW_YORK)
        assert local.replace(tzinfo=None) == reference.replace(tzinfo=None)
        assert (local.fold, local.utcoffset()) == (reference.fold, reference.utcoffset())
