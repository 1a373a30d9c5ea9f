"""The migrations produce exactly the models' schema, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from alertrouter.delivery import outbox as outbox_store
from alertrouter.delivery import streams
from alertrouter.storage import migrate
from alertrouter.storage.database import Database, open_database
from alertrouter.storage.schema import metadata
from alertrouter.storage.tables import incidents


async def upgraded_from(
    database_url: str, revision: str, fill: Callable[[sa.Connection], None]
) -> Database:
    """A database migrated to `revision`, given rows by `fill`, then migrated to the head (the
    caller disposes of it)."""
    await asyncio.to_thread(migrate.upgrade, database_url, revision)
    db = open_database(database_url)
    try:
        await db.run_write(fill)
    finally:
        await db.dispose()
    await asyncio.to_thread(migrate.upgrade, database_url)
    return open_database(database_url)


async def test_migrations_produce_the_models_schema(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = open_database(database_url)
    try:
        async with db.read() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert diffs == []
        assert await migrate.is_current(db)
    finally:
        await db.dispose()


async def test_upgrade_is_idempotent(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = open_database(database_url)
    try:
        async with db.read() as conn:
            assert await migrate.current_revision(conn) == migrate.head_revision(database_url)
    finally:
        await db.dispose()


async def test_the_claim_checks_stream_order_on_the_pending_stream_index(tmp_path):
    """Through any other index the check is quadratic in the backlog (about 500 ms a claim at
    1,850 pending rows, and delivery fell ever further behind): SQLite must plan it on
    ix_outbox_pending_stream."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)
    try:
        query = streams.candidates_query(now=1_795_000_000_000, limit=200)
        sql = str(query.compile(db.reader, compile_kwargs={"literal_binds": True}))
        async with db.read() as conn:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()
        details = [row[-1] for row in plan]
        assert any("ix_outbox_pending_stream" in d and "stream=?" in d for d in details), details
    finally:
        await db.dispose()


async def test_0005_indexes_the_incidents_that_exist_already(database_url):
    """Upgrading a database with history: the label index and search text are backfilled, so
    label filters and text search find old incidents too."""
    from alertrouter.history.queries import HistoryFilter, search
    from alertrouter.matchers import parse_matchers

    def fill(conn: sa.Connection) -> None:
        conn.execute(
            sa.text(
                "INSERT INTO alerts (fingerprint, labels, annotations, generator_url, severity,"
                " starts_at, updated_at) VALUES ('f1', :labels, :annotations, '', 0, 1, 1)"
            ),
            {
                "labels": '{"alertname": "DiskFull", "service": "db"}',
                "annotations": '{"summary": "Disk 95% full"}',
            },
        )
        conn.execute(
            sa.text(
                "INSERT INTO incidents (group_key, route_key, receiver, title, severity,"
                " status, group_labels, opened_at, updated_at) VALUES"
                " ('g', 'r', 'team', 'DiskFull: Disk 95% full', 0, 'triggered', '{}', 5, 5)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO incident_alerts (incident_id, fingerprint, state,"
                " first_seen_at, updated_at) VALUES (1, 'f1', 'firing', 5, 5)"
            )
        )

    db = await upgraded_from(database_url, "0004", fill)
    try:
        async with db.read() as conn:
            by_label = await search(
                conn, HistoryFilter(matchers=tuple(parse_matchers('service="db"'))), limit=5
            )
            by_text = await search(conn, HistoryFilter(text="95% FULL"), limit=5)
            other = await search(
                conn, HistoryFilter(matchers=tuple(parse_matchers('service="web"'))), limit=5
            )
        assert [i["id"] for i in by_label.incidents] == [1] and by_label.total == 1
        assert [i["id"] for i in by_text.incidents] == [1]
        assert other.total == 0
    finally:
        await db.dispose()


async def test_0007_backfills_the_first_acknowledgement_from_the_timeline(database_url):
    """Upgrading a database with history: an incident acknowledged, un-acknowledged and
    acknowledged again gets its first acknowledgement's time (acknowledged_at holds the
    latest); one with no acknowledgement on its timeline keeps its acknowledged_at; one never
    acknowledged stays without."""

    def fill(conn: sa.Connection) -> None:
        for key, status, acknowledged_at in (
            ("again", "acknowledged", 3000),
            ("untold", "acknowledged", 4000),
            ("never", "triggered", None),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO incidents (group_key, route_key, receiver, title, severity,"
                    " status, group_labels, opened_at, acknowledged_at, updated_at) VALUES"
                    " (:key, 'r', 'team', 't', 0, :status, '{}', 5, :ack, 5)"
                ),
                {"key": key, "status": status, "ack": acknowledged_at},
            )
        for at, kind in (
            (1000, "incident_opened"),
            (2000, "incident_acknowledged"),
            (2500, "incident_unacknowledged"),
            (3000, "incident_acknowledged"),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO timeline_events (incident_id, at, kind, actor, source, detail)"
                    " VALUES (1, :at, :kind, 'alice', 'api', '{}')"
                ),
                {"at": at, "kind": kind},
            )

    db = await upgraded_from(database_url, "0006", fill)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                sa.select(incidents.c.group_key, incidents.c.first_acknowledged_at)
            )
            assert dict(rows.all()) == {"again": 2000, "untold": 4000, "never": None}
    finally:
        await db.dispose()


async def test_0009_keeps_the_queue_and_takes_messages_about_no_incident(database_url):
    """The outbox is rebuilt on SQLite: the queued rows stay, and rows without an incident
    (hand-off notices, Slack user group updates) are accepted."""

    def fill(conn: sa.Connection) -> None:
        conn.execute(
            sa.text(
                "INSERT INTO incidents (group_key, route_key, receiver, title, severity,"
                " status, group_labels, opened_at, updated_at) VALUES"
                " ('g', 'r', 'team', 't', 0, 'triggered', '{}', 5, 5)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO outbox (incident_id, receiver, integration, stream, op, reason,"
                " body, status, attempts, created_at, next_attempt_at, deadline_at, updated_at)"
                " VALUES (1, 'team', 'slack:0', '1/slack:0/team', 'message', 'first', '{}',"
                " 'pending', 0, 5, 5, 99, 5)"
            )
        )

    db = await upgraded_from(database_url, "0008", fill)
    try:
        message = outbox_store.NewMessage(
            incident_id=None, topic="schedule:payments", receiver="schedule:payments",
            integration="slack:0", op="usergroup", reason="handoff",
            body={"usergroup": "S1", "users": ["U1"]}, rate_key=None,
        )  # fmt: skip
        await db.run_write(lambda conn: outbox_store.enqueue(db, conn, [(message, 99)], 6))
        async with db.read() as conn:
            rows = (await conn.execute(sa.text("SELECT incident_id, stream FROM outbox"))).all()
        assert sorted(rows, key=str) == sorted(
            [(1, "1/slack:0/team"), (None, "schedule:payments/slack:0/schedule:payments")], key=str
        )
    finally:
        await db.dispose()


async def test_0011_flags_the_head_of_each_queued_stream(database_url):
    """Rows queued before the upgrade are claimed through the stream heads too: the earliest
    pending row of each stream is flagged, and no other."""

    def fill(conn: sa.Connection) -> None:
        for status, stream in [
            ("sent", "a"), ("pending", "a"), ("pending", "a"), ("dead", "b"), ("pending", "b"),
            ("pending", "c"),
        ]:  # fmt: skip
            conn.execute(
                sa.text(
                    "INSERT INTO outbox (incident_id, receiver, integration, stream, op, reason,"
                    " body, status, attempts, created_at, next_attempt_at, deadline_at,"
                    " updated_at) VALUES (NULL, 'team', 'webhook:0', :stream, 'post', 'first',"
                    " '{}', :status, 0, 5, 5, 99, 5)"
                ),
                {"stream": stream, "status": status},
            )

    db = await upgraded_from(database_url, "0010", fill)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                sa.text("SELECT id FROM outbox WHERE stream_head ORDER BY id")
            )
            assert rows.scalars().all() == [2, 5, 6]
    finally:
        await db.dispose()


async def test_0012_keeps_occurrences_and_memberships_and_drops_their_foreign_keys(database_url):
    """The tables lose their foreign keys (rebuilt on SQLite) with every row they held."""

    def fill(conn: sa.Connection) -> None:
        conn.execute(
            sa.text(
                "INSERT INTO alerts (id, fingerprint, labels, annotations, severity, starts_at,"
                " updated_at) VALUES (7, 'f7', '{}', '{}', 2, 5, 5)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO groups (key, route_key, receiver, labels, created_at, group_wait_ms,"
                " group_interval_ms, repeat_interval_ms) VALUES ('g', 'r', 'team', '{}', 5, 1, 1,"
                " 1)"
            )
        )
        conn.execute(sa.text("INSERT INTO alert_occurrences (alert_id, starts_at) VALUES (7, 5)"))
        conn.execute(sa.text("INSERT INTO group_alerts (group_key, alert_id) VALUES ('g', 7)"))

    db = await upgraded_from(database_url, "0011", fill)
    try:
        async with db.read() as conn:
            occurrences = await conn.execute(sa.text("SELECT alert_id FROM alert_occurrences"))
            assert occurrences.scalars().all() == [7]
            members = await conn.execute(sa.text("SELECT group_key, alert_id FROM group_alerts"))
            assert members.all() == [("g", 7)]
            foreign_keys = await conn.run_sync(
                lambda sync: [
                    key
                    for table in ("alert_occurrences", "group_alerts")
                    for key in sa.inspect(sync).get_foreign_keys(table)
                ]
            )
            assert foreign_keys == []
    finally:
        await db.dispose()


async def test_0013_keys_occurrences_by_alert_and_start(database_url):
    def fill(conn: sa.Connection) -> None:
        for alert, start, end in [(7, 5, 9), (7, 10, None), (8, 5, None)]:
            conn.execute(
                sa.text(
                    "INSERT INTO alert_occurrences (alert_id, starts_at, ends_at)"
                    " VALUES (:alert, :start, :end)"
                ),
                {"alert": alert, "start": start, "end": end},
            )

    db = await upgraded_from(database_url, "0012", fill)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                sa.text("SELECT alert_id, starts_at, ends_at FROM alert_occurrences ORDER BY 1, 2")
            )
            assert rows.all() == [(7, 5, 9), (7, 10, None), (8, 5, None)]
            key = await conn.run_sync(
                lambda sync: sa.inspect(sync).get_pk_constraint("alert_occurrences")
            )
            assert key["constrained_columns"] == ["alert_id", "starts_at"]
    finally:
        await db.dispose()


async def test_0016_adds_the_replicas_table_and_takes_it_back(database_url):
    await asyncio.to_thread(migrate.upgrade, database_url)
    config = migrate.alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0015")
    db = open_database(database_url)
    try:
        async with db.read() as conn:
            names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            assert "replicas" not in names and "heartbeats" in names
    finally:
        await db.dispose()
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = open_database(database_url)
    try:
        assert await migrate.is_current(db)
    finally:
        await db.dispose()
