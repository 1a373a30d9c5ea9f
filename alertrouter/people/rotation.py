"""One layer of an on-call schedule: its rotation, who holds each shift, when it is active. Pure.

Shift n of a layer starts at `handoff + n × shift_length` rotation units, for every integer n
(the rotation extends backwards in time too), and `users[n mod len(users)]` holds it. `handoff`
is a wall-clock time in the schedule's zone. Daily and weekly boundaries stay at the same
wall-clock time across DST changes (such a day lasts 23 or 25 hours); a boundary the clock skips
(spring forward) falls at the first instant after the gap, and one the clock shows twice (fall
back) at its first occurrence. Hourly rotations count absolute hours from the handoff instant.

A layer with `active` time intervals has nobody on call outside them; each interval is read in
its own location, as Alertmanager does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from alertrouter.core.timeintervals import TimeInterval
from alertrouter.people import activity
from alertrouter.people.wallclock import (
    DAY_MICROS,
    from_micros,
    localize,
    localize_micros,
    offset_spans,
    reading_micros,
    require_aware,
    to_micros,
    wall,
)

__all__ = ["Layer", "Rotation"]

Rotation = Literal["hourly", "daily", "weekly"]

_MICROSECOND = dt.timedelta(microseconds=1)
_UNIT: dict[str, dt.timedelta] = {
    "hourly": dt.timedelta(hours=1),
    "daily": dt.timedelta(days=1),
    "weekly": dt.timedelta(weeks=1),
}


@dataclass(frozen=True, slots=True)
class Layer:
    """A rotation of `users` in shifts of `shift_length` hours, days or weeks."""

    name: str
    rotation: Rotation
    shift_length: int
    handoff: dt.datetime  # naive: the wall-clock start of shift 0 in the schedule's zone
    users: tuple[str, ...]
    active: tuple[TimeInterval, ...] = ()  # () = always active

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        if self.rotation not in get_args(Rotation):
            raise ValueError(
                f"{where}: rotation must be hourly, daily or weekly, got {self.rotation!r}"
            )
        if (
            not isinstance(self.shift_length, int)
            or isinstance(self.shift_length, bool)
            or self.shift_length < 1
        ):
            raise ValueError(
                f"{where}: shift_length must be an integer >= 1, got {self.shift_length!r}"
            )
        if not isinstance(self.handoff, dt.datetime) or self.handoff.tzinfo is not None:
            raise ValueError(
                f"{where}: handoff must be a naive wall-clock datetime in the schedule's zone,"
                f" got {self.handoff!r}"
            )
        if not self.users or not all(isinstance(u, str) and u for u in self.users):
            raise ValueError(f"{where}: users must be a non-empty list of user names")

    @property
    def period(self) -> dt.timedelta:
        """One shift's nominal length (a daily shift across a DST change lasts 23 or 25 hours)."""
        return _UNIT[self.rotation] * self.shift_length

    def boundary(self, n: int, zone: dt.tzinfo) -> dt.datetime:
        """The UTC instant where shift n starts (n may be negative)."""
        step = self.period * n
        if self.rotation == "hourly":
            return localize(self.handoff, zone) + step
        return localize(self.handoff + step, zone)

    def shift_at(self, at: dt.datetime, zone: dt.tzinfo) -> tuple[int, dt.datetime, dt.datetime]:
        """(k, start, end): the shift containing `at`, start inclusive, end exclusive (UTC)."""
        at = require_aware(at, "at")
        if self.rotation == "hourly":
            k = (at - localize(self.handoff, zone)) // self.period
        else:
            # Elapsed wall-clock time is off by at most the DST changes in between.
            k = (wall(at, zone) - self.handoff) // self.period
        start = self.boundary(k, zone)
        while start > at:
            k -= 1
            start = self.boundary(k, zone)
        end = self.boundary(k + 1, zone)
        while end <= at:
            k += 1
            start, end = end, self.boundary(k + 1, zone)
        return k, start, end

    def is_active(self, at: dt.datetime) -> bool:
        """Whether `at` is inside the layer's active intervals (always, without any)."""
        return activity.is_active(self.active, require_aware(at, "at"))

    def on_call(self, at: dt.datetime, zone: dt.tzinfo) -> str | None:
        """Who holds the layer's shift at `at`; None outside its active intervals."""
        if not self.is_active(at):
            return None
        k, _, _ = self.shift_at(at, zone)
        return self.users[k % len(self.users)]

    def boundaries(
        self, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo
    ) -> list[dt.datetime]:
        """The shift boundaries in (start, end), in order (UTC)."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        if start >= end:
            return []
        k, _, next_start = self.shift_at(start, zone)
        found = []
        while next_start < end:
            found.append(next_start)
            k += 1
            next_start = self.boundary(k + 1, zone)
        return found

    def shift_starts(self, start: int, end: int, zone: dt.tzinfo) -> tuple[int, list[int]]:
        """(k, starts): the shift k containing `start` and the start of every later shift before
        `end`, shifts k + 1, k + 2, ... (instants in microseconds since the Unix epoch)."""
        if self.rotation == "hourly":  # absolute hours: no wall-clock reading but the first
            origin = to_micros(localize(self.handoff, zone))
            period = self.period // _MICROSECOND
            k = (start - origin) // period
            return k, list(range(origin + (k + 1) * period, end, period))
        k, _, next_start = self.shift_at(from_micros(start), zone)
        following = to_micros(next_start)
        if following >= end:
            return k, []
        # Shift n starts at the reading handoff + n periods: localized with the zone's offsets
        # around the window (whole UTC days, which layers alike share), `boundary` past them.
        first_day, last_day = following // DAY_MICROS - 1, -(-end // DAY_MICROS) + 1
        spans = offset_spans(zone, first_day * DAY_MICROS, last_day * DAY_MICROS)
        handoff = reading_micros(self.handoff)
        period = self.period // _MICROSECOND
        starts = []
        while following < end:
            starts.append(following)
            n = k + len(starts) + 1
            instant = localize_micros(handoff + n * period, spans)
            following = to_micros(self.boundary(n, zone)) if instant is None else instant
        return k, starts

    def change_points(
        self, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo
    ) -> list[dt.datetime]:
        """Every instant in (start, end) where `on_call` may change: boundaries, activity edges."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        points = set(self.boundaries(start, end, zone))
        points.update(activity.edges(self.active, start, end))
        return sorted(points)
