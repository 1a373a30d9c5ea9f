"""The geometry of the schedules page's timeline: lanes, days in the schedule's zone (across a
DST change), one colour per person, overrides marked, spans clipped to the window."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from alertrouter.web.charts import NARROW
from alertrouter.web.schedule_chart import Lane, Span, timeline

BERLIN = ZoneInfo("Europe/Berlin")
HOUR, DAY = 3_600_000, 86_400_000


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


START = ms("2026-03-23T00:00:00+01:00")  # a Monday; Berlin springs forward on the 29th
END = ms("2026-04-06T00:00:00+02:00")  # two weeks of local days (one of them 23 hours)


def lanes() -> list[Lane]:
    weekly = Lane(
        "weekly",
        [
            Span(START - 3 * DAY, START + 2 * DAY, ("alice",)),  # began before the window
            Span(START + 2 * DAY, START + 9 * DAY, ("bob",)),
            Span(START + 9 * DAY, END + 5 * DAY, ("alice",)),  # ends after it
            Span(END + 5 * DAY, END + 12 * DAY, ("carol",)),  # outside: not drawn
        ],
    )
    cover = Lane("business-hours-cover", [Span(START + 9 * HOUR, START + 17 * HOUR, ("dave",))])
    overrides = Lane(
        "overrides", [Span(START + DAY, START + 2 * DAY, ("bob",), override=True, note="replace")]
    )
    merged = Lane(
        "on call",
        [
            Span(START, START + DAY, ("alice",)),
            Span(START + DAY, START + 2 * DAY, ("bob",), override=True),
            Span(START + 2 * DAY, END, ("bob", "dave")),
        ],
        css="merged",
    )
    return [weekly, cover, overrides, merged]


def test_lanes_days_colours_and_overrides():
    chart = timeline(lanes(), START, END, BERLIN, now_ms=START + DAY + HOUR)
    rects = chart.rects
    assert len(rects) == 3 + 1 + 1 + 3 + 1  # carol's shift is after the window; the now mark
    first, bob, alice_again = rects[:3]
    left = first.x
    plot = alice_again.x + alice_again.width - left  # clipped to the window's end
    assert first.width == pytest.approx(plot * 2 * DAY / (END - START))
    assert bob.x == pytest.approx(left + plot * 2 * DAY / (END - START))
    # one colour per person, the same in every lane
    colour = {r.title.split(":")[0]: r.css.split()[0] for r in rects[:-1]}
    assert colour["alice"] == "u0" and colour["bob"] == "u1" and colour["dave"] == "u2"
    assert rects[-2].css == "u1 merged" and rects[-3].css == "u1 merged override"
    assert rects[4].css == "u1 override" and rects[4].title.endswith("(replace)")
    assert rects[4].title.startswith("bob: Tue 24 Mar 00:00 – Wed 25 Mar 00:00")
    # a grid line at each local midnight: 14 of them, the 30th's an hour early in UTC terms
    grid = [line.x1 for line in chart.lines if line.css == "grid"]
    assert len(grid) == 14
    gaps = [b - a for a, b in itertools.pairwise(grid)]
    assert gaps[6] == pytest.approx(gaps[0] * 23 / 24)  # Sunday the 29th lasts 23 hours
    (now,) = [r for r in chart.rects if r.css == "now"]  # over the bars
    assert now.x + now.width / 2 == pytest.approx(left + plot * (DAY + HOUR) / (END - START))
    days = [t.text for t in chart.texts if t.anchor == "start" and t.css == ""]
    assert days[:2] == ["Mon 23", "Wed 25"]  # every other day: a label needs 56 units
    labels = [t.text for t in chart.texts if t.css == "lane"]
    assert labels == ["weekly", "business-hour…", "overrides", "on call"]  # shortened to fit
    assert "bob, dave" in [t.text for t in chart.texts if t.css == "bar"]


def test_narrow_charts_label_fewer_days_and_shorten_names():
    chart = timeline(lanes(), START, END, BERLIN, now_ms=END + DAY, width=NARROW)
    days = [t.text for t in chart.texts if t.anchor == "start" and t.css == ""]
    assert 2 <= len(days) < 14
    assert not [r for r in chart.rects if r.css == "now"]  # now is after the window
    for text in chart.texts:
        if text.css == "bar":
            assert len(text.text) * 6.6 <= chart.width
