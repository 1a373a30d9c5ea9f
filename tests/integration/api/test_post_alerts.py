"""POST /api/v2/alerts through the real HTTP server on SQLite and PostgreSQL: the webhook's
durable path, deadlines resolved by the scheduler under a fake clock (once across replicas,
across a restart), Alertmanager's answers to bad input, and credentials."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from alertrouter.app import Service
from alertrouter.core.instants import from_millis
from alertrouter.storage.tables import alert_occurrences, alerts
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, row_counts

CONFIG = """
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: default
"""
MINUTE = 60.0


async def post_v2(client: TestClient, body: Any, **kwargs: Any) -> tuple[int, Any]:
    response = await client.post("/api/v2/alerts", json=body, **kwargs)
    text = await response.text()
    return response.status, (await response.json() if text else text)


def at(clock: FakeClock, seconds: float = 0) -> str:
    return from_millis(clock.ms + int(seconds * 1000)).isoformat().replace("+00:00", "Z")


async def tick(service: Service) -> None:
    assert service.scheduler is not None
    await service.scheduler.tick()


async def status_of(client: TestClient) -> list[str]:
    return [found["status"] for found in await incidents_list(client)]


async def stored(service: Service) -> list[tuple[Any, ...]]:
    assert service.db is not None
    async with service.db.read() as conn:
        alert_rows = await conn.execute(
            sa.select(alerts.c.starts_at, alerts.c.ends_at, alerts.c.expires_at).order_by(
                alerts.c.id
            )
        )
        occurrence_rows = await conn.execute(
            sa.select(alert_occurrences.c.starts_at, alert_occurrences.c.ends_at).order_by(
                alert_occurrences.c.alert_id, alert_occurrences.c.starts_at
            )
        )
        return [tuple(r) for r in alert_rows] + [tuple(r) for r in occurrence_rows]


DOWN = {"labels": {"alertname": "Down", "severity": "critical", "instance": "db-1"}}


async def test_an_alert_without_end_resolves_after_resolve_timeout_unless_sent_again(
    database_url, start_server
):
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    start = clock.ms
    assert await post_v2(client, [DOWN]) == (200, "")
    clock.advance(30)
    await tick(service)
    assert await status_of(client) == ["triggered"]

    clock.advance(4 * MINUTE - 30)  # 4 minutes in: sent again, the deadline moves to 9 minutes
    assert await post_v2(client, [DOWN]) == (200, "")
    clock.advance(2 * MINUTE)  # 6 minutes: past the first deadline
    await tick(service)
    assert await status_of(client) == ["triggered"]

    clock.advance(3 * MINUTE)  # 9 minutes: the deadline, resolved in the same pass
    await tick(service)
    assert await status_of(client) == ["resolved"]
    deadline = start + 9 * 60_000
    assert await stored(service) == [(start, deadline, deadline), (start, deadline)]
    (found,) = await incidents_list(client)
    assert kinds(await incident(client, found["id"])).count("incident_resolved") == 1


async def test_a_re_send_beside_a_new_alert_moves_its_deadline_in_the_same_write(
    database_url, start_server
):
    """One body with an alert sent again and an alert new: the new one is stored and the other
    one's deadline moves (on PostgreSQL in the statement that records the new one)."""
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    start = clock.ms
    assert await post_v2(client, [DOWN]) == (200, "")
    clock.advance(4 * MINUTE)
    other = {"labels": {"alertname": "Down", "severity": "critical", "instance": "db-2"}}
    assert await post_v2(client, [DOWN, other]) == (200, "")
    later = start + 4 * 60_000
    assert await stored(service) == [
        (start, None, later + 5 * 60_000),
        (later, None, later + 5 * 60_000),
        (start, None),
        (later, None),
    ]
    clock.advance(2 * MINUTE)  # past the first deadline: nothing resolves
    await tick(service)
    assert await status_of(client) == ["triggered"]
    clock.advance(3 * MINUTE)  # both deadlines
    await tick(service)
    assert await status_of(client) == ["resolved"]


async def test_a_future_end_is_a_deadline_and_a_past_end_resolves_at_once(
    database_url, start_server
):
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    firing = {**DOWN, "startsAt": at(clock), "endsAt": at(clock, 4 * MINUTE)}  # as Prometheus
    assert (await post_v2(client, [firing]))[0] == 200
    clock.advance(30)
    await tick(service)
    assert await status_of(client) == ["triggered"]
    clock.advance(MINUTE)
    resolved = {**DOWN, "startsAt": firing["startsAt"], "endsAt": at(clock, -1)}
    assert (await post_v2(client, [resolved]))[0] == 200
    await tick(service)  # group_interval has passed since the first flush
    assert await status_of(client) == ["resolved"]
    (_, ends_at, expires_at), _ = await stored(service)
    assert ends_at == clock.ms - 1000 and expires_at is None


async def test_a_re_send_after_the_deadline_fires_again_as_in_alertmanager(
    database_url, start_server
):
    """Prometheus cut off for longer than the deadline, then back with the same alert (same
    startsAt): Alertmanager takes it as firing again; so does alertrouter, a new incident."""
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    firing = {**DOWN, "startsAt": at(clock)}
    await post_v2(client, [firing])
    clock.advance(30)
    await tick(service)
    clock.advance(6 * MINUTE)
    await tick(service)
    assert await status_of(client) == ["resolved"]
    assert (await post_v2(client, [firing]))[0] == 200
    clock.advance(MINUTE)
    await tick(service)
    assert sorted(await status_of(client)) == ["resolved", "triggered"]
    (starts, ends, expires), (occurrence_start, occurrence_end) = await stored(service)
    assert ends is None and occurrence_end is None and starts == occurrence_start
    assert expires == clock.ms - 60_000 + 5 * 60_000


async def test_two_replicas_resolve_by_deadline_once(database_url, start_server):
    clock = FakeClock()
    first, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    second, _ = await start_server(
        database_url, CONFIG, clock=clock, run_scheduler=False, name="second.yml"
    )
    await post_v2(
        client, [{"labels": {"alertname": "Down", "instance": f"db-{i}"}} for i in range(40)]
    )
    clock.advance(30)
    await tick(first)
    clock.advance(6 * MINUTE)
    for _ in range(3):
        await asyncio.gather(tick(first), tick(second))
    (found,) = await incidents_list(client)
    assert found["status"] == "resolved"
    detail = await incident(client, found["id"])
    assert kinds(detail).count("incident_resolved") == 1
    assert kinds(detail).count("alert_resolved") == 40


async def test_a_deadline_survives_a_restart(database_url, start_server):
    clock = FakeClock()
    service, client = await start_server(database_url, CONFIG, clock=clock, run_scheduler=False)
    await post_v2(client, [DOWN])
    clock.advance(30)
    await tick(service)
    await client.close()  # the process stops
    clock.advance(10 * MINUTE)  # and is down past the deadline
    service, client = await start_server(
        database_url, CONFIG, clock=clock, run_scheduler=False, name="restarted.yml"
    )
    await tick(service)
    assert await status_of(client) == ["resolved"]


async def test_invalid_alerts_are_refused_and_valid_ones_beside_them_stored(
    database_url, start_server
):
    service, client = await start_server(database_url, CONFIG)
    status, body = await post_v2(
        client, [{"labels": {"0bad": "x"}}, {"labels": {}}, {"labels": {"alertname": "Ok"}}]
    )
    assert (status, body) == (
        400,
        'invalid label set: invalid name "0bad"; at least one label pair required',
    )
    assert (await row_counts(service))["alerts"] == 1

    status, body = await post_v2(client, [{"labels": {"alertname": "Two"}}, {"annotations": {}}])
    assert (status, body) == (422, {"code": 602, "message": "1.labels in body is required"})
    response = await client.post("/api/v2/alerts", data=b"[{", headers=_JSON)
    assert response.status == 400
    assert (await response.json())["message"].startswith('parsing alerts body from "" failed')
    response = await client.post(
        "/api/v2/alerts", data=b"[]", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert (await row_counts(service))["alerts"] == 1  # nothing of the refused bodies


_JSON = {"Content-Type": "application/json"}
AUTH = """
server:
  auth:
    ingest:
      bearer_tokens: [ingest-token]
    api:
      basic_auth: [{username: grafana, password: pa55}]
"""


async def test_either_the_ingest_or_the_api_credentials(database_url, start_server):
    _service, client = await start_server(database_url, CONFIG, AUTH)
    body = [DOWN]
    assert (await post_v2(client, body))[0] == 401
    assert (await post_v2(client, body, headers={"Authorization": "Bearer wrong"}))[0] == 401
    assert (await post_v2(client, body, headers={"Authorization": "Bearer ingest-token"}))[0] == 200
    basic = base64.b64encode(b"grafana:pa55").decode()
    assert (await post_v2(client, body, headers={"Authorization": f"Basic {basic}"}))[0] == 200


async def test_only_api_credentials_still_close_the_endpoint(database_url, start_server):
    only_api = "\nserver:\n  auth:\n    api:\n      bearer_tokens: [api-token]\n"
    _service, client = await start_server(database_url, CONFIG, only_api)
    assert (await post_v2(client, [DOWN]))[0] == 401
    assert (await post_v2(client, [DOWN], headers={"Authorization": "Bearer api-token"}))[0] == 200
