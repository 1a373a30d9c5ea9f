"""people.held: the milliseconds each person is on call in a window, summed from memoized days,
equal the sum over the window's shifts, whatever was memoized before."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertrouter.people.held import Ledger, clear_cache, held_ms
from alertrouter.people.oncall import Override, Schedule, Version, shifts, versions_of
from alertrouter.people.rotation import Layer
from tests.unit.people.test_shifts_equivalence import (
    DST_DAYS,
    USERS,
    instants_near,
    schedules,
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)


def ms(instant: dt.datetime) -> int:
    return (instant - EPOCH) // MS


def summed(versions, start: int, end: int, overrides) -> dict[str, int]:
    totals: dict[str, int] = {}
    for shift in shifts(versions, EPOCH + start * MS, EPOCH + end * MS, overrides):
        for user in shift.users:
            totals[user] = totals.get(user, 0) + ms(shift.end) - ms(shift.start)
    return totals


@st.composite
def cases(draw: st.DrawFn):
    day = draw(st.sampled_from(DST_DAYS))
    start = ms(draw(instants_near(day, 72)))
    end = start + draw(st.integers(1, 24 * 86_400)) * 1000 + draw(st.integers(0, 999))
    near = instants_near(day, 20 * 24)
    versions = tuple(
        Version(draw(st.one_of(st.none(), near)), draw(schedules))
        for _ in range(draw(st.integers(1, 2)))
    )
    overrides = []
    for number in range(draw(st.integers(0, 6))):
        since = EPOCH + ms(draw(near)) * MS
        overrides.append(
            Override(
                id=number,
                kind=draw(st.sampled_from(["replace", "add"])),
                users=tuple(draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=3))),
                start=since,
                end=since + dt.timedelta(seconds=draw(st.integers(1, 4 * 86_400))),
                created_at=since,
            )
        )
    return versions, start, end, overrides


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.sampled_from(["cold", "wider first", "same twice"]))
def test_held_equals_the_sum_over_the_shifts(case, memo):
    versions, start, end, overrides = case
    clear_cache()
    if memo == "wider first":  # days memoized by a larger window, then read back
        held_ms(versions, start - 3 * 86_400_000, end + 2 * 86_400_000, overrides)
    elif memo == "same twice":
        held_ms(versions, start, end, overrides)
    totals = {user: held for user, held in held_ms(versions, start, end, overrides).items() if held}
    assert totals == {u: h for u, h in summed(versions, start, end, overrides).items() if h}


def test_an_override_made_later_is_counted_on_the_days_it_touches():
    layer = Layer("weekly", "weekly", 1, dt.datetime(2026, 1, 5, 9), ("ann", "bob"))
    versions = versions_of(Schedule("s", ZoneInfo("Europe/Berlin"), (layer,)))
    start, end = 20_000 * 86_400_000, 20_021 * 86_400_000  # three weeks of whole days
    clear_cache()
    before = held_ms(versions, start, end)
    cover = Override(1, "replace", ("zed",), EPOCH + (start + 86_400_000) * MS,
                     EPOCH + (start + 2 * 86_400_000) * MS, EPOCH)  # fmt: skip
    after = held_ms(versions, start, end, [cover])
    assert after.get("zed") == 86_400_000
    assert after == summed(versions, start, end, [cover])
    assert before == summed(versions, start, end, [])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(0, 3), st.integers(0, 3))
def test_a_ledger_answers_any_window_it_covers_as_the_shifts_do(case, days_before, days_after):
    """Running totals over the covered days, the window's two edge days clipped: the same as
    summing the window's shifts, for windows shorter than a day, across DST days and overrides."""
    versions, start, end, overrides = case
    clear_cache()
    first_day = start // 86_400_000 - days_before
    end_day = (end - 1) // 86_400_000 + 1 + days_after
    ledger = Ledger(versions, overrides, first_day, end_day)
    assert ledger.covers(start, end)
    assert not ledger.covers((first_day - 1) * 86_400_000, end)
    assert ledger.held(start, end) == {
        u: h for u, h in summed(versions, start, end, overrides).items() if h
    }
    whole = (first_day * 86_400_000, end_day * 86_400_000)
    assert ledger.held(*whole) == {
        u: h for u, h in summed(versions, *whole, overrides).items() if h
    }


def test_a_ledger_names_the_overrides_of_the_days_a_window_touches():
    layer = Layer("weekly", "weekly", 1, dt.datetime(2026, 1, 5, 9), ("ann", "bob"))
    versions = versions_of(Schedule("s", ZoneInfo("Europe/Berlin"), (layer,)))
    day = 20_000 * 86_400_000
    cover = Override(1, "replace", ("zed",), EPOCH + (day + 3_600_000) * MS,
                     EPOCH + (day + 7_200_000) * MS, EPOCH)  # fmt: skip
    ledger = Ledger(versions, [cover], 19_990, 20_010)
    assert ledger.overrides(day + 10 * 3_600_000, day + 11 * 3_600_000) == {cover}  # same day
    assert ledger.overrides(day + 86_400_000, day + 2 * 86_400_000) == set()
    assert ledger.held(day, day + 86_400_000)["zed"] == 3_600_000
