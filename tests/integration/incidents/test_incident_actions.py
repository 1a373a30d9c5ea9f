"""Incident actions through the API (fake clock): state, timeline, what the integrations are
told, and the rules around them (repeat pause, re-trigger, the hold after a manual resolve)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from click.testing import CliRunner

from alertrouter.cli.main import main
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: team
    slack_configs:
      - app_token: xoxb-test-token
        app_url: {slack}
        channel: '#alerts'
        send_resolved: true
    webhook_configs:
      - url: {hook}/hook
notifications:
  slack_channel_interval: 0s
slack:
  signing_secret: s3cret
incidents:
  default_escalation: {{P0: none, P1: none, P2: none, P3: none}}
"""


@pytest.fixture
async def started(database_url, start_server, slack, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url,
        CONFIG.format(slack=slack.url, hook=hook.url),
        clock=clock,
        run_scheduler=False,
    )
    return service, client, clock


async def step(service, clock) -> None:
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()


async def act(client, incident_id: int, action: str, expect: int = 200, **body: Any) -> Any:
    response = await client.post(f"/api/v1/incidents/{incident_id}/{action}", json=body or None)
    assert response.status == expect, await response.text()
    return await response.json()


async def opened(service, client, clock, **labels: str) -> dict[str, Any]:
    await post(client, payload(alert(**labels)))
    await step(service, clock)
    name = labels.get("alertname", "DiskFull")
    return next(
        i
        for i in await incidents_list(client)  # newest first
        if i["status"] != "resolved" and i["title"].startswith(name)
    )


async def test_acknowledge_updates_the_message_and_replies_in_its_thread(started, slack, hook):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a", severity="critical")
    (message,) = slack.posts()
    assert "unacknowledge" not in str(message.body)

    answer = await act(client, first["id"], "ack", by="alice", comment="on it")
    assert answer["changed"] is True
    assert answer["incident"]["status"] == "acknowledged"
    assert answer["incident"]["acknowledgedBy"] == "alice"
    await service.delivery.deliver_due()

    (update,) = slack.updates()
    assert update.ts == message.ts
    assert "unacknowledge" in str(update.body) and '"acknowledge"' not in str(update.body)
    assert "Acknowledged by alice" in str(update.body)
    (reply,) = slack.replies(thread_ts=message.ts)
    assert "*Acknowledged* by alice" in reply.body["text"] and "on it" in reply.body["text"]
    told = hook.requests_to("/hook")[-1].json()
    assert told["incident"]["status"] == "acknowledged"

    detail = await incident(client, first["id"])
    (event,) = [e for e in detail["timeline"] if e["kind"] == "incident_acknowledged"]
    assert (event["actor"], event["source"], event["detail"]) == (
        "alice",
        "api",
        {"comment": "on it"},
    )

    again = await act(client, first["id"], "ack", by="bob")  # a double click changes nothing
    assert again["changed"] is False and again["incident"]["acknowledgedBy"] == "alice"
    await service.delivery.deliver_due()
    assert len(slack.updates()) == 1
    assert kinds(await incident(client, first["id"])).count("incident_acknowledged") == 1

    metrics = await (await client.get("/metrics")).text()
    assert 'alertrouter_incident_acknowledgements_total{source="api"} 1.0' in metrics
    assert 'alertrouter_time_to_acknowledge_seconds_count{severity="P0"} 1.0' in metrics


async def test_unacknowledge_resolve_and_refusals(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    await act(client, first["id"], "ack", via="cli", by="alice")
    answer = await act(client, first["id"], "unack", via="cli", by="alice")
    assert answer["incident"]["status"] == "triggered"
    assert answer["incident"]["acknowledgedBy"] is None
    resolved = await act(client, first["id"], "resolve", by="bob")
    assert resolved["incident"]["status"] == "resolved"
    assert resolved["incident"]["resolvedBy"] == "bob"
    await service.delivery.deliver_due()
    texts = [r.body["text"] for r in slack.replies()]
    assert any("*Un-acknowledged* by alice via Cli" in t for t in texts)
    assert any("*Resolved manually* by bob" in t for t in texts)
    assert "Resolved by bob" in str(slack.updates()[-1].body)

    refused = await act(client, first["id"], "ack", expect=409)
    assert "resolved" in refused["error"]
    assert (await act(client, first["id"], "resolve"))["changed"] is False
    await act(client, 999_999, "ack", expect=404)
    await act(client, first["id"], "explode", expect=404)
    response = await client.post(f"/api/v1/incidents/{first['id']}/ack", data=b"{not json")
    assert response.status == 400


async def test_acknowledged_incidents_get_no_repeat_notifications(started, slack, hook):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    await act(client, first["id"], "ack", by="alice")
    await service.delivery.deliver_due()
    sent = len(hook.requests_to("/hook"))
    clock.advance(2 * 3600)  # two repeat intervals
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    assert len(hook.requests_to("/hook")) == sent  # no reminders while acknowledged

    await act(client, first["id"], "unack", by="alice")
    await service.delivery.deliver_due()
    clock.advance(60)
    await step(service, clock)
    bodies = [r.json() for r in hook.requests_to("/hook")[sent:]]
    assert [b["incident"]["status"] for b in bodies] == ["triggered", "triggered"]  # unack, repeat


async def test_a_new_alert_retriggers_an_acknowledged_p1_but_not_a_p3(started, hook):
    service, client, clock = started
    urgent = await opened(service, client, clock, alertname="Urgent", instance="a", severity="high")
    await act(client, urgent["id"], "ack", by="alice")
    minor = await opened(service, client, clock, alertname="Minor", instance="a", severity="info")
    await act(client, minor["id"], "ack", by="alice")

    clock.advance(60)
    await post(
        client,
        payload(
            alert(alertname="Urgent", instance="b", severity="high"),
            alert(alertname="Minor", instance="b", severity="info"),
        ),
    )
    await step(service, clock)
    urgent_now = await incident(client, urgent["id"])
    assert urgent_now["status"] == "triggered" and urgent_now["acknowledgedBy"] is None
    assert "incident_retriggered" in kinds(urgent_now)
    minor_now = await incident(client, minor["id"])
    assert minor_now["status"] == "acknowledged"
    assert "incident_retriggered" not in kinds(minor_now)


async def test_alerts_of_a_manually_resolved_incident_wait_for_the_repeat_interval(started):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    await act(client, first["id"], "resolve", by="alice")

    clock.advance(60)  # still firing: re-flushed, but held
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    assert [i["status"] for i in await incidents_list(client)] == ["resolved"]

    clock.advance(60)  # a new alert of the group opens a new incident at once
    await post(client, payload(alert(instance="a"), alert(instance="b")))
    await step(service, clock)
    second = [i for i in await incidents_list(client) if i["status"] == "triggered"]
    assert len(second) == 1
    detail = await incident(client, second[0]["id"])
    held = [e for e in detail["timeline"] if e["kind"] == "alert_muted"]
    assert len(held) == 1 and f"incident #{first['id']} resolved by alice" in str(held[0])


async def test_held_alerts_open_a_new_incident_after_the_repeat_interval(started):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    await act(client, first["id"], "resolve", by="alice")
    for _ in range(59):
        clock.advance(60)
        await step(service, clock)
    assert [i["status"] for i in await incidents_list(client)] == ["resolved"]
    clock.advance(61)
    await step(service, clock)
    statuses = sorted(i["status"] for i in await incidents_list(client))
    assert statuses == ["resolved", "triggered"]


async def test_silence_from_an_incident(started, slack):
    service, client, clock = started
    first = await opened(service, client, clock, instance="a")
    answer = await act(client, first["id"], "silence", by="alice", duration="2h")
    silence_id = answer["silenceID"]
    response = await client.get("/api/v1/silences")
    (silence,) = [s for s in await response.json() if s["id"] == silence_id]
    assert silence["createdBy"] == "alice"
    assert [(m["name"], m["value"]) for m in silence["matchers"]] == [("alertname", "DiskFull")]
    await service.delivery.deliver_due()
    assert any("*Silenced* by alice" in r.body["text"] for r in slack.replies())

    clock.advance(60)
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    assert "alert_muted" in kinds(await incident(client, first["id"]))
    await act(client, first["id"], "silence", duration="-1h", expect=400)


async def test_cli_acts_on_a_running_server(database_url, start_server, monkeypatch):
    clock = FakeClock()
    service, client = await start_server(
        database_url,
        extra="server: {auth: {api: {bearer_tokens: [t0k]}}}\n",
        clock=clock,
        run_scheduler=False,
    )
    await client.post(
        "/api/v1/alertmanager",
        json=payload(alert(instance="a")),
        headers={"Authorization": "Bearer t0k"},
    )
    clock.advance(3600)  # past any group_wait
    await service.pipeline.flush_due(clock())
    url = str(client.make_url("/")).rstrip("/")
    monkeypatch.setenv("ALERTROUTER_API_TOKEN", "t0k")
    response = await client.get("/api/v1/incidents", headers={"Authorization": "Bearer t0k"})
    (opened,) = (await response.json())["incidents"]

    def cli(*args: str):
        return CliRunner().invoke(main, ["incidents", *args, "--url", url], catch_exceptions=False)

    ack = await asyncio.to_thread(cli, "ack", str(opened["id"]), "--by", "carol", "-c", "looking")
    assert ack.exit_code == 0 and f"incident {opened['id']} acknowledged" in ack.output
    again = await asyncio.to_thread(cli, "ack", str(opened["id"]), "--by", "carol")
    assert "nothing changed" in again.output
    silenced = await asyncio.to_thread(cli, "silence", str(opened["id"]), "-d", "30m")
    assert silenced.exit_code == 0 and "silence " in silenced.output
    resolved = await asyncio.to_thread(cli, "resolve", str(opened["id"]))
    assert f"incident {opened['id']} resolved" in resolved.output
    refused = await asyncio.to_thread(cli, "ack", str(opened["id"]))
    assert refused.exit_code == 1 and "HTTP 409" in refused.output
    missing = await asyncio.to_thread(cli, "unack", "999999")
    assert missing.exit_code == 1 and "HTTP 404" in missing.output

    response = await client.get(
        f"/api/v1/incidents/{opened['id']}", headers={"Authorization": "Bearer t0k"}
    )
    timeline = (await response.json())["timeline"]
    acked = next(e for e in timeline if e["kind"] == "incident_acknowledged")
    assert (acked["actor"], acked["source"]) == ("carol", "cli")
