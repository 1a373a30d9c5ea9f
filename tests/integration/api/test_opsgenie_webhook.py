"""Opsgenie outgoing webhooks in, Alert API out: a real server whose receiver pages through a
fake Opsgenie and posts to a webhook receiver, driven by a fake clock."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from alertrouter.notifiers.opsgenie.compose import alias
from alertrouter.storage.tables import inbound_requests
from tests.fakes.http import FakeHTTPServer
from tests.fakes.opsgenie import FakeOpsgenie
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

EXTERNAL_URL = "http://alertrouter.test:9095"
API_KEY = "og-test-key"
OLD_TOKEN = "old-opsgenie-webhook-token"
NEW_TOKEN = "new-opsgenie-webhook-token"
WEBHOOK = "/api/v1/opsgenie/webhook"

CONFIG = """
server:
  external_url: {external_url}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: team
    opsgenie_configs:
      - api_key: {api_key}
        api_url: {opsgenie}
    webhook_configs:
      - url: {hook}/hook
"""
TOKENS = f"""
opsgenie:
  webhook_tokens: [{OLD_TOKEN}, {NEW_TOKEN}]
"""


@pytest.fixture
async def opsgenie():
    fake = FakeOpsgenie(api_keys={API_KEY})
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def started(database_url, start_server, opsgenie, hook):
    clock = FakeClock()
    config = CONFIG.format(
        external_url=EXTERNAL_URL, api_key=API_KEY, opsgenie=opsgenie.url, hook=hook.url
    )
    service, client = await start_server(
        database_url, config, TOKENS, clock=clock, run_scheduler=False
    )
    return service, client, clock


async def open_incident(service, client, clock, opsgenie: FakeOpsgenie) -> tuple[int, str]:
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    (opened,) = await incidents_list(client)
    key = alias(EXTERNAL_URL, opened["id"])
    assert opsgenie.actions(key) == ["create"]
    return opened["id"], key


def event(
    action: str, alert_alias: str | None, *, user: str = "jane@example.com", source: str = ""
) -> dict[str, Any]:
    """An outgoing webhook delivery as Opsgenie sends it (fields alertrouter ignores included)."""
    return {
        "source": {"name": source, "type": "web"},
        "alert": {
            "updatedAt": 1795000000000000000 + uuid.uuid4().int % 10**9,
            "tags": ["prometheus"],
            "message": "[P0] DiskFull",
            "username": user,
            "alertId": str(uuid.uuid4()),
            "source": "http://alertrouter.test:9095",
            "alias": alert_alias,
            "tinyId": "23",
            "createdAt": 1795000000000,
            "userId": "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
            "entity": "",
        },
        "action": action,
        "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
        "integrationName": "alertrouter",
    }


async def send(
    client, body: dict[str, Any] | bytes, *, token: str | None = NEW_TOKEN, basic: bool = False
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None and basic:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"opsgenie:{token}".encode()).decode()
        )
    elif token is not None:
        headers["X-Alertrouter-Token"] = token
    response = await client.post(WEBHOOK, data=raw, headers=headers)
    text = await response.text()
    return response.status, (json.loads(text) if text.startswith("{") else {"text": text})


async def recorded(service) -> int:
    async with service.db.read() as conn:
        return (
            await conn.execute(sa.select(sa.func.count()).select_from(inbound_requests))
        ).scalar_one()


async def test_acknowledged_in_opsgenie_acknowledges_and_is_not_sent_back(started, opsgenie, hook):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, opsgenie)
    posts_before = len(hook.requests_to("/hook"))

    status, answer = await send(client, event("Acknowledge", key))
    assert status == 200, answer
    assert answer == {"status": "applied", "incidentID": incident_id, "changed": True}
    detail = await incident(client, incident_id)
    assert detail["status"] == "acknowledged"
    assert detail["acknowledgedBy"] == "jane@example.com"
    assert "incident_acknowledged" in kinds(detail)

    await service.delivery.deliver_due()
    assert opsgenie.actions(key) == ["create"]  # not told back to Opsgenie
    assert len(hook.requests_to("/hook")) == posts_before + 1  # the other integration is


async def test_closed_in_opsgenie_resolves_and_unacknowledge_goes_back(started, opsgenie):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, opsgenie)
    assert (await send(client, event("Acknowledge", key), basic=True))[0] == 200
    status, answer = await send(client, event("UnAcknowledge", key), token=OLD_TOKEN)
    assert status == 200 and answer["changed"] is True
    assert (await incident(client, incident_id))["status"] == "triggered"
    status, answer = await send(client, event("Close", key, user="ops@example.com"))
    assert status == 200 and answer["status"] == "applied"
    detail = await incident(client, incident_id)
    assert detail["status"] == "resolved" and detail["resolvedBy"] == "ops@example.com"
    await service.delivery.deliver_due()
    assert opsgenie.actions(key) == ["create"]


@pytest.mark.parametrize(
    ("token", "basic"), [(None, False), ("wrong", False), ("wrong", True), ("", False)]
)
async def test_requests_without_a_valid_token_are_refused_and_change_nothing(
    started, opsgenie, token, basic
):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, opsgenie)
    status, _ = await send(client, event("Acknowledge", key), token=token, basic=basic)
    assert status == 401
    assert (await incident(client, incident_id))["status"] == "triggered"
    assert await recorded(service) == 0


async def test_a_redelivery_is_applied_once(started, opsgenie):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, opsgenie)
    ack = event("Acknowledge", key)
    assert (await send(client, ack))[1]["status"] == "applied"
    assert (await client.post(f"/api/v1/incidents/{incident_id}/unack")).status == 200
    status, answer = await send(client, ack)
    assert status == 200 and answer == {"status": "ignored", "reason": "already applied"}
    assert (await incident(client, incident_id))["status"] == "triggered"


@pytest.mark.parametrize(
    "other",
    [None, "aliastest", alias("http://other.example.com", 1), alias(EXTERNAL_URL, 999)],
)
async def test_other_alerts_are_ignored(started, opsgenie, other):
    service, client, clock = started
    incident_id, _ = await open_incident(service, client, clock, opsgenie)
    status, answer = await send(client, event("Acknowledge", other))
    assert status == 200 and answer["status"] == "ignored"
    assert (await incident(client, incident_id))["status"] == "triggered"


async def test_other_actions_and_alertrouters_own_changes_are_ignored(started, opsgenie):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, opsgenie)
    for body in (
        event("AddNote", key),
        event("Create", key),
        event("Acknowledge", key, source="alertrouter"),
    ):
        status, answer = await send(client, body)
        assert status == 200 and answer["status"] == "ignored", answer
    assert (await incident(client, incident_id))["status"] == "triggered"


async def test_a_body_that_is_not_json_is_a_bad_request(started):
    _, client, _ = started
    assert (await send(client, b"not json"))[0] == 400
    assert (await send(client, b"[1, 2]"))[0] == 400


async def test_not_found_without_tokens(database_url, start_server, opsgenie, hook):
    config = CONFIG.format(
        external_url=EXTERNAL_URL, api_key=API_KEY, opsgenie=opsgenie.url, hook=hook.url
    )
    _, client = await start_server(database_url, config, run_scheduler=False)
    status, _ = await send(client, event("Acknowledge", "x"))
    assert status == 404


async def test_token_from_a_file_read_on_each_request(
    database_url, start_server, opsgenie, hook: FakeHTTPServer, tmp_path
):
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    config = CONFIG.format(
        external_url=EXTERNAL_URL, api_key=API_KEY, opsgenie=opsgenie.url, hook=hook.url
    )
    extra = f"\nopsgenie:\n  webhook_token_files: [{token_file}]\n"
    clock = FakeClock()
    service, client = await start_server(
        database_url, config, extra, clock=clock, run_scheduler=False
    )
    _, key = await open_incident(service, client, clock, opsgenie)
    token_file.write_text("rotated-token\n")
    assert (await send(client, event("Acknowledge", key), token="first-token"))[0] == 401
    assert (await send(client, event("Acknowledge", key), token="rotated-token"))[0] == 200
    token_file.unlink()
    assert (await send(client, event("Close", key), token="rotated-token"))[0] == 503
