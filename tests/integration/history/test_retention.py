"""History retention on both databases: incidents made through ingest, flush and delivery at given
instants (fake clock), then pruned; what goes, what stays, in how many transactions."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from alertrouter.app import Service
from alertrouter.cli.main import main
from alertrouter.core.values import ConfigError
from alertrouter.engine.scheduler import Scheduler
from alertrouter.history import retention
from alertrouter.storage.database import open_database
from alertrouter.storage.tables import (
    alert_occurrences,
    alerts,
    delivery_threads,
    escalations,
    incident_alerts,
    incident_labels,
    incidents,
    outbox,
    timeline_events,
)
from tests.conftest import load_text
from tests.fakes.http import FakeHTTPServer
from tests.integration.conftest import FakeClock, eventually
from tests.integration.helpers import post
from tests.payloads import alert, payload

DAY_S = 24 * 3600
CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: {repeat}
receivers:
  - name: team
    webhook_configs:
      - url: {hook}/hook
        send_resolved: true
"""
HISTORY = """
history:
  retention: {retention}
  prune_batch: {batch}
"""
CHILDREN = (timeline_events, incident_labels, incident_alerts, escalations, outbox)


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class World:
    """One alertrouter, its clock, and the start of each alert it was sent."""

    service: Service
    client: TestClient
    clock: FakeClock
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def db(self) -> Any:
        assert self.service.db is not None
        return self.service.db

    async def fire(self, *names: str, instance: str = "a", deliver: bool = True) -> None:
        for name in names:
            self.starts[f"{name}/{instance}"] = self.clock()
        body = [
            alert(alertname=n, instance=instance, starts=iso(self.starts[f"{n}/{instance}"]))
            for n in names
        ]
        await post(self.client, payload(*body))
        await self.step(deliver)

    async def resolve(self, *names: str, instance: str = "a", deliver: bool = True) -> None:
        self.clock.advance(61)  # past the groups' next flush slot (group_interval 1m)
        body = [
            alert(
                "resolved",
                alertname=n,
                instance=instance,
                starts=iso(self.starts[f"{n}/{instance}"]),
                ends=iso(self.clock()),
            )
            for n in names
        ]
        await post(self.client, payload(*body))
        await self.step(deliver)

    async def step(self, deliver: bool = True) -> None:
        assert self.service.pipeline is not None and self.service.delivery is not None
        await self.service.pipeline.flush_due(self.clock(), 1000)
        if deliver:
            await self.service.delivery.deliver_due()

    async def prune(self) -> list[retention.Pruned]:
        """Scheduler passes until one finishes."""
        assert self.service.scheduler is not None
        passes = []
        while True:
            pruned = await self.service.scheduler.prune()
            assert pruned is not None
            passes.append(pruned)
            if pruned.finished:
                return passes

    async def incident_of(self) -> dict[str, int]:
        """alertname -> id of its group's latest incident."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(incidents.c.id, incidents.c.group_labels).order_by(incidents.c.id)
            )
            return {row.group_labels["alertname"]: row.id for row in rows}

    async def rows(self, table: sa.Table, *columns: sa.ColumnElement[Any]) -> list[tuple[Any, ...]]:
        async with self.db.read() as conn:
            result = await conn.execute(sa.select(*columns).select_from(table))
            return sorted(tuple(row) for row in result)

    async def per_incident(self) -> dict[str, Counter[int]]:
        counts = {}
        for table in CHILDREN:
            ids = await self.rows(table, table.c.incident_id)
            counts[table.name] = Counter(i for (i,) in ids)
        return counts


MakeWorld = Callable[..., Awaitable[World]]


@pytest.fixture
async def make_world(database_url, start_server, hook: FakeHTTPServer) -> AsyncIterator[MakeWorld]:
    async def make(retention: str | None = "30d", batch: int = 500, repeat: str = "4h") -> World:
        clock = FakeClock()
        body = CONFIG.format(hook=hook.url, repeat=repeat)
        if retention is not None:
            body += HISTORY.format(retention=retention, batch=batch)
        service, client = await start_server(database_url, body, clock=clock, run_scheduler=False)
        return World(service, client, clock)

    yield make


async def old_and_new(world: World) -> dict[str, int]:
    """Ten incidents resolved 30 days and an hour ago, one opened then and still open, one
    opened and resolved just now; returns each one's incident id by alertname."""
    old = [f"Old{i}" for i in range(10)]
    await world.fire(*old, "Open")
    await world.resolve(*old)
    world.clock.advance(30 * DAY_S + 3600)
    await world.fire("Recent")  # the open group's repeat notification goes out too
    await world.resolve("Recent")
    return await world.incident_of()


async def test_old_resolved_incidents_go_with_their_rows_the_rest_stays(make_world):
    world = await make_world(batch=3)
    ids = await old_and_new(world)
    kept = {ids["Open"], ids["Recent"]}
    before = await world.per_incident()
    outbox_before = await world.rows(outbox, outbox.c.incident_id, outbox.c.id, outbox.c.updated_at)
    assert all(before[t.name][i] for t in (timeline_events, incident_alerts) for i in ids.values())
    assert all(before["outbox"][i] for i in ids.values())

    passes = await world.prune()

    assert {i for (i,) in await world.rows(incidents, incidents.c.id)} == kept
    after = await world.per_incident()
    for table in (timeline_events, incident_labels, incident_alerts, escalations):
        assert after[table.name] == +Counter({i: before[table.name][i] for i in kept}), table.name
    # Messages: the open incident's older than the cutoff went; the repeat sent just now stays.
    cutoff = world.clock() - 30 * DAY_S * 1000
    expected = [(i, row_id, at) for i, row_id, at in outbox_before if i in kept and at >= cutoff]
    assert await world.rows(outbox, outbox.c.incident_id, outbox.c.id, outbox.c.updated_at) == (
        expected
    )
    assert {i for i, _, at in outbox_before if i == ids["Open"] and at < cutoff}
    assert {i for i, _, _ in expected} == kept
    # The old alerts are gone with their occurrences; the open and the recent one stay.
    async with world.db.read() as conn:
        names = {row.labels["alertname"] for row in await conn.execute(sa.select(alerts))}
    assert names == {"Open", "Recent"}
    assert len(await world.rows(alert_occurrences, alert_occurrences.c.starts_at)) == 2
    streams = [s for (s,) in await world.rows(delivery_threads, delivery_threads.c.stream)]
    assert all(int(s.split("/")[0]) in kept for s in streams)

    deleted = sum((p.deleted for p in passes), Counter())
    assert deleted["incidents"] == 10 and deleted["alerts"] == 10
    assert deleted["alert_occurrences"] == 10
    metrics = await (await world.client.get("/metrics")).text()
    assert 'alertrouter_history_pruned_total{kind="incidents"} 10.0' in metrics
    assert 'alertrouter_history_pruned_total{kind="alerts"} 10.0' in metrics

    assert (await world.prune())[0].deleted == Counter()  # nothing more


async def test_at_most_prune_batch_rows_per_transaction(make_world):
    world = await make_world()
    await old_and_new(world)
    batches: list[int] = []
    policy = retention.Retention(keep_ms=30 * DAY_S * 1000, batch=3)
    pruned = await retention.prune(
        world.db,
        policy,
        world.clock(),
        budget_s=60,
        on_batch=lambda deleted: batches.append(sum(deleted.values())),
    )
    assert pruned.finished
    assert max(batches) <= 3
    assert sum(batches) == sum(pruned.deleted.values()) > 10 * 5  # every child row, one by one
    assert len(batches) >= sum(batches) / 3
    assert pruned.deleted["incidents"] == 10


async def test_a_pass_out_of_time_resumes_and_ingest_goes_on_between(make_world):
    world = await make_world()
    ids = await old_and_new(world)
    policy = retention.Retention(keep_ms=30 * DAY_S * 1000, batch=3)
    first = await retention.prune(world.db, policy, world.clock(), budget_s=0)
    assert not first.finished and first.transactions == 1 and sum(first.deleted.values()) == 3

    await world.fire("Between1")  # ingest, flush and delivery between two batches
    passes = 1
    while not (await retention.prune(world.db, policy, world.clock(), budget_s=0)).finished:
        passes += 1
        if passes % 5 == 0:
            await world.fire(f"Between{passes}")
    assert passes > 10

    between = {f"Between{n}" for n in (1, *range(5, passes + 1, 5))}
    assert set(await world.incident_of()) == {"Open", "Recent", *between}
    assert len(await world.rows(incidents, incidents.c.id)) == 2 + len(between)
    assert {ids["Open"], ids["Recent"]} <= set((await world.incident_of()).values())


async def test_alerts_held_by_an_open_incident_stay_and_refired_alerts_lose_old_occurrences(
    make_world,
):
    world = await make_world()
    await world.fire("Database", instance="a")
    await world.fire("Database", instance="b")
    await world.resolve("Database", instance="a")  # the incident stays open: b fires
    await world.fire("Flappy")
    await world.resolve("Flappy")
    world.clock.advance(30 * DAY_S + 3600)
    await world.fire("Flappy")  # the same alert again: a new occurrence and a new incident

    await world.prune()

    async with world.db.read() as conn:
        rows = await conn.execute(
            sa.select(alerts.c.labels, alert_occurrences.c.starts_at).join(
                alert_occurrences, alert_occurrences.c.alert_id == alerts.c.id
            )
        )
        occurrences = sorted(
            (row.labels["alertname"], row.labels["instance"], row.starts_at) for row in rows
        )
    assert occurrences == [
        ("Database", "a", world.starts["Database/a"]),  # resolved long ago, still a member
        ("Database", "b", world.starts["Database/b"]),
        ("Flappy", "a", world.starts["Flappy/a"]),  # only the occurrence that fires now
    ]
    statuses = await world.rows(incidents, incidents.c.status)
    assert statuses == [("triggered",), ("triggered",)]


async def test_a_resolved_incident_with_a_message_pending_stays(make_world):
    world = await make_world()
    await world.fire("Undelivered", deliver=False)
    await world.resolve("Undelivered", deliver=False)
    world.clock.advance(30 * DAY_S + 3600)
    await world.prune()
    assert len(await world.rows(incidents, incidents.c.id)) == 1

    await world.step()  # the worker deals with them (here: past their deadline)
    await world.prune()
    assert await world.rows(incidents, incidents.c.id) == []
    assert await world.rows(outbox, outbox.c.id) == []


async def test_an_incident_is_kept_for_its_groups_repeat_interval(make_world):
    """A person's resolution holds the alerts back for repeat_interval: the flush reads it."""
    world = await make_world(retention="1h", repeat="4h")
    await world.fire("Short")
    await world.resolve("Short")
    world.clock.advance(2 * 3600)
    await world.prune()
    assert len(await world.rows(incidents, incidents.c.id)) == 1
    world.clock.advance(2 * 3600)
    await world.prune()
    assert await world.rows(incidents, incidents.c.id) == []


async def test_without_retention_nothing_is_pruned(make_world):
    world = await make_world(retention=None)
    await old_and_new(world)
    assert world.service.scheduler is not None
    assert await world.service.scheduler.prune() is None
    assert len(await world.rows(incidents, incidents.c.id)) == 12


async def test_two_pruners_at_once_delete_each_row_once(make_world, database_url):
    world = await make_world()
    await old_and_new(world)
    other = open_database(database_url)
    policy = retention.Retention(keep_ms=30 * DAY_S * 1000, batch=3)
    try:
        results = await asyncio.gather(
            retention.prune(world.db, policy, world.clock(), budget_s=60),
            retention.prune(other, policy, world.clock(), budget_s=60),
        )
    finally:
        await other.dispose()
    assert all(r.finished for r in results)
    deleted = results[0].deleted + results[1].deleted
    assert deleted["incidents"] == 10 and deleted["alerts"] == 10
    assert len(await world.rows(incidents, incidents.c.id)) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_scheduler_prunes_soon_after_start_and_outlives_a_failed_pass(
    make_world, database_url, caplog
):
    world = await make_world()
    await old_and_new(world)
    assert world.service.pipeline is not None
    scheduler = Scheduler(
        world.service.pipeline, world.clock, prune_first=0, prune_every=0.05, prune_budget=1
    )
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the write lock for a while
    scheduler.start()
    try:
        await eventually(lambda: _logged(caplog, "pruning the history failed"))
        blocker.rollback()

        async def pruned() -> bool:
            return len(await world.rows(incidents, incidents.c.id)) == 2

        await eventually(pruned)
    finally:
        blocker.close()
        await scheduler.stop()


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_plans_every_prune_statement_on_an_index(make_world, database_url):
    world = await make_world(batch=3)
    await old_and_new(world)
    statements: list[tuple[str, Any]] = []

    def record(_conn, _cursor, sql, parameters, _context, executemany) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "DELETE")):
            statements.append((sql, parameters[0] if executemany else parameters))

    writer = world.db.sync_writer
    sa.event.listen(writer, "before_cursor_execute", record)
    try:
        await world.prune()
    finally:
        sa.event.remove(writer, "before_cursor_execute", record)
    plans = set()
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        for sql, parameters in statements:
            plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
            plans.update(row[-1] for row in plan)
    # SCAN CONSTANT ROW reads a statement's own list of (alert_id, starts_at) values, no table.
    scans = [p for p in plans if p.startswith("SCAN") and p != "SCAN CONSTANT ROW"]
    assert not [*scans, *(p for p in plans if "TEMP B-TREE" in p)], plans
    assert any("ix_alert_occurrences_ended" in p for p in plans), plans
    assert any("ix_incidents_resolved_at" in p for p in plans), plans


# ------------------------------------------------------------------------------------ config


def test_history_config_defaults_to_keeping_everything():
    config = load_text("route: {receiver: x}\nreceivers: [{name: x}]\n").config
    assert config.history.retention is None
    assert retention.Retention.from_config(config.history) is None
    config = load_text(
        "route: {receiver: x}\nreceivers: [{name: x}]\nhistory: {retention: 90d}\n"
    ).config
    assert retention.Retention.from_config(config.history) == retention.Retention(
        90 * DAY_S * 1000, 500
    )


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ("{retention: 30m}", "history.retention (line 3): retention must be at least 1h (got 30m)"),
        ("{retention: 0}", "retention must be at least 1h (got 0s)"),
        ("{retention: 90 days}", "history.retention (line 3): not a valid duration string"),
        ("{retention: 90d, prune_batch: 0}", "history.prune_batch (line 3)"),
        ("{retension: 90d}", "history.retension (line 3): unknown key (did you mean 'retention'?)"),
    ],
)
def test_history_config_errors(history, expected):
    with pytest.raises(ConfigError) as caught:
        load_text(f"route: {{receiver: x}}\nreceivers: [{{name: x}}]\nhistory: {history}\n")
    errors = [str(issue) for issue in caught.value.issues]
    assert any(expected in e for e in errors), errors


def test_check_config_accepts_and_rejects_history(tmp_path, monkeypatch):
    monkeypatch.delenv("ALERTROUTER_CONFIG", raising=False)
    base = "route: {receiver: x}\nreceivers: [{name: x}]\n"
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text(base + textwrap.dedent(HISTORY.format(retention="90d", batch=200)))
    bad.write_text(base + "history: {retention: 10m}\n")
    result = CliRunner().invoke(main, ["check-config", str(good)], catch_exceptions=False)
    assert result.exit_code == 0 and "SUCCESS" in result.output, result.output
    result = CliRunner().invoke(main, ["check-config", str(bad)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "history.retention (line 3): retention must be at least 1h" in result.output


def test_the_commented_example_is_valid(example_config_path):
    text = example_config_path.read_text()
    start = text.index("# history:")
    block = text[start : text.index("\n\n", start)]  # up to the next blank line
    enabled = text.replace(block, "\n".join(line[2:] for line in block.splitlines()))
    config = load_text(enabled).config
    assert config.history.retention == dt.timedelta(days=90)
    assert config.history.prune_batch == 500
