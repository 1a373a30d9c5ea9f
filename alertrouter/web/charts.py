"""The geometry of the statistics charts: rectangles, ticks and labels in SVG user units,
computed from the stats document. The template only draws them, so the page needs no
JavaScript and the charts scale with the page (viewBox)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alertrouter.render.environment import humanize_duration

LEVELS = ("P0", "P1", "P2", "P3")
# Time axis steps that read well: seconds, minutes, hours, days.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
TIME_STEPS += (43200, 86400, 172800, 604800)
# The page draws each chart twice, wide and narrow (for phones), and CSS shows one: SVG text
# scales with the chart, so a wide chart squeezed onto a phone has unreadably small labels.
WIDE, NARROW = 640, 360
TICK_SPACING, DAY_LABEL_SPACING = 110, 56  # room for "1h 30m", "11-29" and a gap


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str  # a class of the page's style sheet (the colour)
    title: str  # the tooltip


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"  # SVG text-anchor
    css: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str


@dataclass(slots=True)
class Chart:
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rects


def time_to_acknowledge(by_severity: Sequence[Mapping[str, Any]], width: int = WIDE) -> Chart:
    """One panel per P-level, each with its own time axis (small multiples): P0's 5-minute
    target and P3's 4-hour one on a shared axis left P0 a few pixels wide. A panel holds the
    mean and p90 bars, the level's response target as a dashed line, and its ticks."""
    rows = [r for r in by_severity if r["timeToAcknowledge"]["meanSeconds"] is not None]
    left, right, panel_height, bars_height = 72, 104, 80, 52
    chart = Chart(width, max(panel_height * len(rows), 1))
    plot = width - left - right
    ticks = max(2, plot // TICK_SPACING)
    for index, row in enumerate(rows):
        top = index * panel_height + 4
        bottom = top + bars_height
        measured, target = row["timeToAcknowledge"], row.get("targetSeconds")
        largest = max(
            v for v in (measured["meanSeconds"], measured["p90Seconds"], target) if v is not None
        )
        step = _step(largest, TIME_STEPS, ticks)
        scale_max = step * max(1, math.ceil(largest / step))

        def x(seconds: float, scale_max: float = scale_max) -> float:
            return left + plot * seconds / scale_max

        for tick in range(0, int(scale_max) + 1, int(step)):
            chart.lines.append(Line(x(tick), top, x(tick), bottom, "grid"))
            chart.texts.append(Text(x(tick), bottom + 15, humanize_duration(tick)))
        chart.lines.append(Line(left, top, left, bottom, "axis"))
        name = row["severity"]
        chart.texts.append(Text(left - 10, top + 14, name, "end", "level"))
        if target is not None:
            chart.texts.append(Text(left - 10, top + 31, "target", "end"))
            chart.texts.append(Text(left - 10, top + 47, humanize_duration(target), "end"))
        for offset, key, what in ((6, "meanSeconds", "mean"), (28, "p90Seconds", "p90")):
            value = measured[key]
            if value is None:
                continue
            shown = f"{what} {humanize_duration(value)}"
            css = f"{name.lower()} {what}"
            chart.rects.append(
                Rect(left, top + offset, max(x(value) - left, 1), 18, css, f"{name} {shown}")
            )
            chart.texts.append(Text(x(value) + 4, top + offset + 13, shown, "start"))
        if target is not None:
            chart.lines.append(Line(x(target), top, x(target), bottom, "target"))
    return chart


def incidents_per_day(per_day: Sequence[Mapping[str, Any]], width: int = WIDE) -> Chart:
    """Columns per day, stacked by P-level (P0 at the bottom)."""
    left, right, top, bottom_axis, height = 36, 8, 8, 24, 220
    chart = Chart(width, height)
    if not per_day or not any(d["opened"] for d in per_day):
        return chart
    most = max(d["opened"] for d in per_day)
    step = max(1, int(_step(most, (1, 2, 5))))
    scale_max = step * math.ceil(most / step)
    bottom = height - bottom_axis
    plot_height = bottom - top
    slot = (width - left - right) / len(per_day)
    bar = max(slot * 0.7, 1.0)
    for tick in range(0, scale_max + 1, step):
        y = bottom - plot_height * tick / scale_max
        chart.lines.append(Line(left, y, width - right, y, "grid"))
        chart.texts.append(Text(left - 6, y + 4, str(tick), "end"))
    every = max(1, math.ceil(len(per_day) / max(2, (width - left - right) // DAY_LABEL_SPACING)))
    for index, day in enumerate(per_day):
        x = left + slot * index + (slot - bar) / 2
        y = bottom
        for name in LEVELS:
            count = day["bySeverity"].get(name, 0)
            if not count:
                continue
            h = plot_height * count / scale_max
            y -= h
            chart.rects.append(Rect(x, y, bar, h, name.lower(), f"{day['day']} {name}: {count}"))
        if index % every == 0:
            chart.texts.append(Text(x + bar / 2, bottom + 16, day["day"][5:]))
    return chart


def _step(maximum: float, bases: Sequence[float], ticks: int = 4) -> float:
    """The tick step for at most `ticks` steps up to `maximum`: the smallest of `bases` (times
    a power of ten beyond the last one) that is at least maximum / ticks."""
    wanted = max(maximum, 1e-9) / ticks
    scale = 1.0
    while True:
        for base in bases:
            if base * scale >= wanted:
                return base * scale
        scale *= 10
