"""The geometry of a schedule's timeline on /schedules: one lane per layer, one for the
overrides and the merged answer (who is actually paged), days along the x axis in the
schedule's zone and a line at now. Drawn by the statistics charts' template (`_chart.html`):
rectangles, texts and lines in SVG user units, no JavaScript.

Each person keeps one colour across the lanes (the style sheet's `u0`..`u7`), so a rotation
reads at a glance; overrides are drawn with a dashed outline (`override`), in their own lane
and wherever they decide the merged one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alertrouter.core.instants import from_millis, to_millis
from alertrouter.people.wallclock import localize
from alertrouter.web.charts import DAY_LABEL_SPACING, WIDE, Chart, Line, Rect, Text

COLOURS = 8  # u0..u7 in the style sheet
LANE, GAP, AXIS = 26, 6, 22
CHARACTER = 6.6  # the width of one character of a 12px label, roughly
BOLD_CHARACTER = 7.6  # of a bold one (the lanes' names)


@dataclass(frozen=True, slots=True)
class Span:
    start_ms: int
    end_ms: int
    users: tuple[str, ...]
    override: bool = False  # an override decides here
    note: str = ""  # added to the tooltip, e.g. "replace" or "add"


@dataclass(frozen=True, slots=True)
class Lane:
    label: str
    spans: Sequence[Span]
    css: str = ""  # "merged" for the lane of who is paged


def timeline(
    lanes: Sequence[Lane],
    start_ms: int,
    end_ms: int,
    zone: dt.tzinfo,
    now_ms: int,
    width: int = WIDE,
) -> Chart:
    left = 120 if width >= WIDE else 76
    right = 8
    plot = width - left - right
    height = len(lanes) * (LANE + GAP) + AXIS
    chart = Chart(width, height)
    length = end_ms - start_ms

    def x(ms: int) -> float:
        return left + plot * (min(max(ms, start_ms), end_ms) - start_ms) / length

    bottom = len(lanes) * (LANE + GAP)
    _days(chart, start_ms, end_ms, zone, x, bottom, plot)
    lanes = [Lane(lane.label, _within(lane.spans, start_ms, end_ms), lane.css) for lane in lanes]
    colours = _colours(lanes)
    for index, lane in enumerate(lanes):
        top = index * (LANE + GAP) + GAP / 2
        label = _fit(lane.label, left - 8, BOLD_CHARACTER)
        chart.texts.append(Text(left - 6, top + LANE / 2 + 4, label, "end", "lane"))
        for span in lane.spans:
            x1, x2 = x(span.start_ms), x(span.end_ms)
            names = ", ".join(span.users) or "nobody"
            css = " ".join(
                filter(None, (colours.get(span.users[0], "") if span.users else "", lane.css))
            )
            if span.override:
                css += " override"
            title = f"{names}: {_when(span.start_ms, zone)} – {_when(span.end_ms, zone)}"
            if span.note:
                title += f" ({span.note})"
            chart.rects.append(Rect(x1, top, max(x2 - x1, 1), LANE, css.strip(), title))
            shown = _fit(names, x2 - x1 - 6)
            if shown:
                chart.texts.append(Text(x1 + 4, top + LANE / 2 + 4, shown, "start", "bar"))
    if start_ms <= now_ms < end_ms:  # a rectangle, drawn over the bars (lines go under them)
        chart.rects.append(Rect(x(now_ms) - 1, 0, 2, bottom, "now", f"now: {_when(now_ms, zone)}"))
    return chart


def _days(
    chart: Chart,
    start_ms: int,
    end_ms: int,
    zone: dt.tzinfo,
    x: Callable[[int], float],
    bottom: float,
    plot: int,
) -> None:
    """A grid line at each local midnight, labelled (every few days when narrow)."""
    first = from_millis(start_ms).astimezone(zone).date()
    midnights = []
    day = first
    while True:
        instant = localize(dt.datetime.combine(day, dt.time()), zone)
        ms = to_millis(instant)
        if ms >= end_ms:
            break
        if ms >= start_ms:
            midnights.append((day, ms))
        day += dt.timedelta(days=1)
    days = max(1, math.ceil((end_ms - start_ms) / 86_400_000))
    every = max(1, math.ceil(days / max(2, plot // DAY_LABEL_SPACING)))
    for index, (day, ms) in enumerate(midnights):
        chart.lines.append(Line(x(ms), 0, x(ms), bottom, "grid"))
        if index % every == 0:
            chart.texts.append(Text(x(ms) + 3, bottom + 15, day.strftime("%a %d"), "start"))


def _within(spans: Sequence[Span], start_ms: int, end_ms: int) -> list[Span]:
    return [s for s in spans if s.end_ms > start_ms and s.start_ms < end_ms]


def _colours(lanes: Sequence[Lane]) -> dict[str, str]:
    """Each person's colour class: by order of appearance, the same in every lane."""
    seen: dict[str, str] = {}
    for lane in lanes:
        for span in lane.spans:
            for user in span.users:
                seen.setdefault(user, f"u{len(seen) % COLOURS}")
    return seen


def _fit(text: str, room: float, character: float = CHARACTER) -> str:
    """`text`, shortened with an ellipsis to fit `room` units; "" when not even that fits."""
    fits = int(room // character)
    if len(text) <= fits:
        return text
    return text[: fits - 1] + "…" if fits >= 3 else ""


def _when(ms: int, zone: dt.tzinfo) -> str:
    return from_millis(ms).astimezone(zone).strftime("%a %d %b %H:%M")
