"""Opsgenie end to end: a real alertrouter (HTTP ingest, flush, outbox, delivery worker) with a
receiver that pages through a fake Opsgenie, driven by a fake clock: one alias per incident,
acknowledgements made in alertrouter reach Opsgenie, failures are retried or dead-lettered."""

from __future__ import annotations

from typing import Any

import pytest

from alertrouter.notifiers.opsgenie.compose import alias
from tests.fakes.opsgenie import FakeOpsgenie
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, post
from tests.payloads import alert, payload

API_KEY = "og-test-key"
EXTERNAL_URL = "http://alertrouter.test:9095"
CONFIG = """
server:
  external_url: {external_url}
global:
  opsgenie_api_key: {api_key}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: team
    opsgenie_configs:
      - api_url: {url}
        responders: [{{name: storage, type: team}}]
        tags: prometheus,db
notifications:
  timeout: 500ms
  retry:
    initial_backoff: 1s
    max_backoff: 10s
    max_retry_time: 2m
"""


@pytest.fixture
async def opsgenie():
    fake = FakeOpsgenie(api_keys={API_KEY})
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def started(database_url, start_server, opsgenie):
    clock = FakeClock()
    config = CONFIG.format(external_url=EXTERNAL_URL, api_key=API_KEY, url=opsgenie.url)
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    return service, client, clock


async def step(service, clock) -> int:
    await service.pipeline.flush_due(clock())
    return await service.delivery.deliver_due()


async def deliveries(client, **query: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=query)
    assert response.status == 200, await response.text()
    return (await response.json())["notifications"]


async def open_incident(service, client, clock) -> tuple[int, str]:
    await post(client, payload(alert(instance="a", severity="critical")))
    await step(service, clock)
    (opened,) = await incidents_list(client)
    return opened["id"], alias(EXTERNAL_URL, opened["id"])


async def test_an_incident_is_one_opsgenie_alert_from_create_to_close(started, opsgenie):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock)
    created = opsgenie.alerts[key]
    assert created.priority == "P1"
    assert created.payload["responders"] == [{"name": "storage", "type": "team"}]
    assert created.payload["tags"] == ["prometheus", "db"]
    assert created.payload["details"]["alertrouter_incident"] == (
        f"{EXTERNAL_URL}/incidents/{incident_id}"
    )

    await post(client, payload(alert(instance="b", severity="critical")))
    clock.advance(60)
    await step(service, clock)
    assert opsgenie.actions(key) == ["create", "create", "note"]

    response = await client.post(
        f"/api/v1/incidents/{incident_id}/ack", json={"by": "alice", "comment": "on it"}
    )
    assert response.status == 200, await response.text()
    await service.delivery.deliver_due()
    assert opsgenie.alerts[key].acknowledged
    assert opsgenie.alerts[key].notes[-1] == "Acknowledged by alice via api: on it"

    await post(
        client,
        payload(
            alert("resolved", instance="a", severity="critical"),
            alert("resolved", instance="b", severity="critical"),
        ),
    )
    clock.advance(60)
    await step(service, clock)
    assert opsgenie.actions(key)[-1] == "close"
    assert opsgenie.alerts[key].status == "closed"
    assert opsgenie.failed == []
    rows = await deliveries(client, integration="opsgenie:0")
    assert {row["status"] for row in rows} == {"sent"}
    assert (await incident(client, incident_id))["status"] == "resolved"


async def test_server_errors_are_retried_then_sent(started, opsgenie):
    service, client, clock = started
    opsgenie.server.fail(500, times=2)
    _, key = await open_incident(service, client, clock)
    (row,) = await deliveries(client, status="pending")
    assert row["integration"] == "opsgenie:0" and row["lastErrorKind"] == "server_error"
    clock.advance(1)
    await service.delivery.deliver_due()
    clock.advance(2)
    await service.delivery.deliver_due()
    (row,) = await deliveries(client, integration="opsgenie:0")
    assert row["status"] == "sent" and row["attempts"] == 3
    assert [r.answered for r in opsgenie.requests] == [500, 500, 202]
    assert key in opsgenie.alerts


async def test_retry_after_is_honoured(started, opsgenie):
    service, client, clock = started
    opsgenie.server.fail(429, headers={"Retry-After": "7"})
    _, key = await open_incident(service, client, clock)
    assert key not in opsgenie.alerts
    clock.advance(6.9)
    assert await service.delivery.deliver_due() == 0
    clock.advance(0.1)
    assert await service.delivery.deliver_due() == 1
    assert key in opsgenie.alerts


async def test_a_timeout_is_retried(started, opsgenie):
    service, client, clock = started
    opsgenie.server.delay(1.5, times=1)
    _, key = await open_incident(service, client, clock)
    (row,) = await deliveries(client, integration="opsgenie:0")
    assert row["status"] == "pending" and row["lastErrorKind"] == "timeout"
    clock.advance(1)
    await service.delivery.deliver_due()
    (row,) = await deliveries(client, integration="opsgenie:0")
    assert row["status"] == "sent"
    assert key in opsgenie.alerts


async def test_client_errors_dead_letter_at_once(started, opsgenie):
    service, client, clock = started
    opsgenie.server.fail(422, body={"message": "Request body is not processable"})
    incident_id, key = await open_incident(service, client, clock)
    (dead,) = await deliveries(client, status="dead")
    assert dead["integration"] == "opsgenie:0"
    assert dead["attempts"] == 1 and dead["lastErrorKind"] == "client_error"
    assert API_KEY not in str(dead)
    timeline = (await incident(client, incident_id))["timeline"]
    assert any(e["kind"] == "notification_failed" for e in timeline)
    assert key not in opsgenie.alerts
