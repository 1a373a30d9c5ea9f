"""`shifts` (integer segments, memoized per day) against the straightforward algorithm it
replaced, on random schedules and windows across DST changes.

The reference is that former algorithm, kept here: it gathers every instant where the answer may
change (shift boundaries, the candidates of an activity change, override and version edges),
asks `who` at each and merges equal neighbours. Its activity edges test `is_active` at each
local midnight and time-range edge of the interval's location, and where its offset changes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertrouter.core.timeintervals import InclusiveRange, TimeInterval, TimeRange
from alertrouter.people.activity import active_spans, is_active
from alertrouter.people.oncall import (
    Override,
    Schedule,
    Shift,
    Version,
    _by_start,
    _version_spans,
    shifts,
    version_at,
    who,
)
from alertrouter.people.rotation import Layer
from alertrouter.people.timeline import clear_caches
from alertrouter.people.wallclock import localize, offset_changes, to_micros, wall

ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/Berlin",
        "America/New_York",
        "Asia/Tokyo",
        "Australia/Lord_Howe",  # DST of 30 minutes
        "America/St_Johns",  # -03:30 / -02:30, changing at 02:00 local
        "Asia/Kathmandu",  # +05:45
        "Pacific/Chatham",  # +12:45 / +13:45
    )
] + [dt.UTC]
# Days with DST changes in the zones above, so windows near them cross one.
DST_DAYS = [
    dt.datetime(2026, 3, 8),
    dt.datetime(2026, 3, 29),
    dt.datetime(2026, 4, 5),
    dt.datetime(2026, 9, 27),
    dt.datetime(2026, 10, 4),
    dt.datetime(2026, 10, 25),
    dt.datetime(2026, 11, 1),
]
USERS = ("ann", "bob", "cid", "dan", "eve")
NIGHTS = TimeInterval(times=(TimeRange(0, 6 * 60),), location=ZoneInfo("America/New_York"))


# ------------------------------------------------------------------------- the former algorithm


def reference_shifts(
    versions: Sequence[Version], start: dt.datetime, end: dt.datetime, overrides: list[Override]
) -> list[Shift]:
    relevant = sorted((o for o in overrides if o.start < end and o.end > start), key=_by_start)
    points = {start}
    for version, since, until in _version_spans(versions, start, end):
        points.add(since)
        for layer in version.schedule.layers:
            points.update(layer.boundaries(since, until, version.schedule.zone))
            points.update(reference_edges(layer.active, since, until))
    points.update(t for o in relevant for t in (o.start, o.end) if start < t < end)
    edges = sorted(points)
    timeline: list[Shift] = []
    for since, until in zip(edges, [*edges[1:], end], strict=True):
        answer = who(versions, since, relevant)
        if not answer.users:
            continue
        if timeline and timeline[-1].end == since:
            last = timeline[-1]
            if (last.users, last.layer) == (answer.users, answer.layer):
                timeline[-1] = Shift(last.start, until, last.users, last.layer)
                continue
        timeline.append(Shift(since, until, answer.users, answer.layer or ""))
    return timeline


def reference_edges(
    intervals: Sequence[TimeInterval], start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    if not intervals or start >= end:
        return []
    candidates: set[dt.datetime] = set()
    for interval in intervals:
        candidates.update(_candidates(interval, start, end))
    flips = []
    active = is_active(intervals, start)
    for instant in sorted(c for c in candidates if start < c < end):
        if is_active(intervals, instant) != active:
            flips.append(instant)
            active = not active
    return flips


def _candidates(interval: TimeInterval, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    zone = interval.location or dt.UTC
    minutes = sorted(
        {0} | {r.start_minute for r in interval.times} | {r.end_minute for r in interval.times}
    )
    found: list[dt.datetime] = []
    midnights: list[dt.datetime] = []
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    while day <= end.astimezone(zone).date() + dt.timedelta(days=1):
        midnight = dt.datetime.combine(day, dt.time())
        midnights.append(localize(midnight, zone))
        for minute in minutes:
            reading = midnight + dt.timedelta(minutes=minute)
            for fold in (0, 1):
                instant = reading.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC)
                if wall(instant, zone) == reading:
                    found.append(instant)
        day += dt.timedelta(days=1)
    found.extend(offset_changes(midnights, zone))
    return found


# ------------------------------------------------------------------------------- random inputs


def instants_near(day: dt.datetime, hours: int) -> st.SearchStrategy[dt.datetime]:
    return st.builds(
        lambda seconds, micros: (day + dt.timedelta(seconds=seconds, microseconds=micros)).replace(
            tzinfo=dt.UTC
        ),
        st.integers(-hours * 3600, hours * 3600),
        st.sampled_from([0, 0, 0, 1, 999_999]),
    )


minutes_of_day = st.integers(0, 24 * 60)
time_ranges = st.tuples(minutes_of_day, minutes_of_day).filter(lambda r: r[0] < r[1])
intervals = st.builds(
    TimeInterval,
    times=st.lists(time_ranges.map(lambda r: TimeRange(*r)), max_size=2).map(tuple),
    weekdays=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6))
        .filter(lambda r: r[0] <= r[1])
        .map(lambda r: InclusiveRange(*r)),
        max_size=1,
    ).map(tuple),
    days_of_month=st.sampled_from(
        [(), (), (InclusiveRange(-1, -1),), (InclusiveRange(1, 15),), (InclusiveRange(-7, -1),)]
    ),
    months=st.sampled_from([(), (), (InclusiveRange(3, 3),), (InclusiveRange(10, 11),)]),
    years=st.sampled_from([(), (), (InclusiveRange(2026, 2026),)]),
    location=st.sampled_from([None, *ZONES]),
)
layers = st.builds(
    Layer,
    name=st.sampled_from(["primary", "secondary", "cover"]),
    rotation=st.sampled_from(["hourly", "daily", "weekly"]),
    shift_length=st.integers(1, 3),
    handoff=st.datetimes(dt.datetime(2025, 10, 1), dt.datetime(2026, 12, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    users=st.lists(st.sampled_from(USERS), min_size=1, max_size=4).map(tuple),
    active=st.lists(intervals, max_size=2).map(tuple),
)
schedules = st.builds(
    Schedule,
    name=st.just("s"),
    zone=st.sampled_from(ZONES),
    layers=st.lists(layers, max_size=3).map(tuple),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[tuple[Version, ...], dt.datetime, dt.datetime, list[Override]]:
    day = draw(st.sampled_from(DST_DAYS))
    start = draw(instants_near(day, 72))
    end = start + dt.timedelta(
        seconds=draw(st.integers(1, 8 * 86_400)), microseconds=draw(st.sampled_from([0, 7]))
    )
    near = instants_near(day, 9 * 24)
    effective = st.one_of(st.none(), near)
    versions = tuple(
        Version(draw(effective), draw(schedules)) for _ in range(draw(st.integers(1, 3)))
    )
    overrides = []
    for number in range(draw(st.integers(0, 6))):
        since = draw(near)
        overrides.append(
            Override(
                id=draw(st.sampled_from([number, number, 1])),  # ties of creation and id
                kind=draw(st.sampled_from(["replace", "add"])),
                users=tuple(draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=3))),
                start=since,
                end=since + dt.timedelta(seconds=draw(st.integers(1, 3 * 86_400))),
                created_at=draw(st.sampled_from([day, day + dt.timedelta(hours=1)])).replace(
                    tzinfo=dt.UTC
                ),
            )
        )
    return versions, start, end, overrides


# ----------------------------------------------------------------------------------------- tests


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.booleans())
def test_shifts_equal_the_former_algorithm(case, memoized_first):
    versions, start, end, overrides = case
    clear_caches()
    if memoized_first:  # the days of a larger window memoized first, then this one read back
        shifts(versions, start - dt.timedelta(hours=30), end + dt.timedelta(hours=30))
    assert shifts(versions, start, end, overrides) == reference_shifts(
        versions, start, end, overrides
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(intervals, min_size=1, max_size=3).map(tuple), st.sampled_from(DST_DAYS))
def test_active_spans_agree_with_is_active_at_every_change(active, day):
    start = day.replace(tzinfo=dt.UTC) - dt.timedelta(days=2)
    end = start + dt.timedelta(days=4)
    spans = active_spans(active, to_micros(start), to_micros(end))
    flips = [start, *reference_edges(active, start, end), end]
    expected = [
        (to_micros(since), to_micros(until))
        for since, until in itertools.pairwise(flips)
        if is_active(active, since)
    ]
    assert spans == expected


@pytest.mark.parametrize("users", [("ann",), ("ann", "bob")])
def test_windows_longer_than_the_memos_agree_with_the_former_algorithm(users):
    daily = Layer("primary", "daily", 1, dt.datetime(2026, 3, 1, 9), users)
    nights = Layer("nights", "weekly", 1, dt.datetime(2026, 3, 1, 9), ("cid",), (NIGHTS,))
    versions = (Version(None, Schedule("s", ZONES[0], (daily, nights))),)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    clear_caches()
    expected = reference_shifts(versions, start, end, [])
    assert shifts(versions, start, end) == expected
    assert shifts(versions, start, end) == expected  # memoized
    later = start + dt.timedelta(days=100)
    assert shifts(versions, later, end) == reference_shifts(versions, later, end, [])


def test_version_at_the_window_start_decides_there():
    layer = Layer("primary", "weekly", 1, dt.datetime(2026, 3, 2, 9), ("ann",))
    later = Layer("later", "weekly", 1, dt.datetime(2026, 3, 2, 9), ("bob",))
    at = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    versions = (
        Version(None, Schedule("s", ZONES[0], (layer,))),
        Version(at, Schedule("s", ZONES[0], (later,))),
    )
    found = shifts(versions, at, at + dt.timedelta(hours=1))
    assert [(s.users, s.layer) for s in found] == [(("bob",), "later")]
    assert version_at(versions, at).schedule.layers == (later,)
