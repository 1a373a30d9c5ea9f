"""The override store on both databases: create, list by window, soft delete, the audit trail,
and every way an override can be refused with nothing written."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import sqlalchemy as sa

from alertrouter.people import override_store
from alertrouter.people.override_store import (
    MAX_OVERRIDE_LENGTH,
    NoSuchOverride,
    OverrideRejected,
    OverrideRequest,
    StoredOverride,
    UnknownSchedule,
)
from alertrouter.storage import migrate
from alertrouter.storage.database import open_database
from alertrouter.storage.people_tables import schedule_events, schedule_overrides
from tests.conftest import load_text
from tests.integration.schedule_config import NOW, PEOPLE

HOUR = 3_600_000
CONFIG = load_text(PEOPLE).config
COVER = OverrideRequest(
    schedule="payments",
    kind="replace",
    users=("bob",),
    starts_at=NOW,
    ends_at=NOW + 8 * HOUR,
    comment="carol is at the dentist",
    created_by="carol",
    source="api",
)


@pytest.fixture
async def db(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)
    database = open_database(database_url)
    yield database
    await database.dispose()


async def create(db, request=COVER, now=NOW) -> StoredOverride:
    return await db.run_write(lambda conn: override_store.create(conn, request, CONFIG, now))


async def listed(db, schedule="payments", start=NOW - 100 * HOUR, end=NOW + 100 * HOUR, **kw):
    async with db.read() as conn:
        return await conn.run_sync(
            lambda c: override_store.list_overrides(c, schedule, start, end, **kw)
        )


async def rows(db, table):
    async with db.read() as conn:
        result = await conn.execute(sa.select(table).order_by(table.c.id))
        return [dict(row._mapping) for row in result]


async def test_create_stores_the_override_and_audits_it(db):
    stored = await create(db)
    assert stored == StoredOverride(
        id=stored.id,
        schedule="payments",
        kind="replace",
        users=("bob",),
        starts_at=NOW,
        ends_at=NOW + 8 * HOUR,
        comment="carol is at the dentist",
        created_at=NOW,
        created_by="carol",
        source="api",
        deleted_at=None,
        deleted_by=None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.users = ("alice",)  # type: ignore[misc]
    assert await listed(db) == [stored]
    (event,) = await rows(db, schedule_events)
    assert {k: v for k, v in event.items() if k != "id"} == {
        "schedule": "payments",
        "at": NOW,
        "kind": "override_created",
        "actor": "carol",
        "source": "api",
        "detail": {
            "override": stored.id,
            "kind": "replace",
            "users": ["bob"],
            "starts_at": NOW,
            "ends_at": NOW + 8 * HOUR,
            "comment": "carol is at the dentist",
        },
    }


async def test_list_returns_what_overlaps_the_window_of_that_schedule(db):
    early = await create(
        db, dataclasses.replace(COVER, starts_at=NOW - 10 * HOUR, ends_at=NOW), now=NOW - 20 * HOUR
    )
    later = await create(db, dataclasses.replace(COVER, starts_at=NOW + 5 * HOUR, kind="add"))
    infra = await create(db, dataclasses.replace(COVER, schedule="infra", users=("erin",)))
    assert await listed(db) == [early, later]
    assert await listed(db, "infra") == [infra]
    # [start, end): the early one ends where the window starts, the later one starts at its end
    assert await listed(db, start=NOW, end=NOW + 5 * HOUR) == []
    assert await listed(db, start=NOW - 1, end=NOW + 5 * HOUR + 1) == [early, later]
    assert await listed(db, "nobody-schedule") == []


async def test_delete_is_soft_audited_and_once(db):
    stored = await create(db)
    later = NOW + HOUR
    deleted = await db.run_write(
        lambda conn: override_store.delete(conn, "payments", stored.id, "dave", "cli", later)
    )
    assert deleted == dataclasses.replace(stored, deleted_at=later, deleted_by="dave")
    assert await listed(db) == []
    assert await listed(db, include_deleted=True) == [deleted]
    events = await rows(db, schedule_events)
    assert [(e["kind"], e["actor"], e["source"], e["at"]) for e in events] == [
        ("override_created", "carol", "api", NOW),
        ("override_deleted", "dave", "cli", later),
    ]
    assert events[1]["detail"]["override"] == stored.id

    with pytest.raises(NoSuchOverride, match=f"override {stored.id} .* already deleted by dave"):
        await db.run_write(
            lambda conn: override_store.delete(conn, "payments", stored.id, "erin", "api", later)
        )
    for schedule, override_id in (("payments", stored.id + 100), ("infra", stored.id)):
        with pytest.raises(NoSuchOverride, match=f"schedule '{schedule}' has no override"):
            await db.run_write(
                lambda conn, s=schedule, i=override_id: override_store.delete(
                    conn, s, i, "erin", "api", later
                )
            )
    assert len(await rows(db, schedule_events)) == 2
    (row,) = await rows(db, schedule_overrides)
    assert (row["deleted_at"], row["deleted_by"]) == (later, "dave")


async def test_two_replicas_deleting_at_once_delete_once(db, database_url):
    stored = await create(db)
    other = open_database(database_url)
    try:
        outcomes = await asyncio.gather(
            *(
                replica.run_write(
                    lambda conn, who=who: override_store.delete(
                        conn, "payments", stored.id, who, "api", NOW + 1
                    )
                )
                for replica, who in ((db, "alice"), (other, "bob"))
            ),
            return_exceptions=True,
        )
    finally:
        await other.dispose()
    assert sorted(type(o).__name__ for o in outcomes) == ["NoSuchOverride", "StoredOverride"]
    deletions = [e for e in await rows(db, schedule_events) if e["kind"] == "override_deleted"]
    assert len(deletions) == 1


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        ({"kind": "swap"}, [("kind", "must be replace or add, not 'swap'")]),
        ({"users": ()}, [("users", "name at least one user")]),
        ({"users": ("bob", "zed")}, [("users[1]", "unknown user 'zed'")]),
        ({"users": ("bob", "alice", "bob")}, [("users[2]", "'bob' is listed twice")]),
        ({"ends_at": NOW}, [("end", "must be after start")]),
        ({"starts_at": NOW + HOUR, "ends_at": NOW}, [("end", "must be after start")]),
        (
            {"starts_at": NOW - 10 * HOUR, "ends_at": NOW - HOUR},
            [("end", "must be in the future")],
        ),
        (
            {"ends_at": NOW + int(MAX_OVERRIDE_LENGTH.total_seconds() * 1000) + 1},
            [("end", "an override lasts at most 90 days")],
        ),
        ({"comment": "x" * 10_001}, [("comment", "at most 10000 characters")]),
        ({"created_by": "  "}, [("created_by", "must name who did it")]),
        ({"created_by": "x" * 256}, [("created_by", "at most 255 characters")]),
        ({"source": "email"}, [("source", "must be one of api, cli, web")]),
        (
            {"kind": "", "users": ("zed",), "created_by": ""},
            [
                ("kind", "must be replace or add, not ''"),
                ("users[0]", "unknown user 'zed'"),
                ("created_by", "must name who did it"),
            ],
        ),
    ],
)
async def test_a_refused_override_names_each_field_and_writes_nothing(db, change, problems):
    with pytest.raises(OverrideRejected) as caught:
        await create(db, dataclasses.replace(COVER, **change))
    assert list(caught.value.problems) == problems
    assert str(caught.value) == "; ".join(f"{f}: {p}" for f, p in problems)
    assert await rows(db, schedule_overrides) == []
    assert await rows(db, schedule_events) == []


async def test_bounds_are_inclusive_where_they_should_be(db):
    longest = int(MAX_OVERRIDE_LENGTH.total_seconds() * 1000)
    started = dataclasses.replace(COVER, starts_at=NOW - HOUR, ends_at=NOW - HOUR + longest)
    assert (await create(db, started)).ends_at == NOW - HOUR + longest
    assert (await create(db, dataclasses.replace(COVER, ends_at=NOW + 1))).ends_at == NOW + 1


async def test_unknown_schedule_and_bad_deleter_write_nothing(db):
    with pytest.raises(UnknownSchedule, match="no schedule 'billing' is configured"):
        await create(db, dataclasses.replace(COVER, schedule="billing"))
    stored = await create(db)
    for deleted_by, source, problem in (
        ("", "api", "deleted_by: must name who did it"),
        ("dave", "fax", "source: must be one of api, cli, web"),
    ):
        with pytest.raises(OverrideRejected, match=problem):
            await db.run_write(
                lambda conn, by=deleted_by, via=source: override_store.delete(
                    conn, "payments", stored.id, by, via, NOW
                )
            )
    assert [e["kind"] for e in await rows(db, schedule_events)] == ["override_created"]
    assert await listed(db) == [stored]
