"""Silences: Alertmanager's semantics (matchers over labels, active between start and end),
validated as Alertmanager's API validates them, stored in the database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.values import InputError, Labels
from alertrouter.matchers import Matcher, MatcherParseError, MatchType
from alertrouter.storage.tables import silences

SilenceState = Literal["pending", "active", "expired"]


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: int
    ends_at: int
    created_by: str
    comment: str
    created_at: int = 0
    updated_at: int = 0

    def state(self, now: int) -> SilenceState:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Labels, now: int) -> bool:
        return self.state(now) == "active" and all(m.matches(labels) for m in self.matchers)


def matcher_to_json(m: Matcher) -> dict[str, object]:
    """Alertmanager's API v2 matcher object."""
    return {
        "name": m.name,
        "value": m.value,
        "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
        "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX),
    }


def matcher_from_json(data: dict[str, object]) -> Matcher:
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not isinstance(value, str):
        raise InputError("a matcher needs a string 'name' and 'value'")
    is_regex, is_equal = bool(data.get("isRegex", False)), bool(data.get("isEqual", True))
    kind = {
        (False, True): MatchType.EQUAL,
        (False, False): MatchType.NOT_EQUAL,
        (True, True): MatchType.REGEX,
        (True, False): MatchType.NOT_REGEX,
    }[(is_regex, is_equal)]
    try:
        return Matcher.create(name, kind, value)
    except MatcherParseError as exc:
        raise InputError(f"invalid matcher {name!r}: {exc}") from None


def validate_new(silence: Silence, now: int) -> None:
    """Alertmanager's checks for a silence about to be created; raises InputError."""
    if not silence.matchers:
        raise InputError("at least one matcher is required")
    if all(m.matches({}) for m in silence.matchers):
        raise InputError("at least one matcher must not match the empty string")
    if silence.ends_at <= silence.starts_at:
        raise InputError("end time must be after start time")
    if silence.ends_at <= now:
        raise InputError("end time can't be in the past")
    if not silence.created_by.strip():
        raise InputError("createdBy is required")
    if not silence.comment.strip():
        raise InputError("comment is required")


def create(conn: sa.Connection, silence: Silence, now: int) -> Silence:
    validate_new(silence, now)
    stored = replace(silence, id=str(uuid.uuid4()), created_at=now, updated_at=now)
    conn.execute(sa.insert(silences).values(_row(stored)))
    return stored


def expire(conn: sa.Connection, silence_id: str, now: int) -> Silence | None:
    """Ends a silence now (a pending one never starts). None if unknown; InputError if it has
    already expired."""
    current = get(conn, silence_id)
    if current is None:
        return None
    if current.state(now) == "expired":
        raise InputError(f"silence {silence_id} already expired")
    expired = replace(current, starts_at=min(current.starts_at, now), ends_at=now, updated_at=now)
    conn.execute(
        sa.update(silences)
        .where(silences.c.id == silence_id)
        .values(starts_at=expired.starts_at, ends_at=expired.ends_at, updated_at=now)
    )
    return expired


def get(conn: sa.Connection, silence_id: str) -> Silence | None:
    row = (conn.execute(sa.select(silences).where(silences.c.id == silence_id))).first()
    return _from_row(row._mapping) if row is not None else None


async def list_all(conn: AsyncConnection) -> list[Silence]:
    result = await conn.execute(sa.select(silences).order_by(silences.c.created_at.desc()))
    return [_from_row(row._mapping) for row in result]


async def active(conn: AsyncConnection, now: int) -> list[Silence]:
    result = await conn.execute(
        sa.select(silences).where(silences.c.starts_at <= now, silences.c.ends_at > now)
    )
    return [_from_row(row._mapping) for row in result]


async def count_active(conn: AsyncConnection, now: int) -> int:
    result = await conn.execute(
        sa.select(sa.func.count())
        .select_from(silences)
        .where(silences.c.starts_at <= now, silences.c.ends_at > now)
    )
    return int(result.scalar() or 0)


def first_muting(candidates: Sequence[Silence], labels: Labels, now: int) -> Silence | None:
    for silence in candidates:
        if silence.mutes(labels, now):
            return silence
    return None


def _row(s: Silence) -> dict[str, object]:
    return {
        "id": s.id,
        "matchers": [matcher_to_json(m) for m in s.matchers],
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "created_by": s.created_by,
        "comment": s.comment,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _from_row(row: sa.RowMapping) -> Silence:
    return Silence(
        id=row["id"],
        matchers=tuple(matcher_from_json(m) for m in row["matchers"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        created_by=row["created_by"],
        comment=row["comment"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
