"""A schedule's answer to "who is on call", at an instant (`who`) and over a window. Pure.

A schedule stacks layers: at an instant the last layer (in the order listed) that has someone
decides. Overrides take precedence over every layer: of the `replace` overrides in force the
most recently created wins (`created_at`, then the higher id); `add` overrides join on top, in
the order they were created, without repeating anyone. A schedule's definition may change over
time: each `Version` is in force from its `effective_from` until the next one's, and the first
also before its own. Every instant returned is in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from alertrouter.people.rotation import Layer
from alertrouter.people.wallclock import require_aware

__all__ = [
    "OVERRIDE_LAYER",
    "Answer",
    "Override",
    "Schedule",
    "Shift",
    "Version",
    "shifts",
    "version_at",
    "versions_of",
    "who",
]

OVERRIDE_LAYER = "override"
"""`Answer.layer` and `Shift.layer` when an override decides."""


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    zone: dt.tzinfo  # a ZoneInfo; the zone of every layer's handoff
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.zone, dt.tzinfo):
            raise ValueError(f"schedule {self.name!r}: zone must be a time zone, got {self.zone!r}")
        if not all(isinstance(layer, Layer) for layer in self.layers):
            raise ValueError(f"schedule {self.name!r}: layers must be Layer values")


@dataclass(frozen=True, slots=True)
class Override:
    """`users` on call during [start, end), instead of (`replace`) or beside (`add`) the layers."""

    id: int
    kind: Literal["replace", "add"]
    users: tuple[str, ...]
    start: dt.datetime
    end: dt.datetime
    created_at: dt.datetime

    def __post_init__(self) -> None:
        where = f"override {self.id}"
        if self.kind not in ("replace", "add"):
            raise ValueError(f"{where}: kind must be replace or add, got {self.kind!r}")
        if not self.users or not all(isinstance(u, str) and u for u in self.users):
            raise ValueError(f"{where}: users must be a non-empty list of user names")
        start = require_aware(self.start, f"{where}: start")
        end = require_aware(self.end, f"{where}: end")
        require_aware(self.created_at, f"{where}: created_at")
        if start >= end:
            raise ValueError(f"{where}: start must be before end")

    def contains(self, at: dt.datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Version:
    """A schedule's definition in force from `effective_from` (None: since forever)."""

    effective_from: dt.datetime | None
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class Answer:
    users: tuple[str, ...]  # () = nobody
    layer: str | None  # the deciding layer's name, OVERRIDE_LAYER, or None when nobody


NOBODY = Answer((), None)


@dataclass(frozen=True, slots=True)
class Shift:
    start: dt.datetime
    end: dt.datetime
    users: tuple[str, ...]
    layer: str


def versions_of(schedule: Schedule) -> tuple[Version, ...]:
    """A schedule that never changed."""
    return (Version(None, schedule),)


def version_at(versions: Sequence[Version], at: dt.datetime) -> Version:
    """The version in force at `at`: the last one in effect by then, else the first."""
    ordered = _ordered(versions)
    at = require_aware(at, "at")
    current = ordered[0]
    for version in ordered[1:]:
        if version.effective_from is not None and version.effective_from > at:
            break
        current = version
    return current


def who(versions: Sequence[Version], at: dt.datetime, overrides: Iterable[Override] = ()) -> Answer:
    """Who is on call at `at`, and which layer (or override) decides."""
    at = require_aware(at, "at")
    schedule = version_at(versions, at).schedule
    return _with_overrides(_layers_answer(schedule, at), [o for o in overrides if o.contains(at)])


def shifts(
    versions: Sequence[Version],
    start: dt.datetime,
    end: dt.datetime,
    overrides: Iterable[Override] = (),
) -> list[Shift]:
    """The on-call timeline within [start, end): equal neighbours merged, nobody left out."""
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if start >= end:
        return []
    relevant = sorted((o for o in overrides if o.start < end and o.end > start), key=_by_start)
    timeline: list[Shift] = []
    in_force: list[Override] = []
    waiting = iter(relevant)
    upcoming = next(waiting, None)
    edges = _change_points(versions, start, end, relevant)
    for segment_start, segment_end in zip(edges, [*edges[1:], end], strict=True):
        while upcoming is not None and upcoming.start <= segment_start:
            in_force.append(upcoming)
            upcoming = next(waiting, None)
        in_force = [o for o in in_force if o.end > segment_start]
        schedule = version_at(versions, segment_start).schedule
        answer = _with_overrides(_layers_answer(schedule, segment_start), in_force)
        if not answer.users:
            continue
        last = timeline[-1] if timeline else None
        if (
            last is not None
            and last.end == segment_start
            and (last.users, last.layer) == (answer.users, answer.layer)
        ):
            timeline[-1] = Shift(last.start, segment_end, last.users, last.layer)
        else:
            timeline.append(Shift(segment_start, segment_end, answer.users, answer.layer or ""))
    return timeline


def _change_points(
    versions: Sequence[Version], start: dt.datetime, end: dt.datetime, overrides: list[Override]
) -> list[dt.datetime]:
    """`start` and every instant in (start, end) where the answer may change, in order."""
    points: set[dt.datetime] = {start}
    for version, since, until in _version_spans(versions, start, end):
        points.add(since)
        for layer in version.schedule.layers:
            points.update(layer.change_points(since, until, version.schedule.zone))
    points.update(
        t.astimezone(dt.UTC) for o in overrides for t in (o.start, o.end) if start < t < end
    )
    return sorted(points)


def _layers_answer(schedule: Schedule, at: dt.datetime) -> Answer:
    for layer in reversed(schedule.layers):
        user = layer.on_call(at, schedule.zone)
        if user is not None:
            return Answer((user,), layer.name)
    return NOBODY


def _with_overrides(base: Answer, in_force: Sequence[Override]) -> Answer:
    if not in_force:
        return base
    replaces = [o for o in in_force if o.kind == "replace"]
    users = max(replaces, key=_by_creation).users if replaces else base.users
    for added in sorted((o for o in in_force if o.kind == "add"), key=_by_creation):
        users += added.users
    return Answer(tuple(dict.fromkeys(users)), OVERRIDE_LAYER)


def _version_spans(
    versions: Sequence[Version], start: dt.datetime, end: dt.datetime
) -> list[tuple[Version, dt.datetime, dt.datetime]]:
    """Each version with the part of [start, end) it is in force for (empty parts left out)."""
    ordered = _ordered(versions)
    spans = []
    for index, version in enumerate(ordered):
        since = start if index == 0 else max(start, _utc_or(version.effective_from, start))
        if index + 1 == len(ordered):
            until = end
        else:  # a following version without effective_from replaces this one since forever
            until = min(end, _utc_or(ordered[index + 1].effective_from, start))
        if since < until:
            spans.append((version, since, until))
    return spans


def _ordered(versions: Sequence[Version]) -> list[Version]:
    if not versions:
        raise ValueError("a schedule needs at least one version")
    for version in versions:
        if version.effective_from is not None:
            require_aware(version.effective_from, "effective_from")
    return sorted(versions, key=_by_effective_from)


def _by_effective_from(version: Version) -> tuple[bool, dt.datetime]:
    origin = dt.datetime.min.replace(tzinfo=dt.UTC)
    return version.effective_from is not None, version.effective_from or origin


def _utc_or(instant: dt.datetime | None, default: dt.datetime) -> dt.datetime:
    return default if instant is None else instant.astimezone(dt.UTC)


def _by_creation(override: Override) -> tuple[dt.datetime, int]:
    return override.created_at, override.id


def _by_start(override: Override) -> dt.datetime:
    return override.start
