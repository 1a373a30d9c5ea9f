"""Heartbeats (a dead man's switch) with a fake clock: a missed beat raises one alert, so one
incident and one notification; beats resuming resolve it; two replicas and restarts neither
duplicate it nor raise a false alarm. Fed by a Watchdog alert through ingest and by POST."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa

from alertrouter.ingest.heartbeats import Change
from alertrouter.storage.tables import alerts, heartbeats, incidents
from tests.integration.conftest import FakeClock, write_config
from tests.integration.helpers import post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: team
  group_by: [alertname, heartbeat]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: team
    webhook_configs:
      - url: {hook}/hook
heartbeats:
  - name: pipeline
    interval: 1m
    grace: 30s
    matchers: ['alertname="Watchdog"']
    labels: {{severity: critical, service: monitoring}}
  - name: backup
    interval: 10m
    grace: 0s
"""
STEP = 5  # seconds of fake time between two passes, as the scheduler runs them


def watchdog(status: str = "firing") -> dict[str, Any]:
    return payload(alert(status, alertname="Watchdog", prometheus="k8s"))


async def run_for(seconds: float, *services, clock: FakeClock) -> list[Any]:
    """Moves the clock `seconds` in steps, each replica running its heartbeat pass, flush and
    deliveries after each step (at once, on two replicas); returns the heartbeat changes."""
    changes: list[Any] = []
    for _ in range(round(seconds / STEP)):
        clock.advance(STEP)
        changes += await passes(*services, clock=clock)
    return changes


async def passes(*services, clock: FakeClock) -> list[Any]:
    done = await asyncio.gather(*(s.scheduler.heartbeats() for s in services))
    await asyncio.gather(*(s.pipeline.flush_due(clock()) for s in services))
    await asyncio.gather(*(s.delivery.deliver_due() for s in services))
    return [change for changes in done for change in changes]


def notices(hook, heartbeat: str = "pipeline") -> list[dict[str, Any]]:
    """The webhook notifications of the heartbeat's incidents, in order."""
    sent = [json.loads(r.body) for r in hook.requests_to("/hook")]
    return [n for n in sent if n["commonLabels"].get("heartbeat") == heartbeat]


async def incident_rows(service, heartbeat: str = "pipeline") -> list[Any]:
    async with service.db.read() as conn:
        rows = (await conn.execute(sa.select(incidents).order_by(incidents.c.id))).all()
    return [r for r in rows if r.group_labels.get("heartbeat") == heartbeat]


def of(changes: list[Any], heartbeat: str = "pipeline") -> list[Change]:
    return [c.change for c in changes if c.name == heartbeat]


async def heartbeat_row(service, name: str = "pipeline") -> Any:
    async with service.db.read() as conn:
        query = sa.select(heartbeats).where(heartbeats.c.name == name)
        return (await conn.execute(query)).first()


async def start(start_server, database_url, hook, clock, name="config.yml"):
    return await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False, name=name
    )


async def test_a_missed_beat_raises_one_incident_and_beats_resolve_it(
    database_url, start_server, hook
):
    clock = FakeClock()
    service, client = await start(start_server, database_url, hook, clock)
    await passes(service, clock=clock)  # the first pass starts the watch
    await post(client, watchdog())  # a beat at T0
    async with service.db.read() as conn:  # the Watchdog is the heartbeat's, not an alert
        assert (await conn.execute(sa.select(sa.func.count()).select_from(alerts))).scalar() == 0

    assert await run_for(85, service, clock=clock) == []  # within interval + grace
    changes = await run_for(5, service, clock=clock)  # T0 + 90 s: overdue
    assert [(c.name, c.change) for c in changes] == [("pipeline", Change.MISSING)]
    (incident,) = await incident_rows(service)
    assert incident.status == "triggered" and incident.severity == 0  # severity=critical: P0
    (notice,) = notices(hook)
    assert notice["status"] == "firing"
    assert notice["commonLabels"] == {
        "alertname": "HeartbeatMissing",
        "heartbeat": "pipeline",
        "service": "monitoring",
        "severity": "critical",
    }
    assert "last beat was at" in notice["alerts"][0]["annotations"]["description"]

    assert of(await run_for(600, service, clock=clock)) == []  # still missing: nothing more
    assert len(await incident_rows(service)) == 1 and len(notices(hook)) == 1

    await post(client, watchdog())  # beats resume
    changes = await passes(service, clock=clock)
    assert [(c.name, c.change) for c in changes] == [("pipeline", Change.RESUMED)]
    clock.advance(60)  # the group's next slot (group_interval)
    await passes(service, clock=clock)
    (incident,) = await incident_rows(service)
    assert incident.status == "resolved" and incident.resolved_via == "alertmanager"
    assert [n["status"] for n in notices(hook)] == ["firing", "resolved"]
    assert (await heartbeat_row(service)).missing_since is None

    # A second outage is a second incident.
    changes = await run_for(95, service, clock=clock)
    assert of(changes) == [Change.MISSING]
    assert [i.status for i in await incident_rows(service)] == ["resolved", "triggered"]


async def test_a_heartbeat_that_never_beats_goes_missing_a_window_after_it_was_configured(
    database_url, start_server, hook
):
    clock = FakeClock()
    service, client = await start(start_server, database_url, hook, clock)
    await passes(service, clock=clock)
    for _ in range(10 * 2 - 1):  # ten minutes, the Watchdog beating every 30 s
        changes = await run_for(30, service, clock=clock)
        await post(client, watchdog())
        assert changes == []
    changes = await run_for(30, service, clock=clock)
    assert [(c.name, c.change) for c in changes] == [("backup", Change.MISSING)]
    assert "no beat since" in notices(hook, "backup")[0]["alerts"][0]["annotations"]["description"]


async def test_two_replicas_raise_and_resolve_each_outage_once(pg_database, start_server, hook):
    clock = FakeClock()
    one, client = await start(start_server, pg_database, hook, clock)
    two, _ = await start(start_server, pg_database, hook, clock, name="two.yml")
    await passes(one, two, clock=clock)
    await post(client, watchdog())
    changes = await run_for(180, one, two, clock=clock)
    assert [(c.name, c.change) for c in changes] == [("pipeline", Change.MISSING)]
    assert len(await incident_rows(one)) == 1 and len(notices(hook)) == 1

    await post(client, watchdog())
    changes = await run_for(60, one, two, clock=clock)
    assert [c.change for c in changes] == [Change.RESUMED]
    assert [i.status for i in await incident_rows(two)] == ["resolved"]
    assert [n["status"] for n in notices(hook)] == ["firing", "resolved"]


async def test_a_restart_keeps_an_open_outage_without_repeating_it(
    database_url, start_server, hook
):
    clock = FakeClock()
    first, client = await start(start_server, database_url, hook, clock)
    await passes(first, clock=clock)
    await post(client, watchdog())
    assert [c.change for c in await run_for(95, first, clock=clock)] == [Change.MISSING]
    await client.close()  # the server stops, for an hour

    clock.advance(3600)
    second, client = await start(start_server, database_url, hook, clock, name="again.yml")
    assert of(await run_for(600, second, clock=clock)) == []  # no second alert, no resolution
    assert len(await incident_rows(second)) == 1 and len(notices(hook)) == 1
    assert (await heartbeat_row(second)).missing_since is not None

    await post(client, watchdog())
    assert of(await run_for(60, second, clock=clock)) == [Change.RESUMED]
    assert [n["status"] for n in notices(hook)] == ["firing", "resolved"]


async def test_a_restart_after_downtime_raises_no_false_alarm(database_url, start_server, hook):
    """While alertrouter was down it could receive no beat: their absence then is no evidence.
    A pipeline still dead after the restart is reported a full window after it."""
    clock = FakeClock()
    first, client = await start(start_server, database_url, hook, clock)
    await passes(first, clock=clock)
    await post(client, watchdog())
    await run_for(30, first, clock=clock)
    await client.close()

    clock.advance(2 * 3600)  # down for two hours: the last beat is long overdue
    second, client = await start(start_server, database_url, hook, clock, name="again.yml")
    assert await run_for(85, second, clock=clock) == []  # no false alarm at restart
    assert await incident_rows(second) == [] and notices(hook) == []
    assert (await heartbeat_row(second)).watch_from == clock() - 85_000 + STEP * 1000

    changes = await run_for(10, second, clock=clock)  # a window after the restart, no beat
    assert [c.change for c in changes] == [Change.MISSING]
    assert len(await incident_rows(second)) == 1


async def test_an_api_beat_feeds_a_heartbeat_and_a_resolved_watchdog_does_not(
    database_url, start_server, hook
):
    clock = FakeClock()
    service, client = await start(start_server, database_url, hook, clock)
    await passes(service, clock=clock)
    for _ in range(4):  # the backup job beats every 8 minutes, within its 10 m interval
        clock.advance(8 * 60)
        response = await client.post("/api/v1/heartbeats/backup")
        assert response.status == 200 and (await response.json())["beat"] is True
        response = await client.post("/api/v1/heartbeats/pipeline", json=watchdog())
        assert (await response.json())["beat"] is True  # Alertmanager routing Watchdog here
        assert await passes(service, clock=clock) == []
    row = await heartbeat_row(service, "backup")
    assert (row.last_beat_at, row.last_beat_source, row.beat_count) == (clock(), "api", 4)

    # Resolved Watchdogs (Prometheus stopped sending it) are no beats, through either door.
    await post(client, watchdog("resolved"))
    response = await client.post("/api/v1/heartbeats/pipeline", json=watchdog("resolved"))
    assert (await response.json())["beat"] is False
    assert (await heartbeat_row(service)).beat_count == 4
    changes = await run_for(90, service, clock=clock)
    assert [(c.name, c.change) for c in changes] == [("pipeline", Change.MISSING)]


async def test_a_heartbeat_removed_while_missing_has_its_alert_resolved(
    database_url, start_server, hook, tmp_path
):
    clock = FakeClock()
    service, _ = await start(start_server, database_url, hook, clock)
    await passes(service, clock=clock)
    assert of(await run_for(95, service, clock=clock)) == [Change.MISSING]
    without = CONFIG.format(hook=hook.url).split("heartbeats:")[0]
    write_config(tmp_path / "config.yml", database_url, without)
    assert await service.reload() == []
    changes = await passes(service, clock=clock)
    assert sorted((c.name, c.change) for c in changes) == [
        ("backup", Change.FORGOTTEN),
        ("pipeline", Change.FORGOTTEN),
    ]
    clock.advance(60)  # the group's next slot
    assert await passes(service, clock=clock) == []
    assert [n["status"] for n in notices(hook)] == ["firing", "resolved"]
    assert [i.status for i in await incident_rows(service)] == ["resolved"]
    assert await heartbeat_row(service) is None


async def test_route_alerts_routes_the_watchdog_as_well(database_url, start_server, hook):
    clock = FakeClock()
    config = CONFIG.format(hook=hook.url).replace(
        "matchers: ['alertname=\"Watchdog\"']",
        "matchers: ['alertname=\"Watchdog\"']\n    route_alerts: true",
    )
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    await passes(service, clock=clock)
    await post(client, watchdog())
    await passes(service, clock=clock)
    assert (await heartbeat_row(service)).beat_count == 1
    sent = [json.loads(r.body) for r in hook.requests_to("/hook")]
    assert [n["commonLabels"]["alertname"] for n in sent] == ["Watchdog"]
