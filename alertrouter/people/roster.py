"""Who is on call, as the database knows it: the schedules of the configuration in force, the
definitions earlier configurations had (`schedule_versions`: a reload that changes a rotation
changes who is on call from the reload on, never in the past) and the overrides people made.

Sync functions over an `sa.Connection`: they run inside the caller's transaction (a flush, an
escalation step) or, for async readers, through `AsyncConnection.run_sync`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from alertrouter.config.intervals import TimeIntervalConfig
from alertrouter.config.models import Config
from alertrouter.config.people import ScheduleConfig, UserConfig
from alertrouter.core.instants import from_millis
from alertrouter.people.definitions import schedule_from_parts
from alertrouter.people.oncall import (
    Answer,
    Override,
    Schedule,
    Shift,
    Version,
)
from alertrouter.people.oncall import (
    shifts as merged_shifts,
)
from alertrouter.people.oncall import (
    who as answer_at,
)
from alertrouter.storage.people_tables import schedule_overrides, schedule_versions


@dataclass(frozen=True)
class Definition:
    """One schedule as configured, with the time intervals its layers name: what a version
    stores, and what it is rebuilt from."""

    config: ScheduleConfig
    intervals: Mapping[str, Sequence[TimeIntervalConfig]]

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule": self.config.model_dump(mode="json", exclude_none=True),
            "time_intervals": {
                name: [spec.model_dump(mode="json", exclude_none=True) for spec in specs]
                for name, specs in sorted(self.intervals.items())
            },
        }

    @functools.cached_property
    def digest(self) -> str:  # asked for each stored version at every read of the versions
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def schedule(self) -> Schedule:
        return schedule_from_parts(
            self.config,
            {
                name: tuple(spec.to_interval() for spec in specs if not spec.never_matches)
                for name, specs in self.intervals.items()
            },
        )


def definition_of(config: Config, schedule: ScheduleConfig) -> Definition:
    named = {ti.name: ti for ti in [*config.mute_time_intervals, *config.time_intervals]}
    wanted = {name for layer in schedule.layers for name in layer.active_time_intervals}
    return Definition(
        schedule, {name: tuple(named[name].time_intervals) for name in wanted if name in named}
    )


@dataclass(frozen=True)
class Roster:
    """The people and schedules of one configuration."""

    users: Mapping[str, UserConfig]
    definitions: Mapping[str, Definition]
    schedules: Mapping[str, Schedule]
    _by_slack_id: Mapping[str, UserConfig]

    @classmethod
    def from_config(cls, config: Config) -> Roster:
        definitions = {s.name: definition_of(config, s) for s in config.schedules}
        return cls(
            users={u.name: u for u in config.users},
            definitions=definitions,
            schedules={name: d.schedule() for name, d in definitions.items()},
            _by_slack_id={u.slack_user_id: u for u in config.users if u.slack_user_id},
        )

    def user_by_slack_id(self, slack_user_id: str) -> UserConfig | None:
        return self._by_slack_id.get(slack_user_id)

    def schedule_config(self, name: str) -> ScheduleConfig:
        return self.definitions[name].config


def who(conn: sa.Connection, roster: Roster, schedule: str, at_ms: int) -> Answer:
    """Who is on call for `schedule` at `at_ms`. Raises KeyError for an unknown schedule."""
    versions = load_versions(conn, roster, schedule)
    overrides = load_overrides(conn, schedule, at_ms, at_ms + 1)
    return answer_at(versions, from_millis(at_ms), overrides)


def shifts(
    conn: sa.Connection, roster: Roster, schedule: str, start_ms: int, end_ms: int
) -> list[Shift]:
    """The merged shifts of `schedule` within [start_ms, end_ms). Raises KeyError."""
    versions = load_versions(conn, roster, schedule)
    overrides = load_overrides(conn, schedule, start_ms, end_ms)
    return merged_shifts(versions, from_millis(start_ms), from_millis(end_ms), overrides)


def oncall_view(conn: sa.Connection, roster: Roster, schedule: str, at_ms: int) -> dict[str, Any]:
    """Who is on call, as notification templates see it (`oncall`): the schedule, the deciding
    layer and each person with the ways to reach them."""
    answer = who(conn, roster, schedule, at_ms)
    return {
        "schedule": schedule,
        "layer": answer.layer,
        "users": [person_view(roster, name) for name in answer.users],
    }


def person_view(roster: Roster, name: str) -> dict[str, Any]:
    user = roster.users.get(name)
    return {
        "name": name,
        "full_name": user.display_name if user else name,
        "slack_user_id": user.slack_user_id if user else None,
        "email": user.email if user else None,
    }


def load_overrides(
    conn: sa.Connection, schedule: str, start_ms: int, end_ms: int
) -> list[Override]:
    """The overrides of `schedule` in force at some instant of [start_ms, end_ms), not deleted."""
    query = _overrides_in_force(start_ms, end_ms).where(schedule_overrides.c.schedule == schedule)
    return [_override(r) for r in conn.execute(query)]


def _overrides_in_force(start_ms: int, end_ms: int) -> sa.Select[Any]:
    """Overrides (not deleted) in force at some instant of [start_ms, end_ms), every schedule."""
    t = schedule_overrides.c
    return sa.select(
        t.schedule, t.id, t.kind, _USERS_TEXT, t.starts_at, t.ends_at, t.created_at
    ).where(t.ends_at > start_ms, t.starts_at < end_ms, t.deleted_at.is_(None))


# A stored definition as JSON text: decoded only for a version not met before.
_DEFINITION_TEXT = sa.cast(schedule_versions.c.definition, sa.Text).label("definition")
# The users as JSON text: decoded only for an override not met before (see `_override_of`).
_USERS_TEXT = sa.cast(schedule_overrides.c.users, sa.Text).label("users")


def _override(r: sa.Row[Any]) -> Override:
    return _override_of(r.id, r.kind, r.users, r.starts_at, r.ends_at, r.created_at)


@functools.lru_cache(maxsize=50_000)
def _override_of(
    override_id: int,
    kind: str,
    users: str | tuple[str, ...],
    starts_at: int,
    ends_at: int,
    created_at: int,
) -> Override:
    """Overrides never change once made (only their deletion, which the queries filter), so the
    values made from their rows are kept: the statistics read a month of them at every call."""
    return Override(
        id=int(override_id),
        kind=kind,  # type: ignore[arg-type]
        users=tuple(_json(users)),
        start=from_millis(starts_at),
        end=from_millis(ends_at),
        created_at=from_millis(created_at),
    )


def load_versions(conn: sa.Connection, roster: Roster, schedule: str) -> tuple[Version, ...]:
    """The schedule's definitions over time; the configuration's own when none is stored yet
    (or its latest stored one is not this configuration's: it is recorded at the next load)."""
    t = schedule_versions.c
    rows = conn.execute(
        sa.select(t.digest, _DEFINITION_TEXT, t.effective_from)
        .where(t.schedule == schedule)
        .order_by(t.effective_from, t.id)
    ).all()
    return _versions(roster, schedule, rows)


def _versions(roster: Roster, schedule: str, rows: Sequence[sa.Row[Any]]) -> tuple[Version, ...]:
    if not rows:
        return (Version(None, roster.schedules[schedule]),)
    current = roster.definitions[schedule]
    return tuple(
        Version(
            from_millis(r.effective_from),
            roster.schedules[schedule]
            if r.digest == current.digest
            else _stored_schedule(r.digest, _text(r.definition)),
        )
        for r in rows
    )


def all_shifts(
    conn: sa.Connection, roster: Roster, start_ms: int, end_ms: int, *, user: str | None = None
) -> dict[str, list[Shift]]:
    """The merged shifts of every schedule within [start_ms, end_ms), as `shifts` gives them,
    read with two queries for all schedules (their versions; the overrides in the window)
    instead of two per schedule. With `user`, only the schedules that can put them on call (a
    layer of some version, or an override, names them)."""
    start, end = from_millis(start_ms), from_millis(end_ms)
    return {
        name: merged_shifts(versions, start, end, overrides)
        for name, (versions, overrides) in _all(conn, roster, start_ms, end_ms, user).items()
    }


def _all(
    conn: sa.Connection, roster: Roster, start_ms: int, end_ms: int, user: str | None
) -> dict[str, tuple[tuple[Version, ...], list[Override]]]:
    """Each schedule's versions and the overrides in the window, in two queries."""
    overrides = all_overrides(conn, start_ms, end_ms)
    found: dict[str, tuple[tuple[Version, ...], list[Override]]] = {}
    for name, versions in all_versions(conn, roster).items():
        in_force = overrides.get(name, [])
        if user is None or can_hold(user, versions, in_force):
            found[name] = (versions, in_force)
    return found


def all_versions(conn: sa.Connection, roster: Roster) -> dict[str, tuple[Version, ...]]:
    """Every schedule's versions (`load_versions`), in one query."""
    t = schedule_versions.c
    stored: dict[str, list[sa.Row[Any]]] = {}
    for row in conn.execute(
        sa.select(t.schedule, t.digest, _DEFINITION_TEXT, t.effective_from)
        .where(t.schedule.in_(list(roster.schedules)))
        .order_by(t.schedule, t.effective_from, t.id)
    ):
        stored.setdefault(row.schedule, []).append(row)
    return {name: _versions(roster, name, stored.get(name, [])) for name in roster.schedules}


def all_overrides(
    conn: sa.Connection, start_ms: int, end_ms: int, schedules: Sequence[str] | None = None
) -> dict[str, list[Override]]:
    """Per schedule (of `schedules`, or all), its overrides in force at some instant of
    [start_ms, end_ms), not deleted, in one query."""
    query = _overrides_in_force(start_ms, end_ms)
    if schedules is not None:
        query = query.where(schedule_overrides.c.schedule.in_(list(schedules)))
    found: dict[str, list[Override]] = {}
    for row in conn.execute(query):
        found.setdefault(row.schedule, []).append(_override(row))
    return found


def can_hold(user: str, versions: Sequence[Version], overrides: Sequence[Override]) -> bool:
    return any(user in layer.users for v in versions for layer in v.schedule.layers) or any(
        user in o.users for o in overrides
    )


def record_versions(conn: sa.Connection, roster: Roster, now_ms: int) -> list[str]:
    """Records, from `now_ms`, the definition of each schedule that differs from its latest
    stored one (at start and at every reload); returns their names."""
    t = schedule_versions.c
    latest = (
        sa.select(t.schedule, sa.func.max(t.effective_from).label("effective_from"))
        .group_by(t.schedule)
        .subquery()
    )
    stored = {
        r.schedule: r.digest
        for r in conn.execute(
            sa.select(t.schedule, t.digest, t.id)
            .join(
                latest,
                sa.and_(
                    t.schedule == latest.c.schedule, t.effective_from == latest.c.effective_from
                ),
            )
            .order_by(t.id)
        )
    }
    changed = [name for name, d in roster.definitions.items() if stored.get(name) != d.digest]
    if changed:
        conn.execute(
            sa.insert(schedule_versions),
            [
                {
                    "schedule": name,
                    "digest": roster.definitions[name].digest,
                    "definition": roster.definitions[name].to_json(),
                    "effective_from": now_ms,
                }
                for name in changed
            ],
        )
    return changed


@functools.lru_cache(maxsize=4096)  # one Schedule per stored definition: people.held keys on it
def _stored_schedule(digest: str, definition: str) -> Schedule:
    data = json.loads(definition)
    intervals = {
        name: tuple(TimeIntervalConfig.model_validate(spec) for spec in specs)
        for name, specs in data.get("time_intervals", {}).items()
    }
    return Definition(ScheduleConfig.model_validate(data["schedule"]), intervals).schedule()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
