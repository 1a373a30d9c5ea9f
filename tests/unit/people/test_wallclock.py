"""The integer fast paths of wallclock against the datetime ones: offset spans and localize."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from alertrouter.people.wallclock import (
    DAY_MICROS,
    from_micros,
    localize,
    localize_micros,
    offset_spans,
    reading_micros,
    to_micros,
)

ZONES = [
    ZoneInfo(name)
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/St_Johns")
]
# Around the DST changes of 2026 in those zones (both directions).
DAYS = [dt.datetime(2026, 3, 8), dt.datetime(2026, 3, 29), dt.datetime(2026, 4, 5)]
DAYS += [dt.datetime(2026, 10, 4), dt.datetime(2026, 10, 25), dt.datetime(2026, 11, 1)]
readings = st.builds(
    lambda day, minutes, micros: day + dt.timedelta(minutes=minutes, microseconds=micros),
    st.sampled_from(DAYS),
    st.integers(-36 * 60, 36 * 60),
    st.sampled_from([0, 0, 1, 999_999]),
)


@settings(max_examples=400, deadline=None)
@given(readings, st.sampled_from(ZONES))
def test_localize_micros_is_localize(reading, zone):
    around = reading_micros(reading) // DAY_MICROS * DAY_MICROS
    spans = offset_spans(zone, around - 3 * DAY_MICROS, around + 3 * DAY_MICROS)
    assert localize_micros(reading_micros(reading), spans) == to_micros(localize(reading, zone))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(DAYS), st.sampled_from(ZONES), st.integers(1, 5 * DAY_MICROS))
def test_offset_spans_cut_where_the_offset_changes(day, zone, length):
    start = to_micros(day.replace(tzinfo=dt.UTC)) - 2 * DAY_MICROS
    spans = offset_spans(zone, start, start + length)
    assert spans[0][0] == start and spans[-1][1] == start + length
    for (_, until, offset), (since, _, later) in itertools.pairwise(spans):
        assert until == since and offset != later
    for since, until, offset in spans:
        for instant in (since, until - 1):
            assert from_micros(instant).astimezone(zone).utcoffset() == dt.timedelta(
                microseconds=offset
            )


def test_a_reading_outside_the_spans_is_none():
    zone = ZONES[0]
    start = to_micros(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    spans = offset_spans(zone, start, start + DAY_MICROS)
    assert localize_micros(reading_micros(dt.datetime(2026, 2, 27)), spans) is None
    assert localize_micros(reading_micros(dt.datetime(2026, 3, 4)), spans) is None


class _ChangesMidSecond(dt.tzinfo):
    """+01:00 until 2026-03-01 12:00:00.250001 UTC, +02:00 from then on."""

    CHANGE = dt.datetime(2026, 3, 1, 12, 0, 0, 250_001)

    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta:
        later = when is not None and when.replace(tzinfo=None) >= self.CHANGE + dt.timedelta(
            hours=2
        )
        return dt.timedelta(hours=2 if later else 1)

    def dst(self, when: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def fromutc(self, when: dt.datetime) -> dt.datetime:
        hours = 2 if when.replace(tzinfo=None) >= self.CHANGE else 1
        return when + dt.timedelta(hours=hours)


def test_a_change_off_the_whole_second_is_found_to_the_microsecond():
    change = to_micros(_ChangesMidSecond.CHANGE.replace(tzinfo=dt.UTC))
    start = change // DAY_MICROS * DAY_MICROS
    spans = offset_spans(_ChangesMidSecond(), start, start + DAY_MICROS)
    hour = 3_600_000_000
    assert spans == ((start, change, hour), (change, start + DAY_MICROS, 2 * hour))
