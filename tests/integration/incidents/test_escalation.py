"""Escalation at given instants (fake clock): default targets by P-level, policies with steps and
repeats, acknowledgement stops it, steps survive a restart, two replicas fire each step once."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.http import FakeHTTPServer, Reply
from tests.integration.conftest import PAGERDUTY_ROUTING_KEY, SLACK_TOKEN, FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 10m
  repeat_interval: 4h
  routes:
    - matchers: [alertname="Database"]
      receiver: team
      escalation: database
receivers:
  - name: team
    webhook_configs:
      - url: {hook}/team
  - name: secondary
    webhook_configs:
      - url: {hook}/secondary
  - name: manager
    webhook_configs:
      - url: {hook}/manager
escalation_policies:
  - name: database
    steps:
      - after: 2m
        receiver: secondary
        repeat: 1
      - after: 10m
        receiver: manager
"""


@pytest.fixture
async def hook():
    server = FakeHTTPServer()
    for path in ("/team", "/secondary", "/manager"):
        server.route("POST", path, lambda request: Reply(200, {"ok": True}))
    await server.start()
    yield server
    await server.close()


async def at(service, clock, seconds: float) -> int:
    """Moves the clock, runs one scheduler pass and delivers; returns the steps fired."""
    clock.advance(seconds)
    await service.pipeline.flush_due(clock())
    fired = await service.pipeline.escalate_due(clock())
    await service.delivery.deliver_due()
    return fired


async def open_incident(service, client, clock, **labels: str) -> dict:
    await post(client, payload(alert(**labels)))
    await at(service, clock, 0)
    return (await incidents_list(client))[0]


async def test_an_unacknowledged_p0_escalates_after_five_minutes(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    opened = await open_incident(service, client, clock, severity="critical")
    assert len(hook.requests_to("/team")) == 1
    assert await at(service, clock, 4 * 60 + 59) == 0
    assert await at(service, clock, 1) == 1  # 5 minutes: the P0 response target
    (escalated,) = hook.requests_to("/team")[1:]
    assert escalated.json()["incident"]["id"] == opened["id"]
    detail = await incident(client, opened["id"])
    (event,) = [e for e in detail["timeline"] if e["kind"] == "escalated"]
    assert event["source"] == "escalation" and event["detail"]["receiver"] == "team"
    assert await at(service, clock, 3600) == 0  # the default policy has one step
    metrics = await (await client.get("/metrics")).text()
    assert 'alertrouter_escalations_total{severity="P0"} 1.0' in metrics


async def test_default_targets_follow_the_response_times(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    await open_incident(service, client, clock, alertname="High", severity="high")
    await open_incident(service, client, clock, alertname="Low", severity="info")
    assert await at(service, clock, 15 * 60 - 1) == 0
    assert await at(service, clock, 1) == 1  # P1: 15 minutes
    assert await at(service, clock, 4 * 3600 - 15 * 60 - 1) == 0
    assert await at(service, clock, 1) == 1  # P3: 4 hours


async def test_acknowledged_incidents_do_not_escalate(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    opened = await open_incident(service, client, clock, severity="critical")
    await at(service, clock, 60)
    response = await client.post(f"/api/v1/incidents/{opened['id']}/ack", json={"by": "alice"})
    assert response.status == 200
    assert await at(service, clock, 3600) == 0
    assert "escalated" not in kinds(await incident(client, opened["id"]))

    # Un-acknowledged: escalation starts over from its first step.
    await client.post(f"/api/v1/incidents/{opened['id']}/unack", json={"by": "alice"})
    assert await at(service, clock, 5 * 60 - 1) == 0
    assert await at(service, clock, 1) == 1


async def test_a_policy_with_steps_and_repeats(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    opened = await open_incident(service, client, clock, alertname="Database")
    assert await at(service, clock, 120) == 1  # step 1 to secondary
    assert await at(service, clock, 119) == 0
    assert await at(service, clock, 1) == 1  # step 1 again (repeat: 1)
    assert await at(service, clock, 599) == 0
    assert await at(service, clock, 1) == 1  # step 2 to the manager
    assert await at(service, clock, 24 * 3600) == 0
    assert len(hook.requests_to("/secondary")) == 2
    (manager,) = hook.requests_to("/manager")
    assert manager.json()["incident"]["id"] == opened["id"]
    steps = [
        (e["detail"]["step"], e["detail"]["receiver"])
        for e in (await incident(client, opened["id"]))["timeline"]
        if e["kind"] == "escalated"
    ]
    assert steps == [(1, "secondary"), (1, "secondary"), (2, "manager")]


async def test_resolution_stops_escalation(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    await open_incident(service, client, clock, severity="critical")
    await post(client, payload(alert("resolved", severity="critical")))
    await at(service, clock, 600)  # group_interval: the resolution is flushed
    assert (await incidents_list(client))[0]["status"] == "resolved"
    assert await at(service, clock, 3600) == 0


async def test_steps_survive_a_restart(database_url, start_server, hook):
    clock = FakeClock()
    config = CONFIG.format(hook=hook.url)
    first, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    opened = await open_incident(first, client, clock, severity="critical")
    await client.close()  # the first process goes away before the step is due
    second, client = await start_server(
        database_url, config, clock=clock, run_scheduler=False, name="again.yml"
    )
    assert await at(second, clock, 5 * 60) == 1
    assert kinds(await incident(client, opened["id"])).count("escalated") == 1


async def test_the_scheduler_fires_due_steps(database_url, start_server, hook):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    opened = await open_incident(service, client, clock, severity="critical")
    clock.advance(5 * 60)
    assert service.scheduler is not None
    await service.scheduler.tick()
    assert kinds(await incident(client, opened["id"])).count("escalated") == 1


async def test_two_replicas_fire_each_step_once(pg_database, start_server, hook):
    clock = FakeClock()
    config = CONFIG.format(hook=hook.url)
    first, client = await start_server(pg_database, config, clock=clock, run_scheduler=False)
    second, _ = await start_server(
        pg_database, config, clock=clock, run_scheduler=False, name="b.yml"
    )
    ids = []
    for n in range(10):
        ids.append(
            (await open_incident(first, client, clock, alertname=f"A{n}", severity="critical"))[
                "id"
            ]
        )
    clock.advance(5 * 60)
    fired = await asyncio.gather(
        *(
            service.pipeline.escalate_due(clock(), limit=3)
            for service in (first, second)
            for _ in range(4)
        )
    )
    assert sum(fired) == 10
    for incident_id in ids:
        assert kinds(await incident(client, incident_id)).count("escalated") == 1


EVERY_INTEGRATION = """
route:
  receiver: everyone
  group_by: [alertname]
  group_wait: 0s
  group_interval: 10m
  repeat_interval: 4h
receivers:
  - name: everyone
    slack_configs:
      - app_token: {slack_token}
        app_url: {slack}
        channel: '#alerts'
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pagerduty}
    email_configs:
      - to: oncall@example.org
        from: alertrouter@example.org
        smarthost: {smarthost}
        require_tls: false
    webhook_configs:
      - url: {hook}/team
notifications:
  slack_channel_interval: 0s
"""


async def test_an_escalation_tells_every_integration_what_escalated(
    database_url, start_server, slack, pagerduty, hook, smtp
):
    clock = FakeClock()
    config = EVERY_INTEGRATION.format(
        slack_token=SLACK_TOKEN,
        slack=slack.url,
        routing_key=PAGERDUTY_ROUTING_KEY,
        pagerduty=pagerduty.url,
        smarthost=smtp.smarthost,
        hook=hook.url,
    )
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    opened = await open_incident(service, client, clock, severity="critical")
    clock.ms += 1  # the step fires a millisecond after it is due, as in life
    assert await at(service, clock, 5 * 60) == 1
    mails = smtp.messages

    detail = await incident(client, opened["id"])
    (event,) = [e for e in detail["timeline"] if e["kind"] == "escalated"]
    assert event["detail"]["unacknowledged_for"] == "5m"  # never "5m1ms"
    what = "unacknowledged for 5m (policy default, step 1)"
    webhook = hook.requests_to("/team")[-1].json()
    assert webhook["escalation"] == {
        "policy": "default",
        "step": 1,
        "repetition": 0,
        "receiver": "everyone",
        "unacknowledgedFor": "5m",
        "unacknowledgedSeconds": 300,
    }
    assert "escalation" not in hook.requests_to("/team")[0].json()
    (update,) = slack.updates()
    assert update.body["text"].startswith("Escalated: [P0] ")
    assert update.body["text"].endswith(what)
    (reply,) = slack.replies()
    assert reply.body["text"] == f"<!here> *Escalated*: {what}"
    assert len(mails) == 2
    assert mails[-1].message["Subject"].startswith("[P0] Escalated: Incident #")
    assert mails[-1].message["Subject"].endswith(what)
    trigger = pagerduty.events_with("trigger")[-1]
    assert trigger["payload"]["custom_details"]["escalation"]["unacknowledged_for"] == "5m"


async def test_unacknowledged_for_counts_from_the_un_acknowledgement(
    database_url, start_server, hook
):
    clock = FakeClock()
    service, client = await start_server(
        database_url, CONFIG.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    opened = await open_incident(service, client, clock, severity="critical")
    await at(service, clock, 60)
    await client.post(f"/api/v1/incidents/{opened['id']}/ack", json={"by": "alice"})
    await at(service, clock, 3600)
    await client.post(f"/api/v1/incidents/{opened['id']}/unack", json={"by": "alice"})
    assert await at(service, clock, 5 * 60 + 12.5) == 1
    (event,) = [
        e for e in (await incident(client, opened["id"]))["timeline"] if e["kind"] == "escalated"
    ]
    assert event["detail"]["unacknowledged_for"] == "5m12s"  # not 1h6m since it opened
    escalated = hook.requests_to("/team")[-1].json()
    assert escalated["escalation"]["unacknowledgedFor"] == "5m12s"
