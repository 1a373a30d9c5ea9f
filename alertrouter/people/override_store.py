"""Schedule overrides in the database: creating them (validated), listing and soft-deleting
them; each creation and deletion goes on the schedule's audit trail (`schedule_events`) and
bumps its revision (`schedule_revisions`, what people.ledgers keep their sums under) in the
same transaction. Nothing else writes `schedule_overrides`.

Sync functions on a Connection: writes run inside `Database.run_write`, reads through
`AsyncConnection.run_sync`. They return frozen values, never rows. A rejected override names
each problem by the API field it is in (`users[1]`, `end`), and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from alertrouter.config.models import Config
from alertrouter.core.values import InputError
from alertrouter.storage.people_tables import (
    schedule_events,
    schedule_overrides,
    schedule_revisions,
)

KINDS = ("replace", "add")
SOURCES = ("api", "cli", "web")
MAX_OVERRIDE_LENGTH = dt.timedelta(days=90)
MAX_COMMENT_CHARS = 10_000
MAX_NAME_CHARS = 255  # created_by, deleted_by: the columns' width
EVENT_CREATED = "override_created"
EVENT_DELETED = "override_deleted"

_MAX_LENGTH_MS = int(MAX_OVERRIDE_LENGTH.total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """An override someone asks for; `starts_at`/`ends_at` in ms since the epoch, [start, end)."""

    schedule: str
    kind: str
    users: tuple[str, ...]
    starts_at: int
    ends_at: int
    comment: str
    created_by: str
    source: str


@dataclass(frozen=True, slots=True)
class StoredOverride:
    id: int
    schedule: str
    kind: str
    users: tuple[str, ...]
    starts_at: int
    ends_at: int
    comment: str
    created_at: int
    created_by: str
    source: str
    deleted_at: int | None
    deleted_by: str | None


class OverrideRejected(InputError):
    """An override that cannot be stored; `problems` holds (API field, what is wrong)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in self.problems))


class UnknownSchedule(LookupError):
    def __init__(self, schedule: str) -> None:
        self.schedule = schedule
        super().__init__(f"no schedule {schedule!r} is configured")


class NoSuchOverride(LookupError):
    """An override that does not exist (for that schedule) or is already deleted."""


def validate(request: OverrideRequest, config: Config, now: int) -> None:
    """Raises UnknownSchedule, or OverrideRejected listing every problem."""
    if not any(s.name == request.schedule for s in config.schedules):
        raise UnknownSchedule(request.schedule)
    problems: list[tuple[str, str]] = []
    if request.kind not in KINDS:
        problems.append(("kind", f"must be replace or add, not {request.kind!r}"))
    problems += _user_problems(request.users, {u.name for u in config.users})
    if request.ends_at <= request.starts_at:
        problems.append(("end", "must be after start"))
    elif request.ends_at <= now:
        problems.append(("end", "must be in the future"))
    elif request.ends_at - request.starts_at > _MAX_LENGTH_MS:
        problems.append(("end", f"an override lasts at most {MAX_OVERRIDE_LENGTH.days} days"))
    if len(request.comment) > MAX_COMMENT_CHARS:
        problems.append(("comment", f"at most {MAX_COMMENT_CHARS} characters"))
    problems += _name_problems("created_by", request.created_by)
    if request.source not in SOURCES:
        problems.append(("source", f"must be one of {', '.join(SOURCES)}"))
    if problems:
        raise OverrideRejected(problems)


def _user_problems(users: Sequence[str], known: set[str]) -> list[tuple[str, str]]:
    if not users:
        return [("users", "name at least one user")]
    problems = []
    seen: set[str] = set()
    for index, user in enumerate(users):
        if user in seen:
            problems.append((f"users[{index}]", f"{user!r} is listed twice"))
        elif user not in known:
            problems.append((f"users[{index}]", f"unknown user {user!r}"))
        seen.add(user)
    return problems


def _name_problems(field: str, name: str) -> list[tuple[str, str]]:
    if not name.strip():
        return [(field, "must name who did it")]
    if len(name) > MAX_NAME_CHARS:
        return [(field, f"at most {MAX_NAME_CHARS} characters")]
    return []


def create(
    conn: sa.Connection, request: OverrideRequest, config: Config, now: int
) -> StoredOverride:
    """Validates and stores an override, on the audit trail. Raises UnknownSchedule or
    OverrideRejected (then nothing is written)."""
    validate(request, config, now)
    values: dict[str, Any] = {
        "schedule": request.schedule,
        "kind": request.kind,
        "users": list(request.users),
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "comment": request.comment,
        "created_at": now,
        "created_by": request.created_by,
        "source": request.source,
    }
    result = conn.execute(sa.insert(schedule_overrides).values(values))
    (override_id,) = result.inserted_primary_key or (None,)
    stored = StoredOverride(
        id=int(override_id),
        **{**values, "users": request.users},
        deleted_at=None,
        deleted_by=None,
    )
    _audit(conn, stored, EVENT_CREATED, stored.created_by, stored.source, now)
    _bump_revision(conn, stored.schedule)
    return stored


def delete(
    conn: sa.Connection, schedule: str, override_id: int, deleted_by: str, source: str, now: int
) -> StoredOverride:
    """Marks an override deleted, on the audit trail. Raises OverrideRejected (deleted_by,
    source) or NoSuchOverride (unknown, another schedule's, or already deleted)."""
    problems = _name_problems("deleted_by", deleted_by)
    if source not in SOURCES:
        problems.append(("source", f"must be one of {', '.join(SOURCES)}"))
    if problems:
        raise OverrideRejected(problems)
    # One statement decides, so of two replicas deleting at once exactly one succeeds.
    updated = conn.execute(
        sa.update(schedule_overrides)
        .where(
            schedule_overrides.c.id == override_id,
            schedule_overrides.c.schedule == schedule,
            schedule_overrides.c.deleted_at.is_(None),
        )
        .values(deleted_at=now, deleted_by=deleted_by)
    )
    current = get(conn, override_id)
    if updated.rowcount != 1 or current is None:
        raise NoSuchOverride(_why_not_deletable(current, schedule, override_id))
    _audit(conn, current, EVENT_DELETED, deleted_by, source, now)
    _bump_revision(conn, schedule)
    return current


def _why_not_deletable(current: StoredOverride | None, schedule: str, override_id: int) -> str:
    if current is None or current.schedule != schedule:
        return f"schedule {schedule!r} has no override {override_id}"
    return (
        f"override {override_id} of schedule {schedule!r} was already deleted "
        f"by {current.deleted_by}"
    )


def get(conn: sa.Connection, override_id: int) -> StoredOverride | None:
    row = conn.execute(
        sa.select(schedule_overrides).where(schedule_overrides.c.id == override_id)
    ).first()
    return _from_row(row._mapping) if row is not None else None


def list_overrides(
    conn: sa.Connection,
    schedule: str,
    start: int,
    end: int,
    *,
    include_deleted: bool = False,
) -> list[StoredOverride]:
    """The schedule's overrides that overlap [start, end), by start time, then creation."""
    query = sa.select(schedule_overrides).where(
        schedule_overrides.c.schedule == schedule,
        schedule_overrides.c.starts_at < end,
        schedule_overrides.c.ends_at > start,
    )
    if not include_deleted:
        query = query.where(schedule_overrides.c.deleted_at.is_(None))
    query = query.order_by(schedule_overrides.c.starts_at, schedule_overrides.c.id)
    return [_from_row(row._mapping) for row in conn.execute(query)]


def _audit(
    conn: sa.Connection, override: StoredOverride, kind: str, actor: str, source: str, now: int
) -> None:
    detail = {
        "override": override.id,
        "kind": override.kind,
        "users": list(override.users),
        "starts_at": override.starts_at,
        "ends_at": override.ends_at,
        "comment": override.comment,
    }
    conn.execute(
        sa.insert(schedule_events).values(
            schedule=override.schedule,
            at=now,
            kind=kind,
            actor=actor,
            source=source,
            detail=detail,
        )
    )


def _from_row(row: sa.RowMapping) -> StoredOverride:
    return StoredOverride(
        id=int(row["id"]),
        schedule=row["schedule"],
        kind=row["kind"],
        users=tuple(row["users"]),
        starts_at=int(row["starts_at"]),
        ends_at=int(row["ends_at"]),
        comment=row["comment"],
        created_at=int(row["created_at"]),
        created_by=row["created_by"],
        source=row["source"],
        deleted_at=None if row["deleted_at"] is None else int(row["deleted_at"]),
        deleted_by=row["deleted_by"],
    )


def _bump_revision(conn: sa.Connection, schedule: str) -> None:
    """One statement, so that two replicas changing the same schedule's overrides at once both
    count (the second waits for the first's row lock on PostgreSQL)."""
    insert = (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(
        schedule_revisions
    ).values(schedule=schedule, revision=1)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[schedule_revisions.c.schedule],
            set_={"revision": schedule_revisions.c.revision + 1},
        )
    )
