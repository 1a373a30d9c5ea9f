"""Flush -> outbox -> delivery worker -> fake Slack and a webhook receiver, at given instants
(fake clock): what is sent for each change, retries, dead letters, order, per-channel rate."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from alertrouter.storage.tables import outbox
from tests.integration.conftest import FakeClock
from tests.integration.helpers import incident, incidents_list, kinds, post
from tests.payloads import alert, payload

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
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
  retry:
    initial_backoff: 1s
    max_backoff: 10s
    max_retry_time: 2m
  slack_channel_interval: 1s
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


async def step(service, clock) -> int:
    """One scheduler pass and then delivery until nothing more is due now."""
    await service.pipeline.flush_due(clock())
    return await service.delivery.deliver_due()


async def deliveries(client, **query: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=query)
    assert response.status == 200, await response.text()
    return (await response.json())["notifications"]


async def test_firing_more_alerts_and_resolution_update_one_message(started, slack, hook):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    assert await step(service, clock) == 2  # slack message + webhook

    (post_call,) = slack.posts()
    assert post_call.channel == slack.channel_id("#alerts")
    assert "[P" in post_call.body["text"] and post_call.thread_ts is None
    (first_hook,) = hook.requests_to("/hook")
    assert first_hook.json()["status"] == "firing"
    assert [a["labels"]["instance"] for a in first_hook.json()["alerts"]] == ["a"]
    (opened,) = await incidents_list(client)
    assert first_hook.json()["incident"]["id"] == opened["id"]

    # A second alert joins: the message is updated in place, and a thread reply says so.
    await post(client, payload(alert(instance="b")))
    assert await step(service, clock) == 0  # group_interval not over
    clock.advance(60)
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    clock.advance(1)  # the reply waits for the channel's next slot
    await service.delivery.deliver_due()
    (update,) = slack.updates()
    assert update.ts == post_call.ts
    (reply,) = slack.replies(thread_ts=post_call.ts)
    assert "new alerts" in reply.body["text"].lower() or "b" in reply.body["text"]
    assert len(hook.requests_to("/hook")) == 2

    # Everything resolves: the message shows it, a reply announces it, the webhook is told.
    await post(client, payload(alert("resolved", instance="a"), alert("resolved", instance="b")))
    clock.advance(60)
    await service.pipeline.flush_due(clock())
    await service.delivery.deliver_due()
    clock.advance(1)
    await service.delivery.deliver_due()
    assert len(slack.posts()) == 1  # still one top-level message
    assert len(slack.updates()) == 2
    assert len(slack.replies(thread_ts=post_call.ts)) == 2
    last_hook = hook.requests_to("/hook")[-1].json()
    assert last_hook["status"] == "resolved"
    assert last_hook["incident"]["status"] == "resolved"

    detail = await incident(client, opened["id"])
    assert kinds(detail).count("notification_sent") == 8
    sent = await deliveries(client, incident=opened["id"])
    assert {d["status"] for d in sent} == {"sent"} and len(sent) == 8


async def test_nothing_new_means_nothing_sent_until_the_repeat_interval(started, slack, hook):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    for _ in range(3):  # re-flushed every group_interval; nothing changed
        clock.advance(60)
        await post(client, payload(alert(instance="a")))  # Alertmanager's repeat sends
        await step(service, clock)
    assert len(slack.posts()) == 1 and not slack.updates()
    assert len(hook.requests_to("/hook")) == 1
    clock.advance(4 * 3600)
    await step(service, clock)
    clock.advance(1)
    await service.delivery.deliver_due()
    assert len(hook.requests_to("/hook")) == 2
    (reply,) = slack.replies()
    assert "repeat" in reply.body["text"].lower() or "still" in reply.body["text"].lower()


async def test_server_errors_are_retried_with_backoff_then_sent(started, slack, hook):
    service, client, clock = started
    hook.fail(500, times=2)
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    (row,) = await deliveries(client, status="pending")
    assert row["integration"] == "webhook:0" and row["attempts"] == 1
    assert row["lastErrorKind"] == "server_error"
    clock.advance(1)  # first backoff is 0.5-1s
    await service.delivery.deliver_due()
    clock.advance(2)  # second: 1-2s
    await service.delivery.deliver_due()
    (row,) = await deliveries(client, integration="webhook:0")
    assert row["status"] == "sent" and row["attempts"] == 3
    assert [r.answered for r in hook.requests_to("/hook")] == [500, 500, 200]


async def test_retry_after_is_honoured(started, slack, hook):
    service, client, clock = started
    slack.fail(429, headers={"Retry-After": "7"})
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    assert not slack.posts()
    clock.advance(6.9)
    assert await service.delivery.deliver_due() == 0
    clock.advance(0.1)
    assert await service.delivery.deliver_due() == 1
    assert len(slack.posts()) == 1


async def test_client_errors_dead_letter_at_once_and_can_be_retried(started, slack, hook):
    service, client, clock = started
    hook.fail(400, body={"error": "bad"})
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    (dead,) = await deliveries(client, status="dead")
    assert dead["attempts"] == 1 and dead["lastErrorKind"] == "client_error"
    (opened,) = await incidents_list(client)
    failed = [
        e
        for e in (await incident(client, opened["id"]))["timeline"]
        if e["kind"] == "notification_failed"
    ]
    assert failed and failed[0]["detail"]["integration"] == "webhook:0"

    response = await client.post(f"/api/v1/notifications/{dead['id']}/retry")
    assert response.status == 202
    assert (await response.json())["status"] == "pending"
    await service.delivery.deliver_due()
    (row,) = await deliveries(client, integration="webhook:0")
    assert row["status"] == "sent" and row["attempts"] == 2
    again = await client.post(f"/api/v1/notifications/{dead['id']}/retry")
    assert again.status == 409
    assert (await client.post("/api/v1/notifications/99999/retry")).status == 404


async def test_dead_letter_after_the_retry_window(started, slack, hook):
    service, client, clock = started
    hook.fail(503, times=1000)
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    for _ in range(40):
        clock.advance(10)
        await service.delivery.deliver_due()
    (row,) = await deliveries(client, integration="webhook:0")
    assert row["status"] == "dead" and row["lastErrorKind"] == "server_error"
    assert 10 <= row["attempts"] <= 20  # 2 minutes of backoff capped at 10 s


async def test_a_reply_never_overtakes_its_message(started, slack, hook):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    slack.fail(500, times=3)
    await step(service, clock)
    await post(client, payload(alert(instance="b")))
    clock.advance(60)
    await step(service, clock)  # message (retrying) + update + reply queued behind it
    for _ in range(6):
        clock.advance(5)
        await service.delivery.deliver_due()
    (first,) = slack.posts()  # the message was posted once, after its retries
    (reply,) = slack.replies(thread_ts=first.ts)  # the reply went into its thread, not alone
    (update,) = slack.updates()
    assert update.ts == first.ts
    # In order: the post, then the update and the reply (which need its ts).
    assert first.at <= min(update.at, reply.at)


async def test_one_message_per_second_per_channel(database_url, start_server, slack, hook):
    clock = FakeClock()
    config = CONFIG.format(slack=slack.url, hook=hook.url).replace(
        "group_by: [alertname]", "group_by: [alertname, instance]"
    )
    service, client, _ = (
        *await start_server(database_url, config, clock=clock, run_scheduler=False),
        None,
    )
    await post(client, payload(*[alert(instance=str(i)) for i in range(5)]))
    await service.pipeline.flush_due(clock())
    posted = []
    for _ in range(5):
        await service.delivery.deliver_due()
        posted.append(len(slack.posts()))
        clock.advance(1)
    assert posted == [1, 2, 3, 4, 5]
    assert len(hook.requests_to("/hook")) == 5  # no rate limit on webhooks


async def test_a_channel_waits_one_interval_after_the_answer(
    database_url, start_server, slack, hook
):
    """Slack counts its rate from when a request arrives, which is after the claim by however
    long the claim's commit, the event loop and the network take: the channel's next message
    waits for an interval after the previous one was answered, so it never arrives too soon."""
    clock = FakeClock()
    config = CONFIG.format(slack=slack.url, hook=hook.url).replace(
        "group_by: [alertname]", "group_by: [alertname, instance]"
    )
    service, client = await start_server(database_url, config, clock=clock, run_scheduler=False)
    slack.server.on_request = lambda request: clock.advance(0.4)  # answered 0.4 s after claim
    await post(client, payload(*[alert(instance=str(i)) for i in range(2)]))
    await service.pipeline.flush_due(clock())
    posted = []
    for advance in (0, 0.6, 0.39, 0.01):  # from the claim: 0, 1, 1.39, 1.4 s
        clock.advance(advance)
        await service.delivery.deliver_due()
        posted.append(len(slack.posts()))
    assert posted == [1, 1, 1, 2]


async def test_rows_of_a_removed_receiver_dead_letter(started, slack, hook, tmp_path):
    service, client, clock = started
    hook.fail(500)
    await post(client, payload(alert(instance="a")))
    await step(service, clock)
    config_path = service.config_path
    text = config_path.read_text()
    webhook = f"    webhook_configs:\n      - url: {hook.url}/hook\n"
    assert webhook in text
    config_path.write_text(text.replace(webhook, ""))
    assert await service.reload() == []
    clock.advance(5)
    await service.delivery.deliver_due()
    (row,) = await deliveries(client, integration="webhook:0")
    assert row["status"] == "dead" and row["lastErrorKind"] == "config_error"


async def test_outbox_rows_hold_no_secrets(started, slack, hook):
    service, client, clock = started
    await post(client, payload(alert(instance="a")))
    await service.pipeline.flush_due(clock())
    async with service.db.read() as conn:
        bodies = (await conn.execute(sa.select(outbox.c.body))).scalars().all()
    assert bodies and "xoxb-test-token" not in repr(bodies)


async def test_one_pass_flushes_many_groups_each_with_its_own_change(started, hook):
    """The scheduler flushes a batch of groups with shared statements: each group still gets
    exactly its own incident change and its own notification."""
    service, client, clock = started
    await post(
        client,
        payload(
            alert(alertname="Grows", instance="a"),
            alert(alertname="Ends", instance="a"),
            alert(alertname="Steady", instance="a"),
        ),
    )
    assert len(await service.pipeline.flush_due(clock())) == 3
    await service.delivery.deliver_due()
    assert len(hook.requests_to("/hook")) == 3
    before = {i["title"].split(":")[0]: i for i in await incidents_list(client)}

    clock.advance(60)
    await post(
        client,
        payload(
            alert(alertname="Grows", instance="b"),
            alert("resolved", alertname="Ends", instance="a"),
            alert(alertname="Opens", instance="a"),
        ),
    )
    flushed = await service.pipeline.flush_due(clock())
    assert len(flushed) == 4  # one pass: Grows, Ends, Steady (re-evaluated) and Opens
    await service.delivery.deliver_due()

    sent = {
        body["incident"]["title"].split(":")[0]: body
        for body in (r.json() for r in hook.requests_to("/hook")[3:])
    }
    assert sorted(sent) == ["Ends", "Grows", "Opens"]  # nothing new for Steady
    assert sorted(a["labels"]["instance"] for a in sent["Grows"]["alerts"]) == ["a", "b"]
    assert sent["Grows"]["incident"]["id"] == before["Grows"]["id"]
    assert sent["Ends"]["status"] == "resolved"
    assert sent["Ends"]["incident"]["status"] == "resolved"
    assert sent["Opens"]["incident"]["id"] not in {i["id"] for i in before.values()}

    after = {i["title"].split(":")[0]: i for i in await incidents_list(client)}
    assert after["Ends"]["status"] == "resolved"
    assert {after[n]["status"] for n in ("Grows", "Steady", "Opens")} == {"triggered"}
    assert kinds(await incident(client, before["Grows"]["id"])).count("alert_fired") == 2
    assert "alert_fired" not in kinds(await incident(client, before["Steady"]["id"]))[2:]


TIME_MUTED = """
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  routes:
    - matchers: [alertname="NightOnly"]
      active_time_intervals: [night]
    - matchers: [alertname="Maintenance"]
      mute_time_intervals: [office-hours]
receivers:
  - name: team
    webhook_configs:
      - url: {hook}/hook
time_intervals:
  - name: night
    time_intervals: [{{times: [{{start_time: "00:00", end_time: "06:00"}}]}}]
  - name: office-hours
    time_intervals: [{{times: [{{start_time: "09:00", end_time: "17:00"}}]}}]
"""


async def test_time_intervals_mute_notifications_not_incidents(database_url, start_server, hook):
    clock = FakeClock()  # Wednesday 2026-11-18 11:06:40 UTC: office hours, not night
    service, client = await start_server(
        database_url, TIME_MUTED.format(hook=hook.url), clock=clock, run_scheduler=False
    )
    await post(
        client,
        payload(
            alert(alertname="NightOnly", instance="a"),
            alert(alertname="Maintenance", instance="a"),
            alert(alertname="Always", instance="a"),
        ),
    )
    await step(service, clock)
    (sent,) = [r.json() for r in hook.requests_to("/hook")]
    assert sent["incident"]["title"].startswith("Always")
    muted = {i["title"].split(":")[0]: i for i in await incidents_list(client)}
    assert set(muted) == {"NightOnly", "Maintenance", "Always"}  # incidents open regardless
    night = await incident(client, muted["NightOnly"]["id"])
    (event,) = [e for e in night["timeline"] if e["kind"] == "notification_muted"]
    assert event["detail"]["reason"] == "outside active time intervals 'night'"
    maintenance = await incident(client, muted["Maintenance"]["id"])
    assert "mute time interval 'office-hours'" in str(maintenance["timeline"])

    clock.advance(60)  # re-evaluated while muted: no new timeline note, nothing sent
    await step(service, clock)
    assert kinds(await incident(client, muted["NightOnly"]["id"])).count("notification_muted") == 1
    assert len(hook.requests_to("/hook")) == 1

    clock.advance(13 * 3600 + 30 * 60)  # 00:36 the next night: both routes are told now
    await step(service, clock)
    late = [r.json()["incident"]["title"].split(":")[0] for r in hook.requests_to("/hook")[1:]]
    assert sorted(late) == ["Always", "Maintenance", "NightOnly"]  # Always: repeat_interval
