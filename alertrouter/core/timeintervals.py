"""Alertmanager's `time_intervals` (formerly `mute_time_intervals`): parsing and evaluation.

A re-implementation of Alertmanager's `timeinterval` package. Each `parse_*` function takes one
YAML item, accepts exactly what Alertmanager's `UnmarshalYAML` accepts and raises `ValueError`
with Alertmanager's message (without the config path) for what it rejects.
`TimeInterval.contains` is Alertmanager's `ContainsTime`, applied to `now.UTC()` as its
`Intervener` does.

Alertmanager behaviours kept on purpose, because a config must mean the same thing here and in
Alertmanager:

* Weekdays are names only (case-insensitive), numbered like Go's `time.Weekday`: sunday=0 ...
  saturday=6. A range never wraps, so `saturday:sunday` is rejected; write
  `['saturday', 'sunday']`. The error for an inverted range is Alertmanager's wording, "start day
  cannot be before end day" (it means the start day comes after the end day).
* `months` and `years` are not range-checked: `months: ['13']` or `years: ['-5']` are accepted
  (and never match); only an inverted range is an error. Months are full English names
  (case-insensitive) or integers.
* `days_of_month` must be in -31..-1 or 1..31. `-1` is the month's last day. A negative start
  needs a negative end (`-15:5` is rejected) but a positive start may end negative (`1:-1`).
  A range that is inverted in a 28-day month is rejected, using Alertmanager's arithmetic in
  which `-1` counts as day 27, so e.g. `28:-1` is rejected.
  At evaluation, a range whose start lies past the month's end is skipped (`30:31` never matches
  in February) and otherwise both ends are clamped to the month (`1:31` is all of February).
  The month's length is its calendar length in `location`; Alertmanager releases before
  prometheus/alertmanager#5447 computed it from elapsed hours and got 30 for a 31-day month with a
  spring-forward DST change.
* `times` use minute granularity on the wall clock of `location` (seconds are ignored), the end
  is exclusive, `24:00` is allowed as an end and a start must be strictly before its end.
* `location` is an IANA name, `Local` (the host's zone) or `UTC`/empty (UTC). Without a location
  the instant is evaluated in UTC.
* A field with no ranges is not checked. Every checked field must match, by any of its ranges.

Numbers are parsed like Go's `strconv.Atoi` (ASCII digits with an optional sign; no spaces,
underscores or other digits). An `int` item is treated as its decimal text, as YAML would hand
Alertmanager the raw scalar.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "LOCAL",
    "InclusiveRange",
    "TimeInterval",
    "TimeRange",
    "any_contains",
    "parse_day_of_month_range",
    "parse_location",
    "parse_month_range",
    "parse_time_range",
    "parse_weekday_range",
    "parse_year_range",
]

MINUTES_PER_DAY = 24 * 60

WEEKDAYS: dict[str, int] = {
    "sunday": 0,
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
}
MONTHS: dict[str, int] = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
_MONTH_NAMES = {number: name for name, number in MONTHS.items()}

# Alertmanager's validTime: two-digit hour 00-23 and minute 00-59, or exactly 24:00.
_TIME_RE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
# What Go's strconv.Atoi accepts in base 10.
_ATOI_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class InclusiveRange:
    """Both ends included. Weekdays: sunday=0 ... saturday=6; days of month may be negative."""

    begin: int
    end: int


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes since midnight, `[start_minute, end_minute)`; 09:00-17:00 is (540, 1020)."""

    start_minute: int
    end_minute: int


# ------------------------------------------------------------------------------------- parsing


def parse_time_range(start_time: str | None, end_time: str | None) -> TimeRange:
    """One `times` item: `start_time`/`end_time` as "HH:MM"; None or "" means missing."""
    if not start_time or not end_time:
        raise ValueError("both start and end times must be provided")
    start = _parse_time(start_time)
    end = _parse_time(end_time)
    if start >= end:
        raise ValueError("start time cannot be equal or greater than end time")
    return TimeRange(start, end)


def parse_weekday_range(text: str | int) -> InclusiveRange:
    """`monday`, `Monday:Friday`; sunday=0 ... saturday=6 like Go's time.Weekday."""
    begin, end = _split_range(text, _weekday_member)
    if begin > end:
        raise ValueError("start day cannot be before end day")
    return InclusiveRange(begin, end)


def parse_day_of_month_range(text: str | int) -> InclusiveRange:
    """`1`, `-1`, `1:15`, `-7:-1`, `1:-1`; days count from the month's end when negative."""
    begin, end = _split_range(text, _day_of_month_member)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 and end > 0:
        raise ValueError("end day must be negative if start day is negative")
    # Alertmanager's check against a 28-day month (which maps -1 to 27, not 28).
    check_begin = 28 + begin if begin < 0 else begin
    check_end = 28 + end if end < 0 else end
    if check_begin > check_end:
        raise ValueError(f"end day {end} is always before start day {begin}")
    return InclusiveRange(begin, end)


def parse_month_range(text: str | int) -> InclusiveRange:
    """`january`, `January:March`, `1:3`; numbers are not range-checked (as in Alertmanager)."""
    begin, end = _split_range(text, _month_member)
    if begin > end:
        raise ValueError(f"end month {_month_name(end)} is before start month {_month_name(begin)}")
    return InclusiveRange(begin, end)


def parse_year_range(text: str | int) -> InclusiveRange:
    """`2026`, `2020:2025`; any integers (as in Alertmanager)."""
    begin, end = _split_range(text, _year_member)
    if begin > end:
        raise ValueError(f"end year {end} is before start year {begin}")
    return InclusiveRange(begin, end)


def parse_location(name: str) -> dt.tzinfo:
    """Like Go's time.LoadLocation: "" or "UTC" is UTC, "Local" the host's zone, else IANA."""
    if not isinstance(name, str):
        raise ValueError(f"expected a time zone name such as 'Europe/Berlin', got {name!r}")
    if name in ("", "UTC"):
        return dt.UTC
    if name == "Local":
        return LOCAL
    if ".." in name or name.startswith(("/", "\\")):
        raise ValueError(f"invalid location name {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if name.isprintable() else repr(name)
        raise ValueError(f"unknown time zone {shown}") from None


def _parse_time(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        hint = ""
        if 0 <= value <= MINUTES_PER_DAY:
            hint = (
                f"; an unquoted {value // 60}:{value % 60:02d} is read by YAML 1.1"
                f" as the base-60 number {value}, quote the time"
            )
        raise ValueError(f'couldn\'t parse timestamp {value}, expected a "HH:MM" string{hint}')
    if not isinstance(value, str) or _TIME_RE.fullmatch(value) is None:
        raise ValueError(f"couldn't parse timestamp {value}, invalid format")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _split_range(text: object, member: Callable[[str], int]) -> tuple[int, int]:
    """Alertmanager's stringableRangeFromString: lower-cased, `a:b` or a single member."""
    if isinstance(text, bool):
        text = "true" if text else "false"  # how YAML spells it to Alertmanager
    elif isinstance(text, int):
        text = str(text)
    elif not isinstance(text, str):
        raise ValueError(f"expected a string or an integer, got {text!r}")
    text = text.lower()
    if ":" not in text:
        value = member(text)
        return value, value
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    return member(parts[0]), member(parts[1])


def _weekday_member(text: str) -> int:
    if text not in WEEKDAYS:
        raise ValueError(f"{text} is not a valid weekday")
    return WEEKDAYS[text]


def _month_member(text: str) -> int:
    if text in MONTHS:
        return MONTHS[text]
    try:
        return _atoi(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid month") from None


def _day_of_month_member(text: str) -> int:
    try:
        return _atoi(text)
    except ValueError as exc:
        raise ValueError(f'invalid day of the month "{text}": {exc}') from None


def _year_member(text: str) -> int:
    try:
        return _atoi(text)
    except ValueError as exc:
        raise ValueError(f'invalid year "{text}": {exc}') from None


def _atoi(text: str) -> int:
    if _ATOI_RE.fullmatch(text) is None:
        raise ValueError("not a decimal integer")
    value = int(text)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("value out of range")
    return value


def _month_name(number: int) -> str:
    return _MONTH_NAMES.get(number, str(number))


# ---------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """One item of a named time interval's `time_intervals` list."""

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[InclusiveRange, ...] = ()
    days_of_month: tuple[InclusiveRange, ...] = ()
    months: tuple[InclusiveRange, ...] = ()
    years: tuple[InclusiveRange, ...] = ()
    location: dt.tzinfo | None = None  # None = UTC, as Alertmanager

    def contains(self, instant: dt.datetime) -> bool:
        """Whether the instant, seen on the wall clock of `location`, is in this interval."""
        _require_aware(instant)
        local = instant.astimezone(self.location or dt.UTC)
        if self.times:
            minute = local.hour * 60 + local.minute
            if not any(r.start_minute <= minute < r.end_minute for r in self.times):
                return False
        return self.contains_date(local)

    def contains_date(self, day: dt.date) -> bool:
        """Whether a date on the wall clock of `location` matches every field but `times`."""
        if self.days_of_month:
            month_days = calendar.monthrange(day.year, day.month)[1]
            if not any(_day_matches(r, day.day, month_days) for r in self.days_of_month):
                return False
        if self.months and not _in_any(self.months, day.month):
            return False
        weekday = day.isoweekday() % 7  # sunday=0
        if self.weekdays and not _in_any(self.weekdays, weekday):
            return False
        return not self.years or _in_any(self.years, day.year)


def any_contains(intervals: Iterable[TimeInterval], instant: dt.datetime) -> bool:
    """Whether any of a named time interval's items contains the instant."""
    _require_aware(instant)
    return any(interval.contains(instant) for interval in intervals)


def _require_aware(instant: dt.datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {instant.isoformat()}")


def _in_any(ranges: tuple[InclusiveRange, ...], value: int) -> bool:
    return any(r.begin <= value <= r.end for r in ranges)


def _day_matches(day_range: InclusiveRange, day: int, month_days: int) -> bool:
    begin = day_range.begin if day_range.begin > 0 else month_days + day_range.begin + 1
    end = day_range.end if day_range.end > 0 else month_days + day_range.end + 1
    if begin > month_days:  # starts after this month ends: skipped, not clamped
        return False
    begin = min(max(begin, -month_days), month_days)
    end = min(max(end, -month_days), month_days)
    return begin <= day <= end


# ---------------------------------------------------------------------------------- Local zone


class _LocalZone(dt.tzinfo):
    """The host's zone as the C library sees it (TZ, /etc/localtime), like Go's time.Local.

    Conversions go through `datetime.astimezone()`, which uses localtime()/mktime(), so DST
    rules are the host's and changes of TZ take effect after `time.tzset()`.
    """

    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta | None:
        if when is None:
            return None
        return when.replace(tzinfo=None).astimezone().utcoffset()

    def dst(self, when: dt.datetime | None) -> dt.timedelta | None:
        if when is None:
            return None
        return when.replace(tzinfo=None).astimezone().dst()

    def tzname(self, when: dt.datetime | None) -> str | None:
        if when is None:
            return "Local"
        return when.replace(tzinfo=None).astimezone().tzname()

    def fromutc(self, when: dt.datetime) -> dt.datetime:
        if not isinstance(when, dt.datetime) or when.tzinfo is not self:
            raise ValueError("fromutc: argument must be a datetime with tzinfo=self")
        local = when.replace(tzinfo=dt.UTC).astimezone()
        wall = local.replace(tzinfo=None, fold=0)
        # The second of two equal wall times (clocks set back) is fold=1.
        fold = int(wall.astimezone().utcoffset() != local.utcoffset())
        return wall.replace(tzinfo=self, fold=fold)

    def __repr__(self) -> str:
        return "Local"

    def __reduce__(self) -> str:
        return "LOCAL"


LOCAL: dt.tzinfo = _LocalZone()
"""Go's time.Local: the zone `parse_location("Local")` returns."""
