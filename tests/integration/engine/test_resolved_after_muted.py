"""Notified, then muted (a silence or an inhibition), then resolved: every integration that was
told of the firing is told of the resolution, while the silence is still active, and none is
ever sent a trigger with nothing firing. An alert that fires again under the silence notifies
nobody until the silence ends, when it notifies as new. All four notifiers, fake clock."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSMTPServer
from tests.integration.conftest import PAGERDUTY_ROUTING_KEY, SLACK_TOKEN, FakeClock
from tests.integration.helpers import incident, incidents_list, post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
  routes:
    - matchers: ['alertname="Outage"']
      receiver: nobody
receivers:
  - name: oncall
    slack_configs:
      - app_token: {token}
        app_url: {slack}
        channel: '#oncall'
        send_resolved: true
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pagerduty}
    email_configs:
      - to: oncall@example.org
        from: alertrouter@example.org
        smarthost: {smarthost}
        require_tls: false
        send_resolved: true
    webhook_configs:
      - url: {hook}/hook
  - name: nobody
inhibit_rules:
  - source_matchers: ['alertname="Outage"']
    target_matchers: ['alertname="DiskFull"']
    equal: [cluster]
notifications:
  slack_channel_interval: 0s
incidents:
  default_escalation: {{P0: none, P1: none, P2: none, P3: none}}
"""

MINUTE = 60.0


@dataclass
class Seen:
    """What the four fake integrations have received so far."""

    slack_posts: int
    slack_updates: int
    pagerduty: list[dict[str, Any]]
    mails: int
    hooks: list[dict[str, Any]]


@pytest.fixture
async def started(database_url, start_server, slack, pagerduty, smtp, hook):
    clock = FakeClock()
    config = CONFIG.format(
        token=SLACK_TOKEN,
        slack=slack.url,
        routing_key=PAGERDUTY_ROUTING_KEY,
        pagerduty=pagerduty.url,
        smarthost=smtp.smarthost,
        hook=hook.url,
    )
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    return service, client, clock


async def step(service, clock: FakeClock) -> None:
    clock.advance(2 * MINUTE)
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()


def seen(slack: FakeSlack, pagerduty: FakePagerDuty, smtp: FakeSMTPServer, hook) -> Seen:
    return Seen(
        slack_posts=len(slack.posts()),
        slack_updates=len(slack.updates()),
        pagerduty=list(pagerduty.events),
        mails=len(smtp.messages),
        hooks=[r.json() for r in hook.requests_to("/hook")],
    )


def iso(clock: FakeClock, minutes: float = 0) -> str:
    at = dt.datetime.fromtimestamp(clock() / 1000 + minutes * 60, dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def silence(client, clock: FakeClock, matcher: str = 'instance="a"') -> str:
    response = await client.post(
        "/api/v1/silences",
        json={
            "matchers": [matcher],
            "startsAt": iso(clock),
            "endsAt": iso(clock, 180),
            "createdBy": "ops",
            "comment": "maintenance",
        },
    )
    assert response.status == 200, await response.text()
    return (await response.json())["silenceID"]


async def mute(kind: str, client, clock: FakeClock) -> str | None:
    """Mutes the DiskFull alert of instance a: a silence, or an Outage alert that inhibits it."""
    if kind == "silence":
        return await silence(client, clock)
    await post(client, payload(alert(alertname="Outage", cluster="eu", severity="critical")))
    return None


def disk_full(status: str = "firing", starts: str = "2026-11-22T10:00:00Z") -> dict[str, Any]:
    return alert(
        status,
        starts=starts,
        instance="a",
        cluster="eu",
        severity="critical",
        ends="2026-11-22T10:30:00Z" if status == "resolved" else None,
    )


def no_zero_firing_trigger(events: list[dict[str, Any]]) -> None:
    for event in events:
        if event["event_action"] == "trigger":
            assert " 0 firing" not in event["payload"]["summary"], event
            assert event["payload"]["custom_details"]["firing"], event


@pytest.mark.parametrize("kind", ["silence", "inhibition"])
async def test_the_resolution_reaches_every_channel_while_still_muted(
    kind, started, slack, pagerduty, smtp, hook
):
    service, client, clock = started
    await post(client, payload(disk_full()))
    await step(service, clock)
    before_mute = seen(slack, pagerduty, smtp, hook)
    assert before_mute.slack_posts == 1
    assert [e["event_action"] for e in before_mute.pagerduty] == ["trigger"]
    assert before_mute.mails == 1
    assert [h["status"] for h in before_mute.hooks] == ["firing"]
    dedup_key = before_mute.pagerduty[0]["dedup_key"]

    await mute(kind, client, clock)
    await step(service, clock)
    await step(service, clock)
    # Muted: nobody is told anything (above all no trigger that says "0 firing").
    assert seen(slack, pagerduty, smtp, hook) == before_mute
    (opened,) = [i for i in await incidents_list(client) if i["title"].startswith("DiskFull")]
    assert opened["status"] == "triggered"

    # The alert resolves while the silence / the inhibiting alert is still there.
    await post(client, payload(disk_full("resolved")))
    await step(service, clock)
    after = seen(slack, pagerduty, smtp, hook)
    no_zero_firing_trigger(after.pagerduty)
    assert [e["event_action"] for e in pagerduty.events_for(dedup_key)] == ["trigger", "resolve"]
    assert after.slack_posts == 1
    assert after.slack_updates == 1
    (update,) = slack.updates()
    assert "(resolved)" in json.dumps(update.body)
    assert after.mails == 2
    resolved_mail = smtp.messages[-1].message.get_body(("plain",)).get_content()
    assert "RESOLVED" in resolved_mail
    assert [h["status"] for h in after.hooks] == ["firing", "resolved"]
    assert (await incident(client, opened["id"]))["status"] == "resolved"

    # Still muted, it fires again: nobody hears of it, no incident opens.
    await post(client, payload(disk_full(starts="2026-11-22T11:00:00Z")))
    await step(service, clock)
    await step(service, clock)
    assert seen(slack, pagerduty, smtp, hook) == after


async def test_after_the_silence_ends_an_alert_that_fired_under_it_notifies_as_new(
    started, slack, pagerduty, smtp, hook
):
    service, client, clock = started
    await post(client, payload(disk_full()))
    await step(service, clock)
    silence_id = await silence(client, clock)
    await step(service, clock)
    await post(client, payload(disk_full("resolved")))
    await step(service, clock)
    await post(client, payload(disk_full(starts="2026-11-22T11:00:00Z")))
    await step(service, clock)
    quiet = seen(slack, pagerduty, smtp, hook)

    response = await client.delete(f"/api/v1/silences/{silence_id}")
    assert response.status == 200, await response.text()
    await step(service, clock)
    now = seen(slack, pagerduty, smtp, hook)
    assert now.slack_posts == quiet.slack_posts + 1  # a new incident: a new message
    new_events = now.pagerduty[len(quiet.pagerduty) :]
    assert [e["event_action"] for e in new_events] == ["trigger"]
    assert new_events[0]["dedup_key"] != quiet.pagerduty[0]["dedup_key"]
    no_zero_firing_trigger(now.pagerduty)
    assert now.mails == quiet.mails + 1
    assert [h["status"] for h in now.hooks[len(quiet.hooks) :]] == ["firing"]
    open_incidents = [i for i in await incidents_list(client) if i["status"] != "resolved"]
    assert len(open_incidents) == 1


async def test_a_silenced_alert_nobody_was_told_of_does_not_hold_the_resolution_back(
    started, slack, pagerduty, smtp, hook
):
    """Instance b is silenced from the start; a is notified and resolves while b still fires:
    the incident stays open (b fires), but what the channels were told of has resolved."""
    service, client, clock = started
    await silence(client, clock, 'instance="b"')
    await post(client, payload(disk_full()))
    await step(service, clock)
    await post(client, payload(alert(instance="b", cluster="eu", severity="critical")))
    await step(service, clock)
    await post(client, payload(disk_full("resolved")))
    await step(service, clock)
    after = seen(slack, pagerduty, smtp, hook)
    no_zero_firing_trigger(after.pagerduty)
    assert [e["event_action"] for e in after.pagerduty] == ["trigger", "resolve"]
    assert [h["status"] for h in after.hooks] == ["firing", "resolved"]
    assert after.mails == 2
    assert "RESOLVED" in smtp.messages[-1].message.get_body(("plain",)).get_content()
