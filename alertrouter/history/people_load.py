"""The load each person carries, over a window: pages (and how many fell outside their working
hours), acknowledgements and the time they took, hours on call. Pure.

Working hours are a person's own: read on the wall clock of their `time_zone`, a page on a
Saturday or Sunday is a weekend page, and one on a weekday at 22:00 or later or before 07:00 is
a night page (so Friday 23:00 is a night, Saturday 03:00 a weekend, Monday 03:00 a night: each
page outside working hours counts once). `off_hours` is the definition; the database applies
the same arithmetic to local time, `at` plus the zone's UTC offset, whose changes within the
window `offset_spans` lists.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from alertrouter.core.instants import from_millis
from alertrouter.history.measures import Measure, iso, measure_json
from alertrouter.people.wallclock import offset_changes

OffHours = Literal["night", "weekend"]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
NIGHT_FROM_MS = 22 * HOUR_MS  # time of day, local: a night runs 22:00 to 07:00
NIGHT_UNTIL_MS = 7 * HOUR_MS
SATURDAY = 5  # datetime.weekday(): Monday is 0
EPOCH_WEEKDAY = 3  # 1970-01-01, day 0 of epoch days, was a Thursday

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def off_hours(at_ms: int, zone: dt.tzinfo) -> OffHours | None:
    """Whether an instant is outside working hours on the wall clock of `zone`, and why."""
    local = dt.datetime.fromtimestamp(at_ms / 1000, zone)
    if local.weekday() >= SATURDAY:
        return "weekend"
    if local.hour >= 22 or local.hour < 7:
        return "night"
    return None


def off_hours_local(at_ms: int, spans: Sequence[OffsetSpan]) -> OffHours | None:
    """`off_hours` read with the zone's offset spans over a window (`offset_spans`; none: UTC),
    in integer arithmetic: what the statistics count every page with."""
    offset = 0
    for span in spans:
        if span.start_ms > at_ms:
            break
        offset = span.offset_ms
    local = at_ms + offset
    if (local // DAY_MS + EPOCH_WEEKDAY) % 7 >= SATURDAY:
        return "weekend"
    time_of_day = local % DAY_MS
    if time_of_day >= NIGHT_FROM_MS or time_of_day < NIGHT_UNTIL_MS:
        return "night"
    return None


@dataclass(frozen=True, slots=True)
class OffsetSpan:
    start_ms: int  # from this instant on (until the next span's start) ...
    offset_ms: int  # ... the zone's clock reads UTC plus this


def offset_spans(zone: dt.tzinfo, start_ms: int, end_ms: int) -> tuple[OffsetSpan, ...]:
    """The UTC offsets of `zone` over [start_ms, end_ms): the first span starts at start_ms."""
    start = from_millis(start_ms)
    spans = [OffsetSpan(start_ms, _offset_ms(start, zone))]
    for change in _changes(zone, start_ms // DAY_MS, -(-end_ms // DAY_MS)):
        if start_ms < change.start_ms < end_ms:
            spans.append(change)
    return tuple(spans)


@functools.lru_cache(maxsize=1024)
def _changes(zone: dt.tzinfo, first_day: int, last_day: int) -> tuple[OffsetSpan, ...]:
    """The offset changes between two UTC midnights (epoch days): the same for every request
    of a day, so found once (a year of daily samples takes a millisecond or so per zone)."""
    samples = [from_millis(day * DAY_MS) for day in range(first_day, last_day + 1)]
    return tuple(
        OffsetSpan(_ceil_ms(change), _offset_ms(change, zone))
        for change in offset_changes(samples, zone)
    )


def _ceil_ms(instant: dt.datetime) -> int:
    return -((_EPOCH - instant) // _MS)


def _offset_ms(instant: dt.datetime, zone: dt.tzinfo) -> int:
    offset = instant.astimezone(zone).utcoffset() or dt.timedelta(0)
    return offset // _MS


def by_person(held: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Per schedule, per person (ledgers.all_held) turned into per person, per schedule; the
    people with no time on call left out."""
    found: dict[str, dict[str, int]] = {}
    for schedule, by_user in held.items():
        for user, ms in by_user.items():
            if ms > 0:
                found.setdefault(user, {})[schedule] = ms
    return found


@dataclass(frozen=True, slots=True)
class Activity:
    """What the database counted for one person over the window."""

    paged: int = 0
    paged_at_night: int = 0
    paged_on_weekends: int = 0
    acknowledged: int = 0
    to_acknowledge: Measure = field(default_factory=Measure)


@dataclass(frozen=True, slots=True)
class PersonLoad:
    user: str
    full_name: str | None  # None: not (or no longer) a configured user
    time_zone: str  # the one their pages were read in (UTC for an unknown user)
    activity: Activity
    on_call_ms: Mapping[str, int]  # per schedule

    @property
    def paged_outside_working_hours(self) -> int:
        return self.activity.paged_at_night + self.activity.paged_on_weekends

    @property
    def total_on_call_ms(self) -> int:
        return sum(self.on_call_ms.values())


@dataclass(frozen=True, slots=True)
class Person:
    """A configured user, as the statistics need them."""

    name: str
    full_name: str | None
    time_zone: str


@dataclass(frozen=True, slots=True)
class PeopleLoad:
    since: int
    until: int
    people: Sequence[PersonLoad]


def combine(
    people: Sequence[Person],
    activity: Mapping[str, Activity],
    on_call: Mapping[str, Mapping[str, int]],
    only: str | None = None,
) -> list[PersonLoad]:
    """One row per configured person, and per unknown name that has activity or time on
    call in the window (a user since removed from the configuration), sorted by name; only
    `only` when given."""
    known = {p.name: p for p in people}
    names = set(known) | set(activity) | set(on_call)
    if only is not None:
        names &= {only}
    rows = []
    for name in sorted(names):
        person = known.get(name)
        rows.append(
            PersonLoad(
                user=name,
                full_name=person.full_name if person else None,
                time_zone=person.time_zone if person else "UTC",
                activity=activity.get(name, Activity()),
                on_call_ms=dict(sorted(on_call.get(name, {}).items())),
            )
        )
    return rows


def document(load: PeopleLoad) -> dict[str, Any]:
    """The JSON shape of GET /api/v1/stats/people (documented in the OpenAPI description)."""
    return {
        "from": iso(load.since),
        "to": iso(load.until),
        "people": [_person_json(p) for p in load.people],
    }


def _person_json(p: PersonLoad) -> dict[str, Any]:
    a = p.activity
    return {
        "user": p.user,
        "fullName": p.full_name,
        "timeZone": p.time_zone,
        "paged": a.paged,
        "pagedOutsideWorkingHours": {
            "total": p.paged_outside_working_hours,
            "nights": a.paged_at_night,
            "weekends": a.paged_on_weekends,
        },
        "acknowledged": a.acknowledged,
        "timeToAcknowledge": measure_json(a.to_acknowledge),
        "hoursOnCall": _hours(p.total_on_call_ms),
        "onCallBySchedule": [
            {"schedule": schedule, "hours": _hours(ms)} for schedule, ms in p.on_call_ms.items()
        ],
    }


def _hours(ms: int) -> float:
    return round(ms / HOUR_MS, 2)
