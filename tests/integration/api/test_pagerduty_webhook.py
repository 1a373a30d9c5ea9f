"""PagerDuty webhooks (v3) in, Events API v2 out: a real server with a receiver that pages
through a fake PagerDuty and posts to a fake Slack, driven by a fake clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from alertrouter.notifiers.pagerduty.compose import dedup_key
from alertrouter.storage.tables import inbound_requests, outbox
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.integration.conftest import PAGERDUTY_ROUTING_KEY as ROUTING_KEY
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

EXTERNAL_URL = "http://alertrouter.test:9095"
OLD_SECRET = "old-pagerduty-signing-secret"
NEW_SECRET = "new-pagerduty-signing-secret"
WEBHOOK = "/api/v1/pagerduty/webhook"

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
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pagerduty}
    slack_configs:
      - app_token: xoxb-test-token
        app_url: {slack}
        channel: '#alerts'
        send_resolved: true
"""
SECRETS = f"""
pagerduty:
  webhook_secrets: [{OLD_SECRET}, {NEW_SECRET}]
"""


def config(slack: FakeSlack, pagerduty: FakePagerDuty) -> str:
    return CONFIG.format(
        external_url=EXTERNAL_URL,
        routing_key=ROUTING_KEY,
        pagerduty=pagerduty.url,
        slack=slack.url,
    )


@pytest.fixture
async def started(database_url, start_server, slack, pagerduty):
    clock = FakeClock()
    service, client = await start_server(
        database_url, config(slack, pagerduty), SECRETS, clock=clock, run_scheduler=False
    )
    return service, client, clock


async def deliver(service, clock) -> None:
    """Delivers everything queued: each Slack post waits for the channel's next slot (1s)."""
    await service.delivery.deliver_due()
    while await pending(service):
        clock.advance(1)
        await service.delivery.deliver_due()


async def pending(service) -> int:
    async with service.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "pending")
        return (await conn.execute(query)).scalar_one()


async def open_incident(service, client, clock, slack, pagerduty) -> tuple[int, str]:
    """An incident announced to Slack and triggered in PagerDuty: (its id, its dedup key)."""
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    await deliver(service, clock)
    (opened,) = await incidents_list(client)
    key = dedup_key(EXTERNAL_URL, opened["id"])
    assert pagerduty.state(key) == "triggered"
    assert len(slack.posts()) == 1
    return opened["id"], key


def event(
    event_type: str,
    incident_key: str | None,
    *,
    event_id: str | None = None,
    agent: str | None = "Earline Greenholt",
) -> dict[str, Any]:
    """A v3 webhook delivery as PagerDuty sends it (fields alertrouter ignores included)."""
    status = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}
    return {
        "event": {
            "id": event_id or str(uuid.uuid4()),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-11-22T10:05:00.000Z",
            "agent": None
            if agent is None
            else {
                "html_url": "https://acme.pagerduty.com/users/PXPGF42",
                "id": "PXPGF42",
                "self": "https://api.pagerduty.com/users/PXPGF42",
                "summary": agent,
                "type": "user_reference",
            },
            "client": None,
            "data": {
                "id": "PT4KHLK",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PT4KHLK",
                "html_url": "https://acme.pagerduty.com/incidents/PT4KHLK",
                "number": 1234,
                "status": status.get(event_type, "triggered"),
                "incident_key": incident_key,
                "created_at": "2026-11-22T10:00:00Z",
                "title": "DiskFull",
                "service": {
                    "id": "PIJ90N7",
                    "summary": "Alerts",
                    "type": "service_reference",
                    "html_url": "https://acme.pagerduty.com/service-directory/PIJ90N7",
                    "self": "https://api.pagerduty.com/services/PIJ90N7",
                },
                "assignees": [],
                "urgency": "high",
                "resolve_reason": None,
            },
        }
    }


def signature(body: bytes, *secrets: str) -> str:
    return ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


async def send(
    client, body: dict[str, Any] | bytes, *secrets: str, header: str | None = None
) -> tuple[int, dict[str, Any]]:
    """POSTs a delivery signed with `secrets` (or with the given header): (status, answer)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if header is None and secrets:
        header = signature(raw, *secrets)
    if header is not None:
        headers["X-PagerDuty-Signature"] = header
    response = await client.post(WEBHOOK, data=raw, headers=headers)
    return response.status, await response.json()


async def recorded(service) -> int:
    async with service.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(inbound_requests)
        return (await conn.execute(query)).scalar_one()


async def state(service, client, slack, pagerduty, incident_id) -> tuple[Any, ...]:
    """Everything a webhook could change: the incident with its timeline, what Slack and
    PagerDuty received, the messages waiting to go out, and the events recorded."""
    return (
        await incident(client, incident_id),
        len(slack.calls),
        len(pagerduty.events),
        await pending(service),
        await recorded(service),
    )


def by_kind(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in detail["timeline"] if e["kind"] == kind]


async def test_acknowledged_in_pagerduty_acknowledges_and_updates_slack_only(
    started, slack, pagerduty
):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    (message,) = slack.posts()

    status, answer = await send(client, event("incident.acknowledged", key), NEW_SECRET)
    assert status == 200, answer
    assert answer == {"status": "applied", "incidentID": incident_id, "changed": True}

    detail = await incident(client, incident_id)
    assert detail["status"] == "acknowledged"
    assert detail["acknowledgedBy"] == "Earline Greenholt"
    (acked,) = by_kind(detail, "incident_acknowledged")
    assert acked["actor"] == "Earline Greenholt" and acked["source"] == "pagerduty"

    await deliver(service, clock)
    (update,) = slack.updates()
    assert update.ts == message.ts
    (reply,) = slack.replies(thread_ts=message.ts)
    assert "Earline Greenholt" in json.dumps(reply.body)
    # Nothing goes back to PagerDuty: it is the one that told us.
    assert [e["event_action"] for e in pagerduty.events_for(key)] == ["trigger"]


async def test_the_same_event_twice_changes_nothing_the_second_time(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    acknowledged = event("incident.acknowledged", key)
    assert (await send(client, acknowledged, OLD_SECRET))[0] == 200
    await deliver(service, clock)
    before = await state(service, client, slack, pagerduty, incident_id)
    assert kinds(before[0]).count("incident_acknowledged") == 1

    # Un-acknowledged in between: a redelivered acknowledgement must not acknowledge again.
    assert (await send(client, event("incident.unacknowledged", key), OLD_SECRET))[0] == 200
    await deliver(service, clock)
    between = await state(service, client, slack, pagerduty, incident_id)
    assert between[0]["status"] == "triggered"

    clock.advance(60)
    status, answer = await send(client, acknowledged, OLD_SECRET)
    assert status == 200
    assert answer == {"status": "ignored", "reason": "already applied"}
    assert await state(service, client, slack, pagerduty, incident_id) == between
    assert kinds(between[0]).count("incident_acknowledged") == 1


async def test_a_redelivery_right_away_sends_nothing_more(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    acknowledged = event("incident.acknowledged", key)
    assert (await send(client, acknowledged, NEW_SECRET))[0] == 200
    await deliver(service, clock)
    before = await state(service, client, slack, pagerduty, incident_id)

    status, answer = await send(client, acknowledged, NEW_SECRET)
    assert (status, answer["status"]) == (200, "ignored")
    await deliver(service, clock)
    assert await state(service, client, slack, pagerduty, incident_id) == before


async def test_resolved_in_pagerduty_resolves_without_telling_pagerduty(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)

    status, answer = await send(client, event("incident.resolved", key, agent=None), NEW_SECRET)
    assert (status, answer["changed"]) == (200, True)
    detail = await incident(client, incident_id)
    assert detail["status"] == "resolved"
    assert detail["resolvedBy"] == "PagerDuty"  # no agent: PagerDuty itself
    (resolved,) = by_kind(detail, "incident_resolved")
    assert resolved["source"] == "pagerduty"

    await deliver(service, clock)
    assert len(slack.updates()) == 1
    assert pagerduty.events_with("resolve") == []
    assert pagerduty.state(key) == "triggered"


async def test_unacknowledged_in_pagerduty(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    await send(client, event("incident.acknowledged", key), NEW_SECRET)
    status, _ = await send(client, event("incident.unacknowledged", key), NEW_SECRET)
    assert status == 200
    detail = await incident(client, incident_id)
    assert detail["status"] == "triggered" and detail["acknowledgedBy"] is None
    (unacked,) = by_kind(detail, "incident_unacknowledged")
    assert unacked["source"] == "pagerduty"
    await deliver(service, clock)
    assert [e["event_action"] for e in pagerduty.events_for(key)] == ["trigger"]


async def test_an_action_the_incident_does_not_allow_is_ignored(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    await send(client, event("incident.resolved", key), NEW_SECRET)
    before = await state(service, client, slack, pagerduty, incident_id)

    status, answer = await send(client, event("incident.acknowledged", key), NEW_SECRET)
    assert status == 200
    assert answer == {"status": "ignored", "reason": f"incident {incident_id} is resolved"}
    after = await state(service, client, slack, pagerduty, incident_id)
    assert after[:4] == before[:4]


def _tampered(body: bytes) -> str:
    return signature(body.replace(b"incident.acknowledged", b"incident.resolved"), NEW_SECRET)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("v1=" + "0" * 64, id="invalid"),
        pytest.param("not a signature", id="garbage"),
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param("v0", id="other-version"),
        pytest.param("tampered", id="other-body"),
    ],
)
async def test_unsigned_or_badly_signed_deliveries_are_refused(started, slack, pagerduty, header):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    before = await state(service, client, slack, pagerduty, incident_id)
    delivery = event("incident.acknowledged", key)
    raw = json.dumps(delivery).encode()
    if header == "wrong-secret":
        header = signature(raw, "not-the-configured-secret")
    elif header == "v0":
        header = signature(raw, NEW_SECRET).replace("v1=", "v0=")
    elif header == "tampered":
        header = _tampered(raw)

    status, answer = await send(client, raw, header=header)
    assert status == 401
    assert answer["status"] == "error"
    assert await state(service, client, slack, pagerduty, incident_id) == before
    assert await recorded(service) == 0

    # Nothing was recorded: the same event, signed, is applied.
    assert (await send(client, raw, NEW_SECRET))[1]["status"] == "applied"


async def test_either_secret_works_while_rotating(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    status, answer = await send(client, event("incident.acknowledged", key), OLD_SECRET)
    assert (status, answer["status"]) == (200, "applied")
    status, answer = await send(client, event("incident.unacknowledged", key), NEW_SECRET)
    assert (status, answer["status"]) == (200, "applied")
    # PagerDuty signs once per secret of its subscription; one known signature is enough.
    raw = json.dumps(event("incident.resolved", key)).encode()
    header = f"{signature(raw, 'a-secret-we-do-not-know')},{signature(raw, OLD_SECRET)}"
    status, answer = await send(client, raw, header=header)
    assert (status, answer["status"]) == (200, "applied")
    assert (await incident(client, incident_id))["status"] == "resolved"


async def test_secret_from_a_file(database_url, start_server, slack, pagerduty, tmp_path):
    (tmp_path / "pd-secret").write_text(NEW_SECRET + "\n")
    extra = f"pagerduty:\n  webhook_secret_files: ['{tmp_path / 'pd-secret'}']\n"
    clock = FakeClock()
    service, client = await start_server(
        database_url, config(slack, pagerduty), extra, clock=clock, run_scheduler=False
    )
    _, key = await open_incident(service, client, clock, slack, pagerduty)
    assert (await send(client, event("incident.acknowledged", key), OLD_SECRET))[0] == 401
    status, answer = await send(client, event("incident.acknowledged", key), NEW_SECRET)
    assert (status, answer["status"]) == (200, "applied")


async def test_not_found_without_a_secret(database_url, start_server, slack, pagerduty):
    _, client = await start_server(database_url, config(slack, pagerduty))
    status, answer = await send(client, event("incident.acknowledged", "x"), NEW_SECRET)
    assert status == 404 and answer["status"] == "error"


@pytest.mark.parametrize(
    "incident_key",
    [
        pytest.param("alertrouter/other.example:9095/incident/1", id="other-installation"),
        pytest.param("baf7cf21b1da41b4b0221008339ff357", id="not-alertrouter"),
        pytest.param(f"{dedup_key(EXTERNAL_URL, 1)}x", id="not-an-id"),
        pytest.param(None, id="none"),
    ],
)
async def test_other_incidents_are_ignored(started, slack, pagerduty, incident_key):
    service, client, clock = started
    incident_id, _ = await open_incident(service, client, clock, slack, pagerduty)
    before = await state(service, client, slack, pagerduty, incident_id)
    status, answer = await send(client, event("incident.acknowledged", incident_key), NEW_SECRET)
    assert status == 200
    assert answer == {"status": "ignored", "reason": "not an incident of this alertrouter"}
    assert await state(service, client, slack, pagerduty, incident_id) == before


async def test_an_unknown_incident_of_ours_is_ignored(started, slack, pagerduty):
    service, client, clock = started
    incident_id, _ = await open_incident(service, client, clock, slack, pagerduty)
    status, answer = await send(
        client, event("incident.acknowledged", dedup_key(EXTERNAL_URL, 999)), NEW_SECRET
    )
    assert status == 200
    assert answer == {"status": "ignored", "reason": "no incident 999"}
    assert (await incident(client, incident_id))["status"] == "triggered"


async def test_other_event_types_are_ignored(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)
    before = await state(service, client, slack, pagerduty, incident_id)
    for event_type in ("incident.priority_updated", "incident.triggered", "service.updated"):
        status, answer = await send(client, event(event_type, key), NEW_SECRET)
        assert (status, answer["status"]) == (200, "ignored"), event_type
    assert await state(service, client, slack, pagerduty, incident_id) == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"event": {"id": ', id="not-json"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"event": {"id": 5, "event_type": "incident.resolved"}}', id="id-number"),
        pytest.param(b'{"event": {"event_type": "incident.resolved"}}', id="no-id"),
        pytest.param(b'{"messages": []}', id="v2-webhook"),
    ],
)
async def test_malformed_deliveries_are_bad_requests(started, body):
    service, client, _ = started
    status, answer = await send(client, body, NEW_SECRET)
    assert status == 400 and answer["status"] == "error"
    assert await recorded(service) == 0


async def test_malformed_and_unsigned_is_unauthorized(started):
    _, client, _ = started
    status, _ = await send(client, b'{"event": {"id": ', header="v1=00")
    assert status == 401


async def test_acknowledging_in_alertrouter_acknowledges_in_pagerduty(started, slack, pagerduty):
    service, client, clock = started
    incident_id, key = await open_incident(service, client, clock, slack, pagerduty)

    response = await client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "alice"})
    assert response.status == 200, await response.text()
    await deliver(service, clock)
    (acknowledge,) = pagerduty.events_with("acknowledge")
    assert acknowledge["dedup_key"] == key and acknowledge["routing_key"] == ROUTING_KEY
    assert pagerduty.state(key) == "acknowledged"

    # PagerDuty's webhook for that acknowledgement comes back and changes nothing.
    before = await state(service, client, slack, pagerduty, incident_id)
    echo = event("incident.acknowledged", key, agent="Alertmanager (Events API v2)")
    status, answer = await send(client, echo, NEW_SECRET)
    assert (status, answer["changed"]) == (200, False)
    after = await state(service, client, slack, pagerduty, incident_id)
    assert after[:4] == before[:4]
    assert (await incident(client, incident_id))["acknowledgedBy"] == "alice"


async def test_old_records_are_pruned(started, slack, pagerduty):
    service, client, clock = started
    _, key = await open_incident(service, client, clock, slack, pagerduty)
    await send(client, event("incident.acknowledged", key), NEW_SECRET)
    assert await recorded(service) == 1
    clock.advance(24 * 3600 + 1)
    await send(client, event("incident.unacknowledged", key), NEW_SECRET)
    assert await recorded(service) == 1  # the day-old one is gone
