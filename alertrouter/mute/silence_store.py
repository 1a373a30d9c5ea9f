"""The silence store: creating, expiring and reading silences in the database."""

from __future__ import annotations

import uuid
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.values import InputError
from alertrouter.mute.silences import (
    Silence,
    can_update,
    matcher_from_json,
    matcher_to_json,
    validate_new,
)
from alertrouter.storage.tables import silences


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


class SilenceNotFound(LookupError):
    """An update names a silence that does not exist."""


def put(conn: sa.Connection, silence: Silence, now: int) -> Silence:
    """Alertmanager's Silences.Set: a silence without an id is created; one with the id of a
    silence that can take the change in place (silences.can_update) updates it; otherwise the
    old one is expired (unless it already is) and a new one, with a new id, is created.
    Raises SilenceNotFound for an unknown id, InputError for an invalid silence; nothing is
    written then. The current row is locked (PostgreSQL) so that concurrent changes of one
    silence run one after the other."""
    if not silence.id:
        return create(conn, replace(silence, starts_at=max(silence.starts_at, now)), now)
    row = conn.execute(
        sa.select(silences).where(silences.c.id == silence.id).with_for_update()
    ).first()
    if row is None:
        raise SilenceNotFound(silence.id)
    current = _from_row(row._mapping)
    if can_update(current, silence, now):
        validate_new(silence, now)
        updated = replace(silence, created_at=current.created_at, updated_at=now)
        values = {k: v for k, v in _row(updated).items() if k not in ("id", "created_at")}
        conn.execute(sa.update(silences).where(silences.c.id == silence.id).values(values))
        return updated
    fresh = replace(silence, id="", starts_at=max(silence.starts_at, now))
    validate_new(fresh, now)
    if current.state(now) != "expired":
        expire(conn, current.id, now)
    return create(conn, fresh, now)


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
