"""A schedule's answer to "who is on call", at an instant (`who`) and over a window. Pure.

A schedule stacks layers: at an instant the last layer (in the order listed) that has someone
decides. Overrides take precedence over every layer: of the `replace` overrides in force the
most recently created wins (`created_at`, then the higher id); `add` overrides join on top, in
the order they were created, without repeating anyone. A schedule's definition may change over
time: each `Version` is in force from its `effective_from` until the next one's, and the first
also before its own. Every instant returned is in UTC.

`who` asks each layer at the instant. `shifts` works on integer-microsecond segments instead: each
version's layers merged over its part of the window (`timeline`, memoized by day), then the
overrides applied in one sweep, then equal neighbours joined; it gives what `who` gives at every
instant of the window.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from alertrouter.people.daymemo import join
from alertrouter.people.rotation import Layer
from alertrouter.people.timeline import Segment, layers_timeline
from alertrouter.people.wallclock import from_micros, require_aware, to_micros

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
    layered: list[Segment] = []
    for version, since, until in _version_spans(versions, start, end):
        schedule = version.schedule
        segments = layers_timeline(
            schedule.zone, schedule.layers, to_micros(since), to_micros(until)
        )
        if layered and segments:
            join(layered, segments[0])
            segments = segments[1:]
        layered.extend(segments)
    relevant = sorted((o for o in overrides if o.start < end and o.end > start), key=_by_start)
    timeline = _overridden(layered, _override_spans(relevant, to_micros(start), to_micros(end)))
    instants: dict[int, dt.datetime] = {}  # one datetime for a shift's end and the next's start
    return [_SHIFTS.get(segment) or _shift(segment, instants) for segment in timeline]


_Effect = tuple[tuple[str, ...] | None, tuple[str, ...]]
"""What the overrides in force do: the users when a replace wins (the added ones included), else
None; and the added users, to put after the layers' ones."""


def _override_spans(
    relevant: list[Override], start: int, end: int
) -> list[tuple[int, int, _Effect]]:
    """The parts of [start, end) where overrides are in force, each with their effect, in order.

    `relevant` is ordered by start, as `who` meets them, so ties resolve as there."""
    entries = []
    edges = set()
    for override in relevant:
        since, until = max(start, to_micros(override.start)), min(end, to_micros(override.end))
        if override.kind == "replace":
            alone: _Effect = (_distinct(override.users), ())
        else:
            alone = (None, override.users)
        entries.append((since, until, override, alone))
        edges.add(since)
        edges.add(until)
    found = []
    in_force: list[tuple[int, int, Override, _Effect]] = []
    waiting = 0
    for since, until in itertools.pairwise(sorted(edges)):
        while waiting < len(entries) and entries[waiting][0] <= since:
            in_force.append(entries[waiting])
            waiting += 1
        in_force = [entry for entry in in_force if entry[1] > since]
        if len(in_force) == 1:
            found.append((since, until, in_force[0][3]))
        elif in_force:
            found.append((since, until, _effect([entry[2] for entry in in_force])))
    return found


def _effect(in_force: list[Override]) -> _Effect:
    """`_with_overrides`, with the layers' answer left open."""
    replaces = [o for o in in_force if o.kind == "replace"]
    added: tuple[str, ...] = ()
    for override in sorted((o for o in in_force if o.kind == "add"), key=_by_creation):
        added += override.users
    if replaces:
        return _distinct(max(replaces, key=_by_creation).users + added), ()
    return None, added


def _overridden(
    layered: list[Segment], overridden: list[tuple[int, int, _Effect]]
) -> list[Segment]:
    """The layers' segments with the overrides applied, touching equal neighbours joined."""
    found: list[Segment] = []
    pending = layered[::-1]  # the next layered segment last
    for since, until, (replaced, added) in overridden:
        while pending and pending[-1][0] < since:  # the layers alone decide before `since`
            segment = pending.pop()
            if segment[1] > since:
                pending.append((since, segment[1], segment[2]))
                segment = (segment[0], since, segment[2])
            join(found, segment)
        if replaced is not None:  # whoever the layers have
            join(found, (since, until, (replaced, OVERRIDE_LAYER)))
            while pending and pending[-1][1] <= until:
                pending.pop()
            if pending and pending[-1][0] < until:
                pending[-1] = (until, pending[-1][1], pending[-1][2])
            continue
        cursor = since
        while cursor < until:
            if pending and pending[-1][0] <= cursor:  # the layers have someone at `cursor`
                layered_end, (layered_users, _) = pending[-1][1], pending[-1][2]
                if layered_end > until:
                    pending[-1] = (until, layered_end, pending[-1][2])
                else:
                    pending.pop()
                piece_end = min(until, layered_end)
            else:
                layered_users = ()
                piece_end = min(until, pending[-1][0]) if pending else until
            users = _distinct(layered_users + added)
            join(found, (cursor, piece_end, (users, OVERRIDE_LAYER)))
            cursor = piece_end
    for segment in reversed(pending):
        join(found, segment)
    return found


def _distinct(users: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(users))


_SHIFTS: dict[Segment, Shift] = {}
"""The shifts made lately, by segment: a window asked again mostly gives the same ones."""
_MAX_SHIFTS = 20_000


def _shift(segment: Segment, instants: dict[int, dt.datetime]) -> Shift:
    if len(_SHIFTS) >= _MAX_SHIFTS:
        _SHIFTS.clear()
    since, until, (users, layer) = segment
    start = instants.get(since) or instants.setdefault(since, from_micros(since))
    end = instants.get(until) or instants.setdefault(until, from_micros(until))
    shift = _SHIFTS[segment] = Shift(start, end, users, layer)
    return shift


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
